"""Gaps in a kiosk's sequence numbers: the numbers below its highest stored one
that the server never stored (lost, or rejected and set aside on the kiosk).

Computed in SQL with the window function LAG, on SQLite (3.25 and later) and
PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hailong.sync.server.models import Rating
from hailong.sync.wire import KioskGaps, SeqGap

GAPS_LIMIT = 1000
GAPS_MAX_LIMIT = 10_000


def missing_counts(session: Session, kiosk_ids: Sequence[int]) -> dict[int, int]:
    """How many sequence numbers each kiosk is missing. Numbers are unique per
    kiosk and start at 1, so that is the highest minus how many were stored."""
    if not kiosk_ids:
        return {}
    query = (
        select(Rating.kiosk_id, func.max(Rating.kiosk_seq) - func.count())
        .where(Rating.kiosk_id.in_(list(kiosk_ids)))
        .group_by(Rating.kiosk_id)
    )
    return {kiosk_id: int(missing) for kiosk_id, missing in session.execute(query)}


def kiosk_gaps(
    session: Session, kiosk_id: int, after: int = 0, limit: int = GAPS_LIMIT
) -> KioskGaps:
    """The first `limit` gaps holding numbers above `after`, in order."""
    previous = func.lag(Rating.kiosk_seq, 1, 0).over(order_by=Rating.kiosk_seq)
    steps = (
        select(Rating.kiosk_seq.label("seq"), previous.label("prev"))
        .where(Rating.kiosk_id == kiosk_id)
        .subquery()
    )
    query = (
        select(steps.c.prev + 1, steps.c.seq - 1)
        .where(steps.c.seq - steps.c.prev > 1, steps.c.seq - 1 > after)
        .order_by(steps.c.seq)
        .limit(limit + 1)
    )
    rows = session.execute(query).all()
    gaps = [SeqGap(first=max(first, after + 1), last=last) for first, last in rows[:limit]]
    last_seq = session.scalar(
        select(func.coalesce(func.max(Rating.kiosk_seq), 0)).where(Rating.kiosk_id == kiosk_id)
    )
    return KioskGaps(
        kiosk_id=kiosk_id,
        last_seq=int(last_seq or 0),
        missing=missing_counts(session, [kiosk_id]).get(kiosk_id, 0),
        gaps=gaps,
        truncated=len(rows) > limit,
    )
