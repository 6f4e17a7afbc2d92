"""Trends of the SIPAS index and the Decision 766 rate per day, week or month,
read against the target and the city average. Pure: ratings and dates come in,
figures and the chart's geometry go out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, get_args

from hailong.sync.server.scores import LOCAL_TZ, Period, RatingPoint, Tally
from hailong.sync.server.scoring import (
    decision766_rate,
    gap_to_target,
    negatives_to_spare,
    sipas_index,
)

Granularity = Literal["day", "week", "month"]
GRANULARITIES: tuple[Granularity, ...] = get_args(Granularity)
# More buckets than this make an unreadable chart and a slow page.
MAX_BUCKETS = 400

# The chart's drawing box in SVG user units (it scales to the page width).
CHART_WIDTH = 360.0
CHART_TOP = 10.0
CHART_BASE = 130.0
CHART_LEFT = 16.0


def bucket_of(day: date, granularity: Granularity) -> date:
    """The first day of the day, ISO week (Monday) or month holding `day`."""
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def next_bucket(first: date, granularity: Granularity) -> date:
    if granularity == "week":
        return first + timedelta(days=7)
    if granularity == "month":
        return date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first + timedelta(days=1)


def buckets(start: date, end: date, granularity: Granularity) -> list[date]:
    """The buckets from the one holding `start` to the one holding `end`."""
    if end < start:
        raise ValueError(f"the range ends ({end}) before it starts ({start})")
    found = [bucket_of(start, granularity)]
    while (following := next_bucket(found[-1], granularity)) <= end:
        found.append(following)
        if len(found) > MAX_BUCKETS:
            raise ValueError(f"more than {MAX_BUCKETS} {granularity}s: pick a coarser step")
    return found


def local_day(at: datetime) -> date:
    return at.astimezone(LOCAL_TZ).date()


def local_period(start: date, end: date) -> Period:
    """Local days `start` to `end` inclusive, as a UTC period."""
    def utc(day: date) -> datetime:
        return datetime.combine(day, time(), LOCAL_TZ).astimezone(UTC)
    return Period(utc(start), utc(end + timedelta(days=1)))


def tally_points(points: Iterable[RatingPoint]) -> Tally:
    tally = Tally()
    for point in points:
        if point.flagged:
            tally.flagged += point.count
        else:
            tally.valid_by_level[point.sipas_level] += point.count
    return tally


@dataclass(frozen=True)
class TrendPoint:
    bucket: date
    valid: int
    flagged: int
    sipas_index: float | None
    decision766_rate: float | None
    gap: float | None
    # Where the point sits on the chart, in SVG units.
    x: float
    y_sipas: float | None
    y_766: float | None


@dataclass(frozen=True)
class Trend:
    granularity: Granularity
    points: list[TrendPoint]
    total: Tally
    sipas_index: float | None
    decision766_rate: float | None
    gap: float | None
    target: float
    city_average: float | None
    # The lines of the chart: runs of consecutive buckets with an index.
    sipas_lines: list[str]
    d766_lines: list[str]
    target_y: float
    city_y: float | None


# A bucket with fewer valid ratings is in the table but not on the chart: one rating
# would swing the line between 0 % and 100 %.
MIN_PLOTTED = 5


def chart_y(percent: float) -> float:
    return CHART_BASE - percent / 100 * (CHART_BASE - CHART_TOP)


def _polylines(xs: list[float], ys: list[float | None]) -> list[str]:
    """SVG `points` attributes, one per run of buckets that have a value."""
    lines: list[list[str]] = []
    previous_missing = True
    for x, y in zip(xs, ys, strict=True):
        if y is None:
            previous_missing = True
            continue
        if previous_missing:
            lines.append([])
        lines[-1].append(f"{x:.1f},{y:.1f}")
        previous_missing = False
    return [" ".join(line) for line in lines]


def build_trend(
    points: Iterable[RatingPoint],
    start: date,
    end: date,
    granularity: Granularity,
    target: float,
    city_average: float | None = None,
    min_plotted: int = MIN_PLOTTED,
) -> Trend:
    """The figures per bucket from `start` to `end` (local days, inclusive); a bucket
    with fewer than `min_plotted` valid ratings is left off the chart's lines."""
    slots = buckets(start, end, granularity)
    grouped: dict[date, list[RatingPoint]] = {slot: [] for slot in slots}
    for point in points:
        slot = bucket_of(local_day(point.at), granularity)
        if slot in grouped:
            grouped[slot].append(point)
    step = (CHART_WIDTH - 2 * CHART_LEFT) / max(1, len(slots) - 1)
    figures = []
    total = Tally()
    for number, slot in enumerate(slots):
        tally = tally_points(grouped[slot])
        total.add(tally)
        index = sipas_index(tally.valid_by_level)
        rate = decision766_rate(tally.valid_by_level)
        x = CHART_LEFT + number * step if len(slots) > 1 else CHART_WIDTH / 2
        plotted = tally.valid >= min_plotted
        figures.append(TrendPoint(
            slot, tally.valid, tally.flagged, index, rate, gap_to_target(index, target), x,
            chart_y(index) if plotted and index is not None else None,
            chart_y(rate) if plotted and rate is not None else None,
        ))
    xs = [p.x for p in figures]
    total_index = sipas_index(total.valid_by_level)
    return Trend(
        granularity, figures, total, total_index, decision766_rate(total.valid_by_level),
        gap_to_target(total_index, target), target, city_average,
        _polylines(xs, [p.y_sipas for p in figures]), _polylines(xs, [p.y_766 for p in figures]),
        chart_y(target), None if city_average is None else chart_y(city_average),
    )


def month_headroom(points: Iterable[RatingPoint], today: date, target: float) -> int | None:
    """How many more not-satisfied ratings this local month could take with the
    index still at or above `target` (None: no rating yet, or already below)."""
    first = today.replace(day=1)
    tally = tally_points(p for p in points if bucket_of(local_day(p.at), "month") == first)
    return negatives_to_spare(tally.satisfied, tally.valid, target)


def half_year(code: str) -> tuple[date, date]:
    """`2026-H1` → (1 January, 30 June 2026); `2026-H2` → (1 July, 31 December)."""
    year_text, sep, half = code.partition("-H")
    if not (sep and year_text.isdigit() and len(year_text) == 4 and half in ("1", "2")):
        raise ValueError(f"a half-year is written like 2026-H1, got {code!r}")
    year = int(year_text)
    if not 1900 < year < 9999:
        raise ValueError(f"the year {year} is out of range")
    if half == "1":
        return date(year, 1, 1), date(year, 6, 30)
    return date(year, 7, 1), date(year, 12, 31)


def previous_half(code: str) -> str:
    start, _end = half_year(code)
    return f"{start.year - 1}-H2" if start.month == 1 else f"{start.year}-H1"


def half_of(day: date) -> str:
    return f"{day.year}-H{1 if day.month <= 6 else 2}"
