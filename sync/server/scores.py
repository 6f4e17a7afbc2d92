"""Scores read from the database, by both official formulas: per officer, per
counter, per unit and per service field, over any period.

A service field's row is the field's counters within one unit: its id is the
smallest id of those counters, its unit theirs, so it is scoped like a counter."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from sqlalchemy import String, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.functions import FunctionElement

from hailong.config.settings import ServerSettings
from hailong.sync.server import scope
from hailong.sync.server.models import Counter, Officer, Rating, Unit, User
from hailong.sync.server.scoring import (
    MIN_RANKED_VALID,
    SATISFIED_LEVELS,
    SIPAS_LEVELS,
    SIPAS_TARGET_PERCENT,
    competition_ranks,
    decision766_rate,
    gap_to_target,
    negatives_to_spare,
    sipas_index,
    wilson_interval,
)
from hailong.sync.wire import Score

Level = Literal["officer", "counter", "unit", "field"]
LEVELS: tuple[Level, ...] = ("officer", "counter", "unit", "field")


@dataclass(frozen=True)
class Targets:
    """The figures every score is read against: the SIPAS target, the city's
    average (when configured) and the fewest valid ratings to be ranked."""

    target: float = SIPAS_TARGET_PERCENT
    city_average: float | None = None
    min_valid: int = MIN_RANKED_VALID


def targets_of(settings: ServerSettings) -> Targets:
    return Targets(settings.target_index, settings.city_average_index,
                   settings.min_ratings_to_rank)


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
    return {"officer": Rating.officer_id, "counter": Rating.counter_id}[level]


def tallies(
    session: Session, level: Level, ids: Iterable[int], period: Period
) -> dict[int, Tally]:
    """The tally of each id of `level` over `period`. A rating belongs to the unit
    of the counter where it was given."""
    wanted = list(ids)
    if level == "unit":
        return _unit_tallies(session, wanted, period)
    if level == "field":
        return _field_tallies(session, wanted, period)
    result = {key: Tally() for key in wanted}
    if not wanted:
        return result
    key = _key_column(level)
    query = (
        select(key, Rating.sipas_level, Rating.flagged, func.count())
        .where(key.in_(wanted))
        .group_by(key, Rating.sipas_level, Rating.flagged)
    )
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


def _unit_tallies(session: Session, unit_ids: list[int], period: Period) -> dict[int, Tally]:
    """Counted per counter, then added up by unit: the ratings' counter index
    answers that alone (in parallel on PostgreSQL), where a join to the counters
    walks it one rating at a time (docs/benchmarks.md, the scoreboard)."""
    unit_of: dict[int, int] = {
        counter_id: unit_id
        for counter_id, unit_id in session.execute(
            select(Counter.id, Counter.unit_id).where(Counter.unit_id.in_(unit_ids)))
    }
    result = {unit_id: Tally() for unit_id in unit_ids}
    for counter_id, tally in tallies(session, "counter", unit_of, period).items():
        result[unit_of[counter_id]].add(tally)
    return result


def _field_tallies(session: Session, field_ids: list[int], period: Period) -> dict[int, Tally]:
    """Counted per counter, then added up by service field, as for units."""
    units = select(Counter.unit_id).where(Counter.id.in_(field_ids))
    wanted = set(field_ids)
    field_of = {
        counter_id: field.id
        for field, counter_ids in _service_fields(session, Counter.unit_id.in_(units))
        if field.id in wanted
        for counter_id in counter_ids
    }
    result = {field_id: Tally() for field_id in field_ids}
    for counter_id, tally in tallies(session, "counter", field_of, period).items():
        result[field_of[counter_id]].add(tally)
    return result


@dataclass(frozen=True)
class Subject:
    """What a scoreboard row is about: an officer, a counter, a unit or a service
    field."""

    id: int
    name: str
    unit_id: int


def _service_fields(session: Session, *where: Any) -> list[tuple[Subject, list[int]]]:
    """Each (unit, service field) of the counters matching `where`, by field name,
    with its counters' ids, smallest first."""
    query = (
        select(Counter.id, Counter.unit_id, Counter.service_field)
        .where(Counter.service_field.is_not(None), *where)
        .order_by(Counter.service_field, Counter.unit_id, Counter.id)
    )
    groups: dict[tuple[int, str], list[int]] = {}
    for counter_id, unit_id, service_field in session.execute(query):
        groups.setdefault((unit_id, service_field), []).append(counter_id)
    return [(Subject(ids[0], name, unit_id), ids) for (unit_id, name), ids in groups.items()]


