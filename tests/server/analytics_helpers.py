"""Ratings at chosen times for the analysis pages' tests, uploaded through the
real API: items from an earlier boot keep the kiosk's wall time as their time."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from server_harness import MAX_BATCH_ITEMS, RatingMaker, RunningServer, enroll, statuses, upload


@dataclass(frozen=True)
class Given:
    """One rating to upload: who, what level, when, and anything the citizen added."""

    officer_id: int | None
    level: int
    at: datetime
    fields: dict[str, Any] = field(default_factory=dict)


def given(officer_id: int | None, level: int, at: datetime, **fields: Any) -> Given:
    return Given(officer_id, level, at, fields)


def post_ratings(server: RunningServer, counter_id: int, ratings: list[Given]) -> list[str]:
    """Upload `ratings` from a new kiosk at `counter_id`; returns their ids."""
    kiosk = enroll(server, counter_id)
    earlier_boot = RatingMaker(counter_id)
    items = [earlier_boot.item(g.officer_id, g.level, wall_time=g.at, **g.fields)
             for g in ratings]
    sender = RatingMaker(counter_id, uuid.uuid4())
    for first in range(0, len(items), MAX_BATCH_ITEMS):
        chunk = items[first:first + MAX_BATCH_ITEMS]
        assert set(statuses(upload(server, kiosk, sender.batch(chunk)))) == {"accepted"}
    return [item["id"] for item in items]
