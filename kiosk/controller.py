"""The kiosk's service layer: one place where the box, the rating session, the
durable store and the uploader meet. No Kivy here — the screens observe it.

Order of a rating, whatever its source: the session decides (button → SIPAS level,
flags), the store commits it with its outbox entry, and only then is the press
acknowledged to the box (whose light then confirms it) and the screens told.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Literal
from uuid import UUID

from hailong.config.settings import KioskFile, KioskPolicy, ScaleLevel
from hailong.kiosk import trace
from hailong.kiosk.enrollment import load_config
from hailong.kiosk.housekeeping import BoxReport, Housekeeping
from hailong.kiosk.session import BoxKey, RatingSession
from hailong.sync.boot import clock_is_trusted, current_boot_id
from hailong.sync.store import Feedback, KioskStore, StoredRating
from hailong.sync.wire import BoxStatus, KioskConfig, Officer

log = logging.getLogger(__name__)


class Event(Enum):
    RATED = "rated"
    BOX_STATE = "box_state"
    OFFICER = "officer"


@dataclass(frozen=True)
class OfficerCard:
    """What the idle screen shows about who is serving."""

    officer_id: int
    name: str
    title: str
    counter_name: str
    unit_name: str
    photo_path: Path | None


Listener = Callable[[Event], None]


@dataclass(frozen=True)
class BoxSummary:
    status: BoxStatus
    firmware: str
    serial: str


class KioskController:
    def __init__(
        self, settings: KioskFile, store: KioskStore, *, asks_feedback: bool = False
    ) -> None:
        """`asks_feedback`: a screen asks for a reason after a low rating, so such a
        rating is held until the citizen is done (a headless kiosk never asks)."""
        self.settings = settings
        self.asks_feedback = asks_feedback
        self.store = store
        self._config = load_config(store)
        # A citizen cut off by a crash or a power cut keeps their rating as answered so far.
        released = store.release_all()
        if released:
            log.info("released %d rating(s) held for feedback when the kiosk stopped", released)
        self.last_rating: StoredRating | None = None
        self._button_test: Callable[[int], None] | None = None
        self._boot_id = current_boot_id()
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        # The driver reports changes only; until its first one the box is not connected.
        self._box_status: BoxStatus = "disconnected" if settings.device.enabled else "disabled"
        self.session = RatingSession(
            self.policy.scale,
            counter_id=self._config.counter.id if self._config else 0,
            response_interval_s=settings.kiosk.response_interval_s,
        )
        officer = store.get_state("officer_id")
        if officer:
            self.session.sign_in(int(officer))
        self._driver = None
        self._uploader = None
        self._housekeeping = None

    # -- what the screens read -------------------------------------------------

    @property
    def policy(self) -> KioskPolicy:
        """The unit's policy as the server last sent it, else this kiosk's file."""
        if self._config is not None and self._config.policy is not None:
            return self._config.policy
        return self.settings.kiosk.policy()

    @property
    def scale(self) -> tuple[ScaleLevel, ...]:
        return self.policy.scale

    def open_now(self) -> bool:
        return self.policy.opening_hours.open_at(datetime.now(UTC))

    def wants_reason(self, rating: StoredRating) -> bool:
        """Whether the citizen is asked why, after this rating (it is then held)."""
        return rating.held

    def box_info(self) -> BoxSummary:
        info = self._driver.info if self._driver is not None else None
        return BoxSummary(
            status=self._box_status,
            firmware=info.firmware if info else "",
            serial=info.serial if info else "",
        )

    @property
    def enrolled(self) -> bool:
        return self._config is not None

    @property
    def box_status(self) -> BoxStatus:
        return self._box_status

    def roster(self) -> list[Officer]:
        return list(self._config.officers) if self._config else []

    def officer_card(self) -> OfficerCard | None:
        if self._config is None or self.session.officer_id is None:
            return None
        for officer in self._config.officers:
            if officer.id == self.session.officer_id:
                photo = self.photo_dir / f"{officer.id}.png"
                return OfficerCard(
                    officer_id=officer.id,
                    name=officer.name,
                    title=officer.title,
                    counter_name=self._config.counter.name,
                    unit_name=self._config.counter.unit_name,
                    photo_path=photo if photo.exists() else None,
                )
        return None

    def add_listener(self, listener: Listener) -> None:
        """`listener` is called from whichever thread the event happens on."""
        self._listeners.append(listener)

    # -- what the screens do -----------------------------------------------------

    def touch(self, button: int) -> StoredRating | None:
        """A tap on a screen button: stored before this returns (None: it was the
        other half of a box press made at the same moment)."""
        return self._rate(button, "touch", None)

    def update_feedback(self, rating_id: UUID, feedback: Feedback) -> bool:
        """What the citizen has answered so far; False once the rating was released."""
        return self.store.update_feedback(rating_id, feedback)

    def finish_feedback(self, rating_id: UUID) -> bool:
        """The citizen is done (or walked away): the rating may be uploaded."""
        released = self.store.release(rating_id)
        if released and self._uploader is not None:
            self._uploader.wake()
        return released

    def set_button_test(self, listener: Callable[[int], None] | None) -> None:
        """While set, box presses are acknowledged and reported to `listener` (the
        technician's button test) instead of being stored as ratings."""
        self._button_test = listener

    def sign_in(self, officer_id: int) -> None:
        self.session.sign_in(officer_id)
        self.store.set_state("officer_id", str(officer_id))
        self._emit(Event.OFFICER)

    def sign_out(self) -> None:
        self.session.sign_out()
        self.store.set_state("officer_id", "")
        self._emit(Event.OFFICER)

    @property
    def photo_dir(self) -> Path:
        return self.settings.kiosk.photo_dir

    # -- services ----------------------------------------------------------------

    def start(self) -> None:
        """Start the box driver and the uploader in their own threads."""
        from hailong.sync.uploader import Uploader

        # Until enrolled a press has no counter to belong to; the box keeps it meanwhile.
        if self.settings.device.enabled and self.enrolled:
            self._start_driver()
        self._uploader = Uploader(
            self.store, self.settings.sync, credentials=lambda: self.store.get_state("token")
        )
        self._uploader.start()
        self._housekeeping = Housekeeping(
            self.settings, self.store, self._box_report, self.apply_config
        )
        self._housekeeping.start()

    def apply_config(self, config: KioskConfig) -> None:
        """A new roster from the server, taken without a restart. An officer no longer on
        it is signed out; ratings already stored keep who they were for."""
        with self._lock:
            self._config = config
            self.session.counter_id = config.counter.id
            self.session.set_scale(self.policy.scale)
            officer = self.session.officer_id
            if officer is not None and officer not in {o.id for o in config.officers}:
                self.session.sign_out()
                self.store.set_state("officer_id", "")
        self._emit(Event.OFFICER)

    def pull_roster_soon(self) -> bool:
        """Ask the server for the roster now (see `Housekeeping.pull_config_soon`);
        False when nothing was asked."""
        return self._housekeeping is not None and self._housekeeping.pull_config_soon()

    def _box_report(self) -> BoxReport:
        info = self._driver.info if self._driver is not None else None
        return BoxReport(status=self._box_status, firmware=info.firmware if info else "")

    def stop(self) -> None:
        if self._housekeeping is not None:
            self._housekeeping.stop()
        if self._driver is not None:
            self._driver.stop()
        if self._uploader is not None:
            self._uploader.stop()

    def _start_driver(self) -> None:
        from hailong.device.driver import BoxDriver, BoxPress, BoxSettings, BoxState

        device = self.settings.device

        def on_press(press: BoxPress) -> None:
            trace.shared().mark("box press")
            box = BoxKey(serial=press.serial, boot_nonce=press.boot_nonce, seq=press.seq)
            testing = self._button_test
            if testing is not None:
                testing(press.button)
            else:
                self._rate(press.button, "box", box)
            # Acknowledged only after the commit: the box keeps resending until then.
            driver.acknowledge(press)

        def on_state(state: BoxState, _info: object) -> None:
            self._set_box_status(state.value)

        driver = BoxDriver(
            device.port,
            baudrate=device.baudrate,
            on_press=on_press,
            on_state=on_state,
            settings=BoxSettings(
                label=device.label,
                debounce_ms=device.debounce_ms,
                led_brightness=device.led_brightness,
            ),
            usb_vid_pid=device.usb_vid_pid,
            serial_number=device.serial_number,
        )
        self._driver = driver
        driver.start()

    def _rate(
        self, button: int, source: Literal["box", "touch"], box: BoxKey | None
    ) -> StoredRating | None:
        with self._lock:
            now = time.monotonic()
            wall = datetime.now(UTC)
            policy = self.policy
            rating = self.session.rate(
                button, source, now, box, open_now=policy.opening_hours.open_at(wall)
            )
            if rating is None:
                log.info("a %s at the same moment as the previous rating: one rating", source)
                return None
            hold = (
                self.asks_feedback
                and bool(policy.reasons)
                and rating.sipas_level <= policy.low_rating_max_sipas
            )
            stored = self.store.record(
                rating,
                wall_time=wall,
                monotonic_ms=int(now * 1000),
                clock_trusted=clock_is_trusted(),
                boot_id=self._boot_id,
                hold=hold,
            )
            # A press the box resent comes back as the rating stored the first time:
            # the citizen was already thanked for it. Announced under the lock, so each
            # listener reads `last_rating` as the rating it is told about.
            if stored.wall_time == wall:
                self.last_rating = stored
                self._emit(Event.RATED)
        if stored.wall_time == wall and self._uploader is not None:
            self._uploader.wake()
        return stored

    def _set_box_status(self, status: BoxStatus) -> None:
        self._box_status = status
        self._emit(Event.BOX_STATE)

    def _emit(self, event: Event) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                log.exception("kiosk listener failed on %s", event.value)
