"""Boot id and whether the wall clock can be trusted."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hailong.sync import boot
from hailong.sync.boot import ClockFacts, clock_trusted

NOW = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("facts", "trusted"),
    [
        (ClockFacts(NOW, maxerror_us=250_000, timesync_marker=False), True),
        (ClockFacts(NOW, maxerror_us=16_000_000, timesync_marker=False), False),
        (ClockFacts(NOW, maxerror_us=15_999_999, timesync_marker=False), True),
        (ClockFacts(NOW, maxerror_us=None, timesync_marker=False), False),
        (ClockFacts(NOW, maxerror_us=None, timesync_marker=True), True),
        (ClockFacts(NOW, maxerror_us=16_000_000, timesync_marker=True), True),
        # A Raspberry Pi without a real-time clock boots in 1970: never trusted.
        (ClockFacts(datetime(1970, 1, 1, 0, 5, tzinfo=UTC), 0, timesync_marker=True), False),
    ],
)
def test_clock_trusted(facts: ClockFacts, trusted: bool) -> None:
    assert clock_trusted(facts) is trusted


def test_read_boot_id(tmp_path: Path) -> None:
    path = tmp_path / "boot_id"
    path.write_text("38e01930-7102-407a-9383-761a99728376\n")
    assert boot.read_boot_id(path) == uuid.UUID("38e01930-7102-407a-9383-761a99728376")
    path.write_text("garbage\n")
    assert boot.read_boot_id(path) is None
    assert boot.read_boot_id(tmp_path / "missing") is None


def test_current_boot_id_is_the_kernels_and_stable() -> None:
    kernel = boot.read_boot_id()
    assert kernel is not None, "this test needs Linux's /proc/sys/kernel/random/boot_id"
    assert boot.current_boot_id() == kernel == boot.current_boot_id()


def test_maxerror_comes_from_the_kernel() -> None:
    maxerror = boot.read_maxerror_us()
    assert maxerror is not None and 0 <= maxerror <= 16_000_000
    assert isinstance(boot.clock_is_trusted(), bool)


def test_monotonic_is_clock_monotonic() -> None:
    """Ratings keep time.monotonic() as monotonic_ms beside the boot id: that pairing
    holds because on Linux it is CLOCK_MONOTONIC, which counts from this boot."""
    before = time.clock_gettime(time.CLOCK_MONOTONIC)
    now = time.monotonic()
    after = time.clock_gettime(time.CLOCK_MONOTONIC)
    assert before <= now <= after
