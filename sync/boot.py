"""Facts about this boot that make a rating's time trustworthy later.

A kiosk without a real-time clock can boot with a wrong wall clock. Like the systemd
journal, each rating keeps the boot id and the monotonic time (CLOCK_MONOTONIC, which
`time.monotonic()` reads on Linux and which counts from the same boot), so the server
can correct the wall times of a whole boot from one trusted upload.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

BOOT_ID_PATH = Path("/proc/sys/kernel/random/boot_id")
TIMESYNC_MARKER = Path("/run/systemd/timesync/synchronized")
# The kernel reports a maximum error of 16 s (NTP_PHASE_LIMIT) while no NTP daemon
# disciplines the clock; systemd's NTPSynchronized uses the same test.
UNSYNCED_MAXERROR_US = 16_000_000
# No genuine rating is older than this software; a clock before it was never set.
EARLIEST_PLAUSIBLE = datetime(2025, 1, 1, tzinfo=UTC)


def read_boot_id(path: Path = BOOT_ID_PATH) -> uuid.UUID | None:
    try:
        return uuid.UUID(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


@functools.cache
def current_boot_id() -> uuid.UUID:
    """The kernel's id for this boot; a random id for this process when unavailable."""
    boot_id = read_boot_id()
    if boot_id is None:
        boot_id = uuid.uuid4()
        log.warning(
            "%s is unreadable; using %s for this process, so the server cannot join "
            "its ratings with other processes of the same boot",
            BOOT_ID_PATH,
            boot_id,
        )
    return boot_id


@dataclass(frozen=True)
class ClockFacts:
    wall_time: datetime
    # The kernel's maximum clock error in microseconds (adjtimex); None when unknown.
    maxerror_us: int | None
    # systemd-timesyncd touches its marker after its first synchronisation this boot.
    timesync_marker: bool


def clock_trusted(facts: ClockFacts) -> bool:
    """Pure: whether the wall clock can be believed to within a few seconds."""
    if facts.wall_time < EARLIEST_PLAUSIBLE:
        return False
    if facts.timesync_marker:
        return True
    return facts.maxerror_us is not None and facts.maxerror_us < UNSYNCED_MAXERROR_US


class _Timeval(ctypes.Structure):
    _fields_ = (("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long))


class _Timex(ctypes.Structure):
    """Linux `struct timex` (man 2 adjtimex)."""

    _fields_ = (
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time", _Timeval),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("_reserved", ctypes.c_int * 11),
    )


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name, use_errno=True) if name else None
    except OSError:
        return None


def read_maxerror_us() -> int | None:
    """The kernel's maximum clock error, read with adjtimex(2) in read-only mode: one
    system call, so it can run on every press (unlike `timedatectl`, which asks systemd
    over D-Bus and may block)."""
    libc = _libc()
    if libc is None or not hasattr(libc, "adjtimex"):
        return None
    timex = _Timex()  # modes = 0: read only
    if libc.adjtimex(ctypes.byref(timex)) < 0:
        return None
    return int(timex.maxerror)


def clock_is_trusted() -> bool:
    return clock_trusted(
        ClockFacts(
            wall_time=datetime.now(UTC),
            maxerror_us=read_maxerror_us(),
            timesync_marker=TIMESYNC_MARKER.exists(),
        )
    )
