"""The kiosk's Kivy application: builds the screens, wires them to the controller,
and keeps the window a kiosk (fullscreen, no exit key, no settings panel).

Import this only after `hailong.kiosk.kivy_env.prepare_kivy_environment`.
Navigation happens in one place, `HaiLongKioskApp._navigate`, driven by `KioskFlow`.
"""

from __future__ import annotations

import logging
import signal
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.base import ExceptionHandler, ExceptionManager
from kivy.clock import Clock
from kivy.config import Config
from kivy.properties import StringProperty
from kivy.uix.screenmanager import ScreenManager, TransitionBase

from hailong.config.settings import KioskFile, KioskSettings
from hailong.i18n import set_language
from hailong.kiosk import trace
from hailong.kiosk.controller import Event, KioskController
from hailong.kiosk.flow import FOLLOW_UP_PAGES, FinishFeedback, FollowUp, KioskFlow, Page
from hailong.kiosk.kivy_text import release_label_surfaces
from hailong.kiosk.memory import TRIM_EVERY_S, release_free_memory
from hailong.kiosk.screen_power import ScreenPower, ScreenSchedule
from hailong.kiosk.screens.kv_i18n import _ as kv_translation
from hailong.kiosk.speech import ThanksVoice
from hailong.kiosk.viewmodels import idle_view, reason_choices
from hailong.kiosk.watchdog import Watchdog
from hailong.kiosk.xdisplay import screen_size
from hailong.sync.store import KioskStore, StoredRating

if TYPE_CHECKING:
    from hailong.kiosk.screens.comment import CommentScreen
    from hailong.kiosk.screens.consent import ConsentScreen
    from hailong.kiosk.screens.phone import PhoneScreen
    from hailong.kiosk.screens.reason import ReasonScreen

    FollowUpScreen = ReasonScreen | CommentScreen | ConsentScreen | PhoneScreen

log = logging.getLogger(__name__)

WINDOW_TITLE = "Hài Lòng"

# How often the opening hours are checked to switch the screen on or let it sleep.
SCREEN_CHECK_S = 60.0

# The first frames compile the renderer's shaders and fill Kivy's caches.
FIRST_TRIM_S = 3.0

# After the pages asked after a low rating are dropped: the next page is drawn by then.
FOLLOW_UP_RELEASE_S = 1.0

# EX_SOFTWARE: the service manager sees a failure and restarts the kiosk.
EXIT_CRASHED = 70


def configure_kivy(settings: KioskSettings) -> None:
    """Kiosk behaviour of the window; must run before Kivy creates the window."""
    Config.set("kivy", "exit_on_escape", "0")
    # Kivy asks for 2x multisampling by default. Mesa's software renderer then shades
    # every pixel twice and resolves the samples at each swap: ten times the CPU of
    # an empty frame. Our shapes draw their own smooth edges instead.
    Config.set("graphics", "multisamples", "0")
    Config.set("graphics", "allow_screensaver", "0")
    # A right click or a long touch must not leave Kivy's red multitouch dots.
    Config.set("input", "mouse", "mouse,disable_multitouch")
    # Text fields get the kiosk's own on-screen keyboard (and a USB one, if plugged
    # in), never Kivy's virtual keyboard docked over the screen.
    Config.set("kivy", "keyboard_mode", "system")
    width, height = settings.window_size
    if settings.fullscreen:
        Config.set("graphics", "fullscreen", "auto")
        Config.set("graphics", "show_cursor", "0")
        # A window manager makes the window fullscreen; an X session without one (a
        # bare `xinit` kiosk) ignores the request, so the window is also made exactly
        # the screen's size at its top-left corner.
        screen = screen_size()
        if screen is not None:
            width, height = screen
            Config.set("graphics", "position", "custom")
            Config.set("graphics", "left", "0")
            Config.set("graphics", "top", "0")
    else:
        Config.set("graphics", "fullscreen", "0")
        Config.set("graphics", "show_cursor", "1")
    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))


