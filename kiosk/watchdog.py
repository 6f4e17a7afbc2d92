"""A tiny sd_notify client: tells systemd that the kiosk is ready, still alive, or
stopping, through the datagram socket named in $NOTIFY_SOCKET. Without it (run by
hand, in tests) every call does nothing.

The unit (deploy/kiosk/hailong-kiosk.service) has `Type=notify` and `WatchdogSec=`:
systemd restarts the kiosk when `ping()` stops coming, so ping from the loop whose
health matters (the Kivy clock), never from a thread of its own.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)

SEND_TIMEOUT_S = 1.0


class Watchdog:
    def __init__(self, environ: Mapping[str, str] = os.environ):
        address = environ.get("NOTIFY_SOCKET", "")
        # "@name" is a socket in the abstract namespace: a leading NUL byte.
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self._interval_s = _interval_s(environ)
        self._failed = False

    @property
    def interval_s(self) -> float | None:
        """Seconds between pings (half of systemd's WatchdogSec=, as systemd advises);
        None when the watchdog is off or meant for another process."""
        return self._interval_s

    def ready(self) -> bool:
        return self.notify("READY=1")

    def ping(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def notify(self, message: str) -> bool:
        """Send `message`; False when there is no socket or sending failed (logged the
        first time only: a kiosk must not fill its journal or stop over this)."""
        if not self._address:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.settimeout(SEND_TIMEOUT_S)
                sock.sendto(message.encode("utf-8"), self._address)
        except OSError as error:
            if not self._failed:
                log.warning("cannot notify systemd at %r: %s", self._address, error)
                self._failed = True
            return False
        return True


def _interval_s(environ: Mapping[str, str]) -> float | None:
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    # systemd names the process it watches. The kiosk app runs as the child of cage,
    # the unit's main process, and passes for it (NotifyAccess=all lets it speak);
    # processes the app starts in turn do not.
    watched = environ.get("WATCHDOG_PID")
    if watched and watched not in (str(os.getpid()), str(os.getppid())):
        return None
    return usec / 2 / 1_000_000
