"""The supervisor's figures for this counter, from the ratings in the kiosk's store.

The formulas are the server's own (`hailong.sync.server.scoring`, pure and free of
the web stack), so the kiosk and the dashboard never disagree on an index.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from hailong.sync.server.scoring import decision766_rate, sipas_index
from hailong.sync.store import StoredRating
from hailong.sync.wire import Officer


@dataclass(frozen=True)
class Figures:
    ratings: int
    valid: int
    sipas_index: float | None
    decision766_rate: float | None


@dataclass(frozen=True)
class OfficerFigures:
    officer_id: int | None
    name: str
    today: Figures
    month: Figures


def period_starts(now: datetime, timezone: str) -> tuple[datetime, datetime]:
    """Local midnight today and on the first of the month, for `now` (aware)."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    today = datetime.combine(local.date(), time(), zone)
    return today, today.replace(day=1)


def figures(ratings: Iterable[StoredRating]) -> Figures:
    ratings = list(ratings)
    # Flagged ratings (too soon, nobody signed in, outside hours) are counted, not scored.
    valid = Counter(r.sipas_level for r in ratings if not r.flags)
    return Figures(
        ratings=len(ratings),
        valid=sum(valid.values()),
        sipas_index=sipas_index(valid),
        decision766_rate=decision766_rate(valid),
    )


def officer_figures(
    ratings: Sequence[StoredRating],
    officers: Sequence[Officer],
    counter_id: int,
    today_start: datetime,
    no_officer: str,
) -> list[OfficerFigures]:
    """One row per officer on the roster (in its order), then one for ratings given
    with nobody signed in, if any; `ratings` are this month's."""
    mine = [r for r in ratings if r.counter_id == counter_id]
    names: dict[int | None, str] = {o.id: o.name for o in officers}
    ids: list[int | None] = [o.id for o in officers]
    # Officers no longer on the roster still had their ratings here this month.
    ids += sorted({r.officer_id for r in mine if r.officer_id is not None} - set(names))
    if any(r.officer_id is None for r in mine):
        ids.append(None)
    rows = []
    for officer_id in ids:
        theirs = [r for r in mine if r.officer_id == officer_id]
        name = no_officer if officer_id is None else names.get(officer_id, f"#{officer_id}")
        rows.append(
            OfficerFigures(
                officer_id=officer_id,
                name=name,
                today=figures(r for r in theirs if r.wall_time >= today_start),
                month=figures(theirs),
            )
        )
    return rows


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} %"