def unit_names(session: Session) -> dict[int, str]:
    return {uid: name for uid, name in session.execute(select(Unit.id, Unit.name))}


def visible_subjects(session: Session, user: User, level: Level) -> list[Subject]:
    """The officers, counters, units or service fields `user` may see (scope.py
    decides)."""
    if level == "officer":
        return [Subject(o.id, o.name, o.unit_id) for o in scope.visible_officers(session, user)]
    if level == "counter":
        return [Subject(c.id, c.name, c.unit_id) for c in scope.visible_counters(session, user)]
    if level == "field":
        units = scope.visible_unit_ids(session, user)
        where = [] if units is None else [Counter.unit_id.in_(units)]
        return [field for field, _ids in _service_fields(session, *where)]
    return [Subject(u.id, u.name, u.id) for u in scope.visible_units(session, user)]


def scoreboard(
    subjects: Sequence[Subject],
    counts: Mapping[int, Tally],
    min_valid: int = MIN_RANKED_VALID,
    target: float = SIPAS_TARGET_PERCENT,
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
            gap_to_target=gap_to_target(index, target),
            negatives_to_spare=negatives_to_spare(tally.satisfied, tally.valid, target),
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


@dataclass(frozen=True)
class RatingPoint:
    """`count` ratings of one SIPAS level (flagged or not) in the hour starting at
    `at`, an aware time in Vietnam time."""

    at: datetime
    sipas_level: int
    flagged: bool
    count: int = 1


# Vietnam keeps UTC+7 all year (no daylight saving), so a fixed offset is exact.
LOCAL_OFFSET_HOURS = 7
LOCAL_TZ = timezone(timedelta(hours=LOCAL_OFFSET_HOURS), "ICT")


class local_hour(FunctionElement[str]):
    """The rating's hour in Vietnam time as text `YYYY-MM-DD HH`, on either backend."""

    type = String()
    inherit_cache = True


@compiles(local_hour, "sqlite")
def _local_hour_sqlite(element: local_hour, compiler: Any, **kw: Any) -> str:
    # Stored as naive UTC text (models.UTCDateTime).
    column = compiler.process(element.clauses, **kw)
    return f"strftime('%Y-%m-%d %H', {column}, '+{LOCAL_OFFSET_HOURS} hours')"


@compiles(local_hour, "postgresql")
def _local_hour_postgresql(element: local_hour, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return (f"to_char(({column} AT TIME ZONE 'UTC') + interval '{LOCAL_OFFSET_HOURS} hours', "
            "'YYYY-MM-DD HH24')")


def _bounded(query: Any, period: Period) -> Any:
    if period.start is not None:
        query = query.where(Rating.corrected_time >= period.start)
    if period.end is not None:
        query = query.where(Rating.corrected_time < period.end)
    return query


def _of_subject(query: Any, unit_ids: Iterable[int] | None, officer_id: int | None) -> Any:
    """Ratings given at the counters of `unit_ids` (None: every unit), or of one officer."""
    if officer_id is not None:
        query = query.where(Rating.officer_id == officer_id)
    if unit_ids is not None:
        query = query.where(Rating.counter_id.in_(
            select(Counter.id).where(Counter.unit_id.in_(list(unit_ids)))))
    return query


def rating_points(
    session: Session, period: Period, unit_ids: Iterable[int] | None = None,
    officer_id: int | None = None,
) -> list[RatingPoint]:
    """The ratings of the units or the officer over `period`, counted per local
    hour, SIPAS level and flag, oldest first: a year is at most ~90 000 rows
    whatever the number of ratings."""
    hour = local_hour(Rating.corrected_time)
    query = _bounded(
        select(hour, Rating.sipas_level, Rating.flagged, func.count())
        .group_by(hour, Rating.sipas_level, Rating.flagged),
        period,
    )
    query = _of_subject(query, unit_ids, officer_id).order_by(hour)
    return [
        RatingPoint(datetime.strptime(text, "%Y-%m-%d %H").replace(tzinfo=LOCAL_TZ), level,
                    bool(flagged), count)
        for text, level, flagged, count in session.execute(query)
    ]


def reason_counts(
    session: Session, period: Period, unit_ids: Iterable[int] | None = None
) -> dict[tuple[str | None, int], int]:
    """Valid ratings counted by (reason or None, SIPAS level)."""
    query = _bounded(
        select(Rating.reason, Rating.sipas_level, func.count())
        .where(Rating.flagged.is_(False))
        .group_by(Rating.reason, Rating.sipas_level),
        period,
    )
    query = _of_subject(query, unit_ids, None)
    return {(reason, level): count for reason, level, count in session.execute(query)}
