"""The staff desk: everything staff do on the kiosk's screen, over the citizen's
screens and out of the citizen flow's way.

- a mark in the top-left corner of the idle (and not-enrolled) screen, held for
  three seconds, opens the staff menu; 60 s without a touch closes it;
- officers sign in by photo and PIN or by scanning their badge, and are signed out
  when the last open period of the day ends;
- the supervisor's and the technician's screens, each behind its PIN;
- the citizen's language toggle, and the return to the default language.

The screens only show and report; the controller is called from here, on Kivy's
thread (slow work — Argon2, enrollment — runs in a thread and comes back through
`Clock.schedule_once`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kivy.clock import Clock
from kivy.core.window import Window
from kivy.uix.modalview import ModalView
from kivy.uix.screenmanager import NoTransition, ScreenManager

from hailong.i18n import _
from hailong.kiosk import trace
from hailong.kiosk.memory import release_free_memory
from hailong.kiosk.screens.widgets import FlatScreen
from hailong.kiosk.staff.lockout import Lockouts
from hailong.kiosk.staff.overrides import (
    OverrideError,
    apply_overrides,
    load_overrides,
    save_override,
)
from hailong.kiosk.staff.pins import WedgeReader, officer_with_badge, pin_matches
from hailong.kiosk.staff.shift import next_shift_end, shift_over
from hailong.kiosk.staff.stats import officer_figures, period_starts
from hailong.kiosk.staff.views import (
    lock_message,
    pin_dots,
    roster_entries,
    supervisor_view,
    technician_view,
)
from hailong.kiosk.staff.widgets import StaffMark
from hailong.kiosk.viewmodels import level_buttons

if TYPE_CHECKING:
    from hailong.kiosk.app import HaiLongKioskApp
    from hailong.kiosk.staff.screens import (
        MenuScreen,
        PinScreen,
        RosterScreen,
        SupervisorScreen,
        TechnicianScreen,
    )

log = logging.getLogger(__name__)

MENU_TIMEOUT_S = 60.0
LANGUAGE_TIMEOUT_S = 60.0
CHECK_EVERY_S = 5.0
SIGNED_IN_AT = "staff.signed_in_at"
ENTER_KEYS = (13, 271)
# Kivy numbers Shift, Ctrl, arrows, F-keys… from 256 up; below are characters.
KEYBOARD_SPECIALS = 256
MAX_PIN = 12


@dataclass
class StaffUi:
    """The staff menu's screens, in the modal view that covers the citizen's."""

    menu: MenuScreen
    roster: RosterScreen
    pin: PinScreen
    supervisor: SupervisorScreen
    screens: ScreenManager
    modal: ModalView
    # Made when first opened: its text fields make Kivy probe for clipboard tools
    # (and log their absence loudly), which most openings of the menu need not do.
    technician: TechnicianScreen | None = None


class StaffDesk:
    def __init__(self, app: HaiLongKioskApp, citizen: ScreenManager) -> None:
        self.app = app
        self.controller = app.controller
        self.citizen = citizen
        self.lockouts = Lockouts(self.controller.store)
        self.wedge = WedgeReader()
        self._last_touch = time.monotonic()
        self._pin = ""
        self._pin_for: tuple[str, int | None] = ("", None)
        self._pin_hash: str | None = None
        self._after_pin: Callable[[], None] = lambda: None
        # A technician saved a setting, which the kiosk reads only at start: it stops,
        # to be started again, once the staff menu closes.
        self._restart_on_close = False
        # The staff screens: made when the menu opens, dropped when it closes (a
        # citizen's kiosk spends its day without them).
        self._ui: StaffUi | None = None
        self._build()

    # -- building ------------------------------------------------------------------

    def _build(self) -> None:
        """What the citizen's screens carry for staff: the mark and the language toggle.
        The staff screens themselves are made when the menu opens (`ui`)."""
        idle = self.citizen.get_screen("idle")
        idle.language = self.app.language
        idle.bind(on_language_choice=lambda _s, language: self.choose_language(language))
        self.app.bind(language=lambda _a, language: setattr(idle, "language", language))
        for name in ("idle", "not_enrolled"):
            if self.citizen.has_screen(name):
                mark = StaffMark(pos_hint={"x": 0.008, "top": 0.985})
                mark.bind(on_hold=lambda _m: self.open())
                self.citizen.get_screen(name).add_widget(mark)

    @property
    def ui(self) -> StaffUi:
        if self._ui is None:
            self._ui = self._make_ui()
        return self._ui

    def _make_ui(self) -> StaffUi:
        # Imported here: their rules (.kv) and the keyboards are parsed at the first
        # opening, not at every start of a kiosk that may never see a technician.
        from hailong.kiosk.staff.screens import (
            MenuScreen,
            PinScreen,
            RosterScreen,
            SupervisorScreen,
        )

        menu = MenuScreen(name="menu")
        menu.bind(on_choice=lambda _s, choice: self._menu_choice(choice))
        roster = RosterScreen(name="roster")
        roster.bind(on_pick=lambda _s, officer_id: self._ask_officer_pin(officer_id),
                    on_back=lambda _s: self._show("menu"))
        pin = PinScreen(name="pin")
        pin.bind(on_key=lambda _s, key: self._pin_key(key),
                 on_back=lambda _s: self._show("menu"))
        supervisor = SupervisorScreen(name="supervisor")
        supervisor.bind(on_back=lambda _s: self._show("menu"))
        screens = ScreenManager(transition=NoTransition())
        for screen in (menu, roster, pin, supervisor):
            screens.add_widget(screen)
        modal = ModalView(
            auto_dismiss=False,
            size_hint=(1, 1),
            background_color=(0, 0, 0, 0),
            overlay_color=(0, 0, 0, 0),
        )
        modal.add_widget(screens)
        modal.bind(on_dismiss=lambda _m: self._closed())
        log.info("staff screens made")
        return StaffUi(menu, roster, pin, supervisor, screens, modal)

    def start(self) -> None:
        """Listen to the window and start the periodic checks (once the app runs)."""
        Window.bind(on_touch_down=self._touched, on_key_down=self._key_down)
        self.citizen.bind(current=lambda _m, page: self._citizen_page(page))
        if self.controller.session.officer_id is not None and not self._signed_in_at():
            # Signed in before this kiosk knew when (an older version, or the command line).
            self.controller.store.set_state(SIGNED_IN_AT, datetime.now(UTC).isoformat())
        Clock.schedule_interval(lambda _dt: self._check(), CHECK_EVERY_S)
        self._check()

    # -- the menu ------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._ui is not None and self._ui.modal.parent is not None

    def open(self) -> None:
        if self.is_open:
            return
        log.info("staff menu opened")
        self._last_touch = time.monotonic()
        self._show("menu")
        # The staff screens are flat, painted by the window's clear colour: the
        # citizen's screen under them is hidden (Kivy skips a canvas at opacity 0).
        self.citizen.opacity = 0
        self.ui.modal.open(animation=False)
        self.ui.menu.paint()

    def close(self) -> None:
        if self.is_open:
            self.ui.modal.dismiss(animation=False)

    def _closed(self) -> None:
        self.controller.set_button_test(None)
        self._pin = ""
        if self._ui is not None and self._ui.technician is not None:
            # A text field left focused would take the next badge scan's keys.
            self._ui.technician.reset()
        # Made again at the next opening; late answers (a PIN check, an enrollment)
        # find no screen to update and leave it at that.
        self._ui = None
        self.citizen.opacity = 1
        citizen_screen = self.citizen.current_screen
        if isinstance(citizen_screen, FlatScreen):
            citizen_screen.paint()
        # Once the next frame no longer draws them, what the staff screens held goes
        # back to the system.
        Clock.schedule_once(lambda _dt: release_free_memory(collect_garbage=True), 0.5)
        log.info("staff menu closed")
        if self._restart_on_close:
            self._start_again("settings changed by the technician")

    def _show(self, name: str) -> None:
        if name == "menu":
            self.controller.set_button_test(None)
            self._refresh_menu()
        self.ui.screens.current = name
        log.info("staff screen: %s", name)

    def _refresh_menu(self) -> None:
        card = self.controller.officer_card()
        self.ui.menu.officer_present = card is not None
        if card is None:
            self.ui.menu.status = _("Nobody is signed in at this counter.")
            return
        end = next_shift_end(datetime.now(UTC), self.controller.policy.opening_hours)
        self.ui.menu.status = _("{name} is signed in.").format(name=card.name)
        if end is not None:
            self.ui.menu.status += " " + _("Open period ends at {time}.").format(
                time=end.strftime("%H:%M")
            )

    def _menu_choice(self, choice: str) -> None:
        if choice == "sign_in":
            self.ui.roster.message = ""
            self.ui.roster.show(roster_entries(self.controller.roster(), self.controller.photo_dir))
            self._show("roster")
        elif choice == "sign_out":
            self.controller.sign_out()
            log.info("officer signed out from the staff menu")
            self.close()
        elif choice in ("supervisor", "technician"):
            settings = self.controller.settings.kiosk
            pin_hash = getattr(settings, f"{choice}_pin_hash")
            heading = _("Supervisor PIN") if choice == "supervisor" else _("Technician PIN")
            opens = self._open_supervisor if choice == "supervisor" else self._open_technician
            self._ask_pin(heading, (choice, None), pin_hash, opens)
            if not pin_hash:
                self.ui.pin.message = _(
                    "No PIN is set for this screen (see `hailong kiosk set-pin`)."
                )
        else:
            self.close()

    # -- PINs ------------------------------------------------------------------------

    def _ask_officer_pin(self, officer_id: int) -> None:
        officer = next((o for o in self.controller.roster() if o.id == officer_id), None)
        if officer is None:
            return
        self._ask_pin(
            _("{name}: enter your PIN").format(name=officer.name),
            ("officer", officer_id),
            officer.pin_hash,
            lambda: self._sign_in(officer_id),
        )
        if not officer.pin_hash:
            self.ui.pin.message = _("You have no PIN yet: scan your badge instead.")

    def _ask_pin(
        self, heading: str, who: tuple[str, int | None], pin_hash: str | None,
        then: Callable[[], None],
    ) -> None:
        self._pin = ""
        self._pin_for = who
        self._pin_hash = pin_hash
        self._after_pin = then
        self.ui.pin.heading = heading
        self.ui.pin.dots = ""
        self.ui.pin.message = ""
        self.ui.pin.busy = False
        self._show_lock()
        self._show("pin")

    def _lock_name(self) -> str:
        role, officer_id = self._pin_for
        return f"officer:{officer_id}" if role == "officer" else role

    def _show_lock(self) -> float:
        left = self.lockouts.remaining(self._lock_name())
        self.ui.pin.locked = lock_message(left) if left > 0 else ""
        return left

    def _pin_key(self, key: str) -> None:
        if self.ui.pin.busy:
            return
        if key == "clear":
            self._pin = ""
        elif key == "ok":
            self._check_pin()
            return
        elif len(self._pin) < MAX_PIN:
            self._pin += key
        self.ui.pin.dots = pin_dots(self._pin)

    def _check_pin(self) -> None:
        typed, self._pin = self._pin, ""
        self.ui.pin.dots = ""
        if not typed or self._show_lock() > 0:
            return
        if not self._pin_hash:
            return
        self.ui.pin.busy = True
        self.ui.pin.message = ""
        pin_hash, name, who = self._pin_hash, self._lock_name(), self._pin_for

        def verify() -> None:
            ok = pin_matches(pin_hash, typed)
            Clock.schedule_once(lambda _dt: self._pin_checked(who, name, ok))

        # Argon2 takes a noticeable moment on a small board: the screen stays alive.
        threading.Thread(target=verify, name="pin-check", daemon=True).start()

    def _pin_checked(self, who: tuple[str, int | None], name: str, ok: bool) -> None:
        if not self.is_open:
            return
        self.ui.pin.busy = False
        if who != self._pin_for or self.ui.screens.current != "pin":
            return
        if ok:
            self.lockouts.succeeded(name)
            log.info("PIN accepted: %s", name)
            self._after_pin()
            return
        locked_for = self.lockouts.failed(name)
        log.info("wrong PIN: %s (locked for %.0f s)", name, locked_for)
        self.ui.pin.message = _("Wrong PIN.")
        self._show_lock()

    # -- officers ------------------------------------------------------------------------

    def _sign_in(self, officer_id: int) -> None:
        # Hand-over: whoever was signed in is replaced at once; their ratings stay theirs.
        self.controller.sign_in(officer_id)
        self.controller.store.set_state(SIGNED_IN_AT, datetime.now(UTC).isoformat())
        log.info("officer signed in: %d", officer_id)
        self.close()

    def _signed_in_at(self) -> datetime | None:
        raw = self.controller.store.get_state(SIGNED_IN_AT)
        try:
            return datetime.fromisoformat(raw) if raw else None
        except ValueError:
            return None

    def _key_down(self, _window: Any, key: int, _scancode: int, text: str | None,
                  modifiers: list[str]) -> bool:
        # A badge scanner types like a keyboard: listened to only where a badge makes
        # sense, so a technician's typing elsewhere is never taken for a scan.
        self._last_touch = time.monotonic()
        listening = (not self.is_open and self.citizen.current == "idle") or (
            self.is_open and self.ui.screens.current == "roster"
        )
        if not listening:
            return False
        now = time.monotonic()
        if key in ENTER_KEYS:
            code = self.wedge.enter(now)
            if code is not None:
                self._badge(code)
                return True
        elif key < KEYBOARD_SPECIALS and text and text.isprintable() and len(text) == 1:
            self.wedge.character(text.upper() if "shift" in modifiers else text, now)
        return False

    def _badge(self, code: str) -> None:
        officer = officer_with_badge(self.controller.roster(), code)
        if officer is not None:
            log.info("badge scanned")
            self._sign_in(officer.id)
            return
        log.info("a badge that is on nobody's card was scanned")
        if self.is_open:
            self.ui.roster.message = _("This badge is not on this counter's roster.")
        # It may have been given out since the roster was last pulled: pull it now, and
        # sign its officer in if it arrives in the next seconds.
        if self.controller.pull_roster_soon():
            self._await_badge(code, time.monotonic() + self.controller.settings.sync.timeout_s + 2)

    def _await_badge(self, code: str, deadline: float) -> None:
        officer = officer_with_badge(self.controller.roster(), code)
        if officer is not None:
            log.info("badge found on the roster just pulled")
            self._sign_in(officer.id)
        elif time.monotonic() < deadline:
            Clock.schedule_once(lambda _dt: self._await_badge(code, deadline), 0.5)

    # -- supervisor ------------------------------------------------------------------------

    def _open_supervisor(self) -> None:
        controller = self.controller
        timezone = controller.policy.opening_hours.timezone
        today, month = period_starts(datetime.now(UTC), timezone)
        rows = officer_figures(
            controller.store.ratings_since(month),
            controller.roster(),
            controller.session.counter_id,
            today,
            no_officer=_("(nobody signed in)"),
        )
        self.ui.supervisor.show(supervisor_view(rows, controller.store.sync_status(), timezone))
        self._show("supervisor")
        traced = trace.shared()
        if traced.enabled:
            # What the supervisor reads, for the GUI tests (and anyone tracing the app).
            traced.mark("supervisor table " + json.dumps(
                self.ui.supervisor.table_texts(), ensure_ascii=False))

    # -- technician ------------------------------------------------------------------------

    @property
    def technician(self) -> TechnicianScreen:
        ui = self.ui
        if ui.technician is None:
            from hailong.kiosk.staff.screens import TechnicianScreen

            screen = TechnicianScreen(name="technician")
            screen.bind(
                on_button_test=lambda _s, on: self._button_test(on),
                on_save=lambda _s, field, value: self._save(field, value),
                on_enroll=lambda _s, code: self._enroll(code),
                on_back=lambda _s: self._show("menu"),
            )
            ui.screens.add_widget(screen)
            ui.technician = screen
        return ui.technician

    def _to_technician(self, action: Callable[[TechnicianScreen], None]) -> None:
        """A late answer (a box press under test, an enrollment) for the technician's
        screen, which may have closed since."""
        if self._ui is not None and self._ui.technician is not None:
            action(self._ui.technician)

    def _open_technician(self) -> None:
        self.technician.reset()
        self.technician.show_lights([level.colour for level in level_buttons(
            self.controller.scale)])
        self._refresh_technician(fields=True)
        self._show("technician")

    def _refresh_technician(self, *, fields: bool = False) -> None:
        """The box, sync and clock lines; with `fields`, the port and URL fields too
        (left alone otherwise, so a periodic refresh never undoes what is typed)."""
        from serial.tools import list_ports

        from hailong import __version__
        from hailong.sync.boot import clock_is_trusted

        controller = self.controller
        info = controller.box_info()
        try:
            # What a restart will use: the file's settings under the saved changes.
            settings = apply_overrides(controller.settings, load_overrides(controller.store))
        except OverrideError:
            settings = controller.settings
        self.technician.show(
            technician_view(
                box_status=info.status,
                firmware=info.firmware,
                serial=info.serial,
                version=__version__,
                clock_trusted=clock_is_trusted(),
                kiosk_id=self._kiosk_id(),
                status=controller.store.sync_status(),
                server_url=str(settings.sync.server_url),
                port=settings.device.port,
                ports=[port.device for port in list_ports.comports()],
                timezone=controller.policy.opening_hours.timezone,
            ),
            fields=fields,
        )

    def _kiosk_id(self) -> str | None:
        from hailong.kiosk.enrollment import load_config

        config = load_config(self.controller.store)
        return self.controller.store.get_state("kiosk_id") or (
            str(config.kiosk_id) if config else None
        )

    def _button_test(self, on: bool) -> None:
        if not on:
            self.controller.set_button_test(None)
            self.technician.light(0)
            return

        def pressed(button: int) -> None:
            # The box driver's thread: the light is lit on Kivy's.
            Clock.schedule_once(lambda _dt: self._to_technician(lambda t: t.light(button)))

        self.controller.set_button_test(pressed)

    def _save(self, field: str, value: str) -> None:
        section = "device" if field == "port" else "sync"
        try:
            save_override(self.controller.store, self.controller.settings, section, field,
                          value.strip())
        except OverrideError as exc:
            log.info("technician's change of %s.%s refused: %s", section, field, exc)
            message = _("Not saved: {problems}").format(problems="; ".join(exc.problems))
            if field == "server_url":
                # The settings' own words are English; the example reads in any language.
                message += "\n" + _("A server URL looks like {example}.").format(
                    example="http://10.0.0.5:8080")
            self.technician.say(message, ok=False)
            return
        log.info("technician changed %s.%s", section, field)
        self._restart_on_close = True
        self._refresh_technician(fields=True)
        self.technician.say(
            _("Saved. The kiosk restarts with it when the staff menu closes."), ok=True
        )

    def _enroll(self, code: str) -> None:
        from hailong.kiosk.enrollment import enroll
        from hailong.sync.client import SyncError

        code = code.strip()
        if not code:
            self.technician.say(_("Type the one-time code first."), ok=False)
            return
        settings = self.controller.settings
        self.technician.say(_("Enrolling…"), ok=True)

        def work() -> None:
            try:
                config = enroll(self.controller.store, str(settings.sync.server_url), code,
                                settings.kiosk.photo_dir, settings.sync.timeout_s)
            except SyncError as exc:
                failure = str(exc)
                message = _("Enrollment failed: {error}").format(error=failure)
                Clock.schedule_once(lambda _dt: self._to_technician(
                    lambda t: t.say(message, ok=False)))
                return
            Clock.schedule_once(lambda _dt: self._enrolled(config))

        threading.Thread(target=work, name="enroll", daemon=True).start()

    def _enrolled(self, config: Any) -> None:
        self.controller.apply_config(config)
        message = _("Enrolled as kiosk {kiosk} at {counter}. The kiosk restarts now.").format(
            kiosk=config.kiosk_id, counter=config.counter.name
        )

        def tell(screen: TechnicianScreen) -> None:
            self._refresh_technician()
            screen.say(message, ok=True)

        self._to_technician(tell)
        # The box driver and the citizen's screens start enrolled only at start-up.
        # The technician reads the message first.
        self._start_again(
            f"enrolled as kiosk {config.kiosk_id} at {config.counter.name}", after_s=3.0
        )

    def _start_again(self, why: str, after_s: float = 0.0) -> None:
        """Stop the kiosk (exit 0) for its service manager, which restarts it at once
        (`Restart=always`): what a technician changes is read only at start."""
        log.info("%s; stopping, to be started again", why)
        Clock.schedule_once(lambda _dt: self.app.stop(), after_s)

    # -- language, timeouts, shifts ------------------------------------------------------

    def choose_language(self, language: str) -> None:
        if language != self.app.language:
            log.info("language: %s", language)
            self.app.language = language

    def _default_language(self) -> None:
        self.choose_language(self.app.settings.language)

    def _citizen_page(self, page: str) -> None:
        # Back at the question after a rating: the next citizen starts in the default.
        if page == "idle":
            self._default_language()

    def _touched(self, *_args: Any) -> None:
        self._last_touch = time.monotonic()

    def _check(self) -> None:
        idle_for = time.monotonic() - self._last_touch
        if self.is_open and idle_for >= MENU_TIMEOUT_S:
            log.info("staff menu left untouched: closing it")
            self.close()
        if not self.is_open and idle_for >= LANGUAGE_TIMEOUT_S:
            self._default_language()
        if self.is_open and self.ui.screens.current == "technician":
            self._refresh_technician()
        if self.is_open and self.ui.screens.current == "pin":
            # The wait shown counts down, and the banner goes when the lock ends.
            self._show_lock()
        self._check_shift()

    def _check_shift(self) -> None:
        if self.controller.session.officer_id is None:
            return
        since = self._signed_in_at()
        if since is not None and shift_over(
            since, datetime.now(UTC), self.controller.policy.opening_hours
        ):
            log.info("the day's last open period has ended: signing the officer out")
            self.controller.sign_out()
