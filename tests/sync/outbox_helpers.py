"""Helpers shared by the kiosk sync tests: ratings as the kiosk stores them, and a
deadline-bounded wait."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hailong.kiosk.session import BoxKey, NewRating
from hailong.sync.store import KioskStore, StoredRating

BOOT_ID = uuid.UUID("5e1f5c3a-8d2b-4c7e-9a61-0b7d2f4c1e99")
T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


def new_rating(button: int = 1, box: BoxKey | None = None, officer_id: int | None = 7) -> NewRating:
    sipas = {1: 5, 2: 4, 3: 3, 4: 2}[button]
    return NewRating(
        counter_id=3,
        officer_id=officer_id,
        button=button,
        scale_size=4,
        sipas_level=sipas,
        source="box" if box else "touch",
        flags=() if officer_id else ("no_officer",),
        box=box,
    )


def record(
    store: KioskStore, rating: NewRating | None = None, n: int = 0, *, hold: bool = False
) -> StoredRating:
    """Store a rating as the kiosk would, `n` seconds into the boot; `hold`, as a low
    rating is kept back while the citizen answers the follow-up questions."""
    return store.record(
        rating or new_rating(),
        wall_time=T0 + timedelta(seconds=n),
        monotonic_ms=1000 * n,
        clock_trusted=True,
        boot_id=BOOT_ID,
        hold=hold,
    )


def hold(store: KioskStore, n: int = 0) -> StoredRating:
    """A low rating held while its citizen answers the follow-up questions."""
    return record(store, new_rating(button=4), n, hold=True)


def record_many(store: KioskStore, count: int) -> list[StoredRating]:
    return [record(store, new_rating(button=1 + i % 4), n=i) for i in range(count)]


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(0.01)
