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

from hailong.config.settings import KioskFile, ScaleLevel
from hailong.kiosk.enrollment import load_config
from hailong.kiosk.housekeeping import BoxReport, Housekeeping
from hailong.kiosk.session import BoxKey, RatingSession
from hailong.sync.boot import clock_is_trusted, current_boot_id
from hailong.sync.store import KioskStore, StoredRating
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


class KioskController:
    def __init__(self, settings: KioskFile, store: KioskStore) -> None:
        self.settings = settings
        self.store = store
        self.scale: tuple[ScaleLevel, ...] = settings.kiosk.scale
        self._config = load_config(store)
        self._boot_id = current_boot_id()
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        # The driver reports changes only; until its first one the box is not connected.
        self._box_status: BoxStatus = "disconnected" if settings.device.enabled else "disabled"
        self.session = RatingSession(
            self.scale,
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

    def touch(self, button: int) -> StoredRating:
        """A tap on a screen button: stored before this returns."""
        return self._rate(button, "touch", None)

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
            officer = self.session.officer_id
            if officer is not None and officer not in {o.id for o in config.officers}:
                self.session.sign_out()
                self.store.set_state("officer_id", "")
        self._emit(Event.OFFICER)

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
            box = BoxKey(serial=press.serial, boot_nonce=press.boot_nonce, seq=press.seq)
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
    ) -> StoredRating:
        with self._lock:
            now = time.monotonic()
            wall = datetime.now(UTC)
            rating = self.session.rate(button, source, now, box)
            stored = self.store.record(
                rating,
                wall_time=wall,
                monotonic_ms=int(now * 1000),
                clock_trusted=clock_is_trusted(),
                boot_id=self._boot_id,
            )
        # A press the box resent comes back as the rating stored the first time: the
        # citizen was already thanked for it.
        if stored.wall_time == wall:
            if self._uploader is not None:
                self._uploader.wake()
            self._emit(Event.RATED)
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