class CrashHandler(ExceptionHandler):
    """Logs an unexpected exception once, then lets Kivy stop the loop and re-raise it,
    so the process exits non-zero rather than freezing in front of a citizen."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: BaseException | None = None

    def handle_exception(self, inst: BaseException) -> int:
        if inst is not self.seen:
            self.seen = inst
            log.critical("unexpected error in the kiosk app", exc_info=inst)
        return ExceptionManager.RAISE


class InstantTransition(TransitionBase):
    """Swaps the screens within the current frame. Kivy's NoTransition runs a
    zero-length animation that only ends on the next frame: the first frame draws
    both screens and a second full frame follows to remove the old one, which on a
    software renderer doubles what a press costs before the thank-you is drawn."""

    def start(self, manager: ScreenManager) -> None:
        self.manager = manager
        screen_in, screen_out = self.screen_in, self.screen_out
        screen_in.pos = manager.pos
        self.add_screen(screen_in)
        screen_in.dispatch("on_pre_enter")
        screen_out.dispatch("on_pre_leave")
        self.remove_screen(screen_out)
        screen_in.dispatch("on_enter")
        screen_out.dispatch("on_leave")

    def stop(self) -> None:
        """Nothing is ever left running."""


class HaiLongKioskApp(App):
    title = WINDOW_TITLE
    use_kivy_settings = False
    language = StringProperty("vi")

    def __init__(self, controller: KioskController, settings: KioskSettings) -> None:
        super().__init__()
        self.controller = controller
        self.settings = settings
        self.language = settings.language
        set_language(settings.language)
        self.trace = trace.shared()
        self.watchdog = Watchdog()
        self.voice = ThanksVoice(settings.spoken_thanks)
        self.screen = ScreenSchedule(ScreenPower(), controller.open_now)
        self.flow = KioskFlow(enrolled=controller.enrolled, thanks_s=settings.thanks_s)
        self._events: deque[Event] = deque()
        # Each rating as it was stored, in order: two may come between two drains.
        self._ratings: deque[StoredRating] = deque()
        self._drain_trigger = Clock.create_trigger(self._drain_events)
        self._tick_event = None
        # Taps are stored on this thread, as box presses are on the driver's.
        self._touches = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-touch")
        self._follow_ups: dict[Page, FollowUpScreen] = {}

    # -- Kivy hooks ------------------------------------------------------------

    def build(self) -> ScreenManager:
        from hailong.kiosk.screens.idle import IdleScreen
        from hailong.kiosk.screens.not_enrolled import NotEnrolledScreen
        from hailong.kiosk.screens.thanks import ThanksScreen

        self.idle = IdleScreen(name=Page.IDLE.value)
        self.idle.bind(on_rate=lambda _screen, button: self._touched(button))
        manager = ScreenManager(transition=InstantTransition())
        for screen in (self.idle, ThanksScreen(name=Page.THANKS.value),
                       NotEnrolledScreen(name=Page.NOT_ENROLLED.value)):
            manager.add_widget(screen)
        self.controller.add_listener(self._on_controller_event)
        # Staff sign-in, supervisor and technician screens, and the language toggle.
        from hailong.kiosk.staff.desk import StaffDesk

        self.staff = StaffDesk(self, manager)
        return manager

    def _follow_up_screen(self, page: Page) -> FollowUpScreen:
        """The screen of a page asked after a low rating, made now if it is not there.

        Most ratings never need them: they are made when a citizen is asked, and
        dropped when the flow is back on a page of its own (`_drop_follow_ups`)."""
        screen = self._follow_ups.get(page)
        if screen is None:
            screen = self._make_follow_up(page)
            self._follow_ups[page] = screen
            self.root.add_widget(screen)
            log.info("follow-up page made: %s", page.value)
        return screen

    def _make_follow_up(self, page: Page) -> FollowUpScreen:
        """Each answer goes to the flow."""
        flow = self.flow
        if page is Page.REASON:
            from hailong.kiosk.screens.reason import ReasonScreen

            reason = ReasonScreen(name=page.value)
            reason.bind(on_reason=lambda _s, code: self._answered(flow.choose_reason, code))
            return reason
        if page is Page.CONSENT:
            from hailong.kiosk.screens.consent import ConsentScreen

            consent = ConsentScreen(name=page.value)
            consent.bind(on_answer=lambda _s, yes: self._answered(flow.answer_consent, yes))
            return consent
        # The answers typed on a keyboard: a comment, a phone number.
        from hailong.kiosk.screens.comment import CommentScreen
        from hailong.kiosk.screens.phone import PhoneScreen

        screen_class, send = {
            Page.COMMENT: (CommentScreen, flow.send_comment),
            Page.PHONE: (PhoneScreen, flow.send_phone),
        }[page]
        typed = screen_class(name=page.value)
        typed.bind(
            on_send=lambda _s, value: self._answered(send, value),
            on_activity=lambda _s: self._still_answering(),
        )
        return typed

    def _drop_follow_ups(self) -> None:
        if not self._follow_ups:
            return
        for screen in self._follow_ups.values():
            self.root.remove_widget(screen)
        log.info("follow-up pages dropped: %s", ", ".join(page.value for page in self._follow_ups))
        self._follow_ups.clear()
        # The widgets hold reference cycles: collect them once the page the citizen
        # now sees is drawn, then hand the freed heap back.
        Clock.schedule_once(
            lambda _dt: release_free_memory(collect_garbage=True), FOLLOW_UP_RELEASE_S
        )

    def on_start(self) -> None:
        from kivy.core.window import Window

        # Alt-F4 and the window manager's close button must not end the kiosk.
        Window.bind(on_request_close=lambda *_args, **_kwargs: True)
        # The box and the uploader start only now, so that none of their events can
        # come before the screens listen.
        self.controller.start()
        self._refresh_idle()
        self._navigate()
        self.staff.start()
        log.info("kiosk ready: %s", self.flow.page.value)
        self.trace.after_next_frame(self.flow.page.value)
        self.watchdog.ready()
        if self.watchdog.interval_s is not None:
            # Pinged from the UI loop itself: a frozen window stops the pings and the
            # service manager restarts the kiosk.
            Clock.schedule_interval(lambda _dt: self.watchdog.ping(), self.watchdog.interval_s)
        self.screen.check()
        Clock.schedule_interval(lambda _dt: self.screen.check(), SCREEN_CHECK_S)
        # Once the first frames are drawn, then now and again.
        Clock.schedule_once(lambda _dt: release_free_memory(), FIRST_TRIM_S)
        Clock.schedule_interval(lambda _dt: release_free_memory(), TRIM_EVERY_S)

    def on_stop(self) -> None:
        self.watchdog.stopping()

    def finish_taps(self) -> None:
        """Wait for a tap being stored (call before the store closes)."""
        self._touches.shutdown(wait=True)

    def open_settings(self, *_args: object) -> bool:
        """F1 opens Kivy's settings panel by default; a kiosk has none."""
        return False

    def on_language(self, _app: object, language: str) -> None:
        kv_translation.switch_language(language)
        if self.root is not None:
            self._refresh_idle()
            for page, screen in self._follow_ups.items():
                if page is Page.REASON:
                    screen.show(reason_choices(self.controller.policy.reasons))
                elif page in (Page.COMMENT, Page.PHONE):
                    screen.refresh()

    # -- controller events (any thread) → main thread --------------------------

    def _touched(self, button: int) -> None:
        """Store a tap off Kivy's thread, so the commit does not hold up the frame
        that draws the released button; the thank-you still waits for the commit
        (it comes, like a box press's, as a RATED event)."""
        self._touches.submit(self.controller.touch, button).add_done_callback(self._touch_stored)

    def _touch_stored(self, stored: Future[StoredRating | None]) -> None:
        error = stored.exception()
        if error is not None:
            # Raised on Kivy's thread, as it was when taps were stored there: the crash
            # handler logs it and the kiosk exits to be restarted.
            Clock.schedule_once(lambda _dt: _raise(error))

    def _on_controller_event(self, event: Event) -> None:
        # Called on the box driver's or uploader's thread too: only queue and trigger.
        if event is Event.RATED:
            self.trace.mark("rated")
        if event is Event.RATED and self.controller.last_rating is not None:
            self._ratings.append(self.controller.last_rating)
        self._events.append(event)
        self._drain_trigger()

    def _drain_events(self, _dt: float) -> None:
        self.trace.mark("ui woke")
        seen: set[Event] = set()
        while self._events:
            seen.add(self._events.popleft())
        if seen & {Event.OFFICER, Event.BOX_STATE}:
            self._refresh_idle()
        while self._ratings:
            self._rated(self._ratings.popleft())
        self._navigate()

    # -- the citizen's follow-up after a low rating ------------------------------

    def _rated(self, rating: StoredRating) -> None:
        follow_up = None
        if self.controller.wants_reason(rating):
            policy = self.controller.policy
            follow_up = FollowUp(
                rating.id,
                comment=policy.comment_enabled,
                callback=policy.callback_enabled,
                timeout_s=policy.reason_timeout_s,
            )
        self.flow.rated(time.monotonic(), follow_up)
        self._carry_out()

    def _answered(self, answer: Callable[[Any, float], Page], value: object) -> None:
        answer(value, time.monotonic())
        self._carry_out()
        self._navigate()

    def _still_answering(self) -> None:
        self.flow.activity(time.monotonic())
        self._navigate()

    def _carry_out(self) -> None:
        """Save the answers as they come, and release each rating when its follow-up
        ends. False from the controller (no longer held) needs nothing: the rating
        is kept either way."""
        for effect in self.flow.take_effects():
            if isinstance(effect, FinishFeedback):
                self.controller.finish_feedback(effect.rating_id)
            else:
                self.controller.update_feedback(effect.rating_id, effect.feedback)

    # -- navigation -------------------------------------------------------------

    def _navigate(self) -> None:
        """Show the flow's page, and come back when it has a deadline."""
        manager = self.root
        if manager.current != self.flow.page.value:
            self._prepare(self.flow.page)
            manager.current = self.flow.page.value
            self.trace.mark(f"switched {self.flow.page.value}")
            log.info("screen: %s", self.flow.page.value)
            self.trace.after_next_frame(self.flow.page.value)
            if self.flow.page is Page.THANKS:
                self.voice.play(self.language)
            if self.flow.page not in FOLLOW_UP_PAGES:
                self._drop_follow_ups()
        if self._tick_event is not None:
            self._tick_event.cancel()
            self._tick_event = None
        wake_at = self.flow.wake_at()
        if wake_at is not None:
            self._tick_event = Clock.schedule_once(
                self._tick, max(0.0, wake_at - time.monotonic())
            )

    def _prepare(self, page: Page) -> None:
        """A follow-up page opens fresh for each citizen."""
        if page not in FOLLOW_UP_PAGES:
            return
        screen = self._follow_up_screen(page)
        if page is Page.REASON:
            screen.show(reason_choices(self.controller.policy.reasons))
        elif page in (Page.COMMENT, Page.PHONE):
            screen.reset()

    def _tick(self, _dt: float) -> None:
        self.flow.tick(time.monotonic())
        self._carry_out()
        self._navigate()

    def _refresh_idle(self) -> None:
        controller = self.controller
        policy = controller.policy
        question = policy.question_vi if self.language == "vi" else policy.question_en
        self.idle.show(
            idle_view(controller.officer_card(), controller.scale, controller.box_status, question)
        )


def _raise(error: BaseException) -> None:
    raise error


def run_app(settings: KioskFile, store_path: Path) -> int:
    """Run the kiosk until it is stopped (0) or crashes (EXIT_CRASHED)."""

    configure_kivy(settings.kiosk)
    release_label_surfaces()
    handler = CrashHandler()
    ExceptionManager.add_handler(handler)
    store = KioskStore(store_path)
    controller = KioskController(settings, store, asks_feedback=True)
    app = HaiLongKioskApp(controller, settings.kiosk)

    def stop_gently(signum: int, _frame: object) -> None:
        log.info("stopping the kiosk app (signal %d)", signum)
        Clock.schedule_once(lambda _dt: app.stop())

    signal.signal(signal.SIGTERM, stop_gently)
    signal.signal(signal.SIGINT, stop_gently)
    try:
        app.run()
    except Exception as exc:
        if exc is not handler.seen:
            log.critical("the kiosk app failed", exc_info=exc)
        return EXIT_CRASHED
    finally:
        app.finish_taps()
        controller.stop()
        store.close()
        ExceptionManager.remove_handler(handler)
    return 0
