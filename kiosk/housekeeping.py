"""The kiosk's regular check-ins with the server, in their own thread: a heartbeat
(app version, box status and firmware, backlog, clock) and a fresh copy of the
counter's roster, which the controller applies without a restart.

Both are best effort: a failure is logged once per streak and tried again at the
next interval; ratings never wait for them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from hailong import __version__
from hailong.config.settings import KioskFile
from hailong.kiosk.enrollment import refresh
from hailong.sync import client
from hailong.sync.store import KioskStore
from hailong.sync.wire import BoxStatus, Heartbeat, KioskConfig

log = logging.getLogger(__name__)

# An early roster pull (`pull_config_soon`) at most this often: a card nobody owns,
# scanned again and again, must not become a request each time.
EARLY_PULL_GAP_S = 30.0


@dataclass(frozen=True)
class BoxReport:
    status: BoxStatus
    firmware: str


class Housekeeping:
    def __init__(
        self,
        settings: KioskFile,
        store: KioskStore,
        box: Callable[[], BoxReport],
        on_config: Callable[[KioskConfig], None],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._store = store
        self._box = box
        self._on_config = on_config
        self._clock = clock
        self._stop = threading.Event()
        # Set to end a wait early: to stop, or for an early roster pull.
        self._wake = threading.Event()
        self._config_soon = threading.Event()
        self._early_pull_at: float | None = None
        self._thread: threading.Thread | None = None
        self._failing: set[str] = set()

    def start(self) -> None:
        thread = threading.Thread(target=self._run, name="kiosk-housekeeping", daemon=True)
        thread.start()
        self._thread = thread

    def stop(self, timeout_s: float | None = None) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s or self._settings.sync.timeout_s + 1)

    def beat(self) -> None:
        token = self._store.get_state("token")
        if not token:
            return
        box = self._box()
        beat = Heartbeat(
            sent_wall_time=datetime.now(UTC),
            app_version=__version__,
            box_status=box.status,
            box_firmware=box.firmware,
            backlog=self._store.backlog(),
        )
        sync = self._settings.sync
        ack = client.heartbeat(sync.server_url, token, beat, timeout=sync.timeout_s)
        if abs(ack.clock_skew_ms) > 2000:
            log.warning("this kiosk's clock is %+d ms off the server's", ack.clock_skew_ms)

    def pull_config_soon(self) -> bool:
        """Pull the roster now rather than at its interval (a badge the kiosk does not
        know may have been given out since the last pull); False, and nothing asked,
        when the last early pull was asked less than EARLY_PULL_GAP_S ago."""
        now = self._clock()
        if self._early_pull_at is not None and now - self._early_pull_at < EARLY_PULL_GAP_S:
            return False
        self._early_pull_at = now
        self._config_soon.set()
        self._wake.set()
        return True

    def pull_config(self) -> None:
        if not self._store.get_state("token"):
            return
        before = self._store.get_state("config")
        sync = self._settings.sync
        config = refresh(
            self._store, str(sync.server_url), self._settings.kiosk.photo_dir, sync.timeout_s
        )
        if self._store.get_state("config") != before:
            log.info("new roster from the server: %d officers", len(config.officers))
            self._on_config(config)

    def _run(self) -> None:
        sync = self._settings.sync
        tasks = [
            ("heartbeat", self.beat, sync.heartbeat_interval_s),
            ("configuration", self.pull_config, sync.config_refresh_s),
        ]
        due = {name: self._clock() for name, _task, _every in tasks}
        while not self._stop.is_set():
            if self._config_soon.is_set():
                self._config_soon.clear()
                due["configuration"] = self._clock()
            for name, task, every in tasks:
                if self._clock() >= due[name]:
                    self._attempt(name, task)
                    due[name] = self._clock() + every
            self._wake.wait(max(0.05, min(due.values()) - self._clock()))
            self._wake.clear()

    def _attempt(self, name: str, task: Callable[[], None]) -> None:
        try:
            task()
        except client.SyncError as exc:
            if name not in self._failing:
                log.warning("%s with the server failed, will retry: %s", name, exc)
            self._failing.add(name)
        else:
            if name in self._failing:
                log.info("%s with the server works again", name)
            self._failing.discard(name)
