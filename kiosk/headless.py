"""The kiosk's services with no window: the rating box, the store and the uploader.

For a counter that has only the box of buttons, and for tests that stop the kiosk
process abruptly many times (a window takes seconds to open; the services do not).
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

from hailong.config.settings import KioskFile
from hailong.kiosk.controller import KioskController
from hailong.kiosk.watchdog import Watchdog
from hailong.sync.store import KioskStore

log = logging.getLogger(__name__)


def run_headless(settings: KioskFile, store_path: Path) -> int:
    stop = threading.Event()

    def stop_gently(signum: int, _frame: object) -> None:
        log.info("stopping the kiosk services (signal %d)", signum)
        stop.set()

    signal.signal(signal.SIGTERM, stop_gently)
    signal.signal(signal.SIGINT, stop_gently)
    with KioskStore(store_path) as store:
        controller = KioskController(settings, store)
        if not controller.enrolled:
            log.warning("this kiosk is not enrolled: run `hailong kiosk enroll CODE` first")
        controller.start()
        log.info("kiosk services ready (no window)")
        watchdog = Watchdog()
        watchdog.ready()
        try:
            while not stop.wait(watchdog.interval_s):  # None: wait for the stop only
                watchdog.ping()
        finally:
            watchdog.stopping()
            controller.stop()
    return 0
