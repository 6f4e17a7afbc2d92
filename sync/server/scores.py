"""Scores read from the database, by both official formulas: per officer, per
counter and per unit, over any period."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from hailong.sync.server import scope
from hailong.sync.server.models import Counter, Officer, Rating, Unit, User
from hailong.sync.server.scoring import (
    MIN_RANKED_VALID,
    SATISFIED_LEVELS,
    SIPAS_LEVELS,
    competition_ranks,
    decision766_rate,
    gap_to_target,
    negatives_to_spare,
    sipas_index,
    wilson_interval,
)
from hailong.sync.wire import Score

Level = Literal["officer", "counter", "unit"]
LEVELS: tuple[Level, ...] = ("officer", "counter", "unit")


@dataclass(frozen=True)
class Period:
    """[start, end) on the ratings' corrected time; an open side is unbounded."""

    start: datetime | None = None
    end: datetime | None = None


@dataclass
class Tally:
    """Counts of one officer, counter or unit: valid ratings by SIPAS level, and
    flagged ratings apart."""

    valid_by_level: dict[int, int] = field(default_factory=lambda: dict.fromkeys(SIPAS_LEVELS, 0))
    flagged: int = 0

    @property
    def valid(self) -> int:
        return sum(self.valid_by_level.values())

    @property
    def satisfied(self) -> int:
        return sum(self.valid_by_level[level] for level in SATISFIED_LEVELS)

    def add(self, other: Tally) -> None:
        for level, count in other.valid_by_level.items():
            self.valid_by_level[level] += count
        self.flagged += other.flagged


@dataclass(frozen=True)
class GroupScore:
    """The figures of one row of a scoreboard. `rank` is None below the minimum
    number of valid ratings."""

    id: int
    name: str
    unit_id: int
    ratings: int
    valid: int
    flagged: int
    by_sipas_level: dict[int, int]
    sipas_index: float | None
    decision766_rate: float | None
    sipas_interval: tuple[float, float] | None
    gap_to_target: float | None
    # More not-satisfied ratings the index could take and stay at the target.
    negatives_to_spare: int | None
    rank: int | None


def _key_column(level: Level) -> InstrumentedAttribute[Any]:
    return {"officer": Rating.officer_id, "counter": Rating.counter_id,
            "unit": Counter.unit_id}[level]


def tallies(
    session: Session, level: Level, ids: Iterable[int], period: Period
) -> dict[int, Tally]:
    """The tally of each id of `level` over `period` (one query). A rating belongs
    to the unit of the counter where it was given."""
    wanted = list(ids)
    result = {key: Tally() for key in wanted}
    if not wanted:
        return result
    key = _key_column(level)
    query = (
        select(key, Rating.sipas_level, Rating.flagged, func.count())
        .where(key.in_(wanted))
        .group_by(key, Rating.sipas_level, Rating.flagged)
    )
    if level == "unit":
        query = query.join(Counter, Rating.counter_id == Counter.id)
    if period.start is not None:
        query = query.where(Rating.corrected_time >= period.start)
    if period.end is not None:
        query = query.where(Rating.corrected_time < period.end)
    for key_id, sipas_level, is_flagged, count in session.execute(query):
        tally = result[key_id]
        if is_flagged:
            tally.flagged += count
        else:
            tally.valid_by_level[sipas_level] += count
    return result


@dataclass(frozen=True)
class Subject:
    """What a scoreboard row is about: an officer, a counter or a unit."""

    id: int
    name: str
    unit_id: int


def unit_names(session: Session) -> dict[int, str]:
    return {uid: name for uid, name in session.execute(select(Unit.id, Unit.name))}


def visible_subjects(session: Session, user: User, level: Level) -> list[Subject]:
    """The officers, counters or units `user` may see (scope.py decides)."""
    if level == "officer":
        return [Subject(o.id, o.name, o.unit_id) for o in scope.visible_officers(session, user)]
    if level == "counter":
        return [Subject(c.id, c.name, c.unit_id) for c in scope.visible_counters(session, user)]
    return [Subject(u.id, u.name, u.id) for u in scope.visible_units(session, user)]


def scoreboard(
    subjects: Sequence[Subject], counts: Mapping[int, Tally], min_valid: int = MIN_RANKED_VALID
) -> list[GroupScore]:
    """Rows for `subjects`: the ranked ones best first, then the unranked ones in
    the order given."""
    rows = []
    for subject in subjects:
        tally = counts[subject.id]
        index = sipas_index(tally.valid_by_level)
        rows.append((subject, tally, index))
    ranks = competition_ranks({s.id: (index, t.valid) for s, t, index in rows}, min_valid)
    board = [
        GroupScore(
            id=subject.id,
            name=subject.name,
            unit_id=subject.unit_id,
            ratings=tally.valid + tally.flagged,
            valid=tally.valid,
            flagged=tally.flagged,
            by_sipas_level=dict(tally.valid_by_level),
            sipas_index=index,
            decision766_rate=decision766_rate(tally.valid_by_level),
            sipas_interval=wilson_interval(tally.satisfied, tally.valid),
            gap_to_target=gap_to_target(index),
            negatives_to_spare=negatives_to_spare(tally.satisfied, tally.valid),
            rank=ranks[subject.id],
        )
        for subject, tally, index in rows
    ]
    unranked_last = len(board) + 1
    return sorted(board, key=lambda row: row.rank if row.rank is not None else unranked_last)


def summarise(officer: Officer, tally: Tally, period: Period) -> Score:
    return Score(
        officer_id=officer.id,
        officer_name=officer.name,
        ratings=tally.valid + tally.flagged,
        valid=tally.valid,
        flagged=tally.flagged,
        by_sipas_level=dict(tally.valid_by_level),
        sipas_index=sipas_index(tally.valid_by_level),
        decision766_rate=decision766_rate(tally.valid_by_level),
        period_start=period.start,
        period_end=period.end,
    )


def sipas_interval(score: Score) -> tuple[float, float] | None:
    """Wilson 95 % interval of the SIPAS index."""
    satisfied = sum(score.by_sipas_level.get(level, 0) for level in SATISFIED_LEVELS)
    return wilson_interval(satisfied, score.valid)


def officer_scores(
    session: Session, officers: Sequence[Officer], period: Period
) -> dict[int, Score]:
    """Scores of `officers` over `period`, keyed by officer id (one query)."""
    counts = tallies(session, "officer", [o.id for o in officers], period)
    return {o.id: summarise(o, counts[o.id], period) for o in officers}
