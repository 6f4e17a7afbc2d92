"""The public transparency page: each unit's SIPAS index over the last 12 months
and its month-by-month trend. Units only: no officer, no comment, no login."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from hailong.sync.server.deps import DB
from hailong.sync.server.models import Counter, Unit
from hailong.sync.server.scores import Period, Tally, tallies, targets_of
from hailong.sync.server.scoring import decision766_rate, sipas_index, wilson_interval
from hailong.sync.server.web import LOCAL_TZ, render

MONTHS = 12
# The trend chart's drawing box, in SVG user units (it scales to the page width).
CHART_WIDTH = 360
CHART_TOP = 10
CHART_BASE = 130
CHART_SLOT = CHART_WIDTH // MONTHS

router = APIRouter(include_in_schema=False)


def last_months(today: date, count: int = MONTHS) -> list[date]:
    """The first days of the `count` months up to and including today's, oldest first."""
    months = []
    year, month = today.year, today.month
    for _step in range(count):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def local_month(first: date) -> Period:
    """A calendar month in Vietnam time, as a UTC period."""
    def utc(day: date) -> datetime:
        return datetime.combine(day, time(), LOCAL_TZ).astimezone(UTC)
    return Period(utc(first), utc(next_month(first)))


def chart_y(percent: float) -> float:
    return CHART_BASE - percent / 100 * (CHART_BASE - CHART_TOP)


@dataclass(frozen=True)
class MonthFigure:
    month: date
    valid: int
    sipas_index: float | None
    decision766_rate: float | None
    # The bar of the trend chart (x, top y, height), in SVG units.
    x: float
    y: float
    height: float


@dataclass(frozen=True)
class UnitTrend:
    id: int
    name: str
    valid: int
    flagged: int
    sipas_index: float | None
    decision766_rate: float | None
    sipas_interval: tuple[float, float] | None
    months: list[MonthFigure]


def unit_trend(unit: Unit, months: list[date], by_month: list[Tally]) -> UnitTrend:
    """The figures of one unit from its monthly tallies (pure)."""
    total = Tally()
    figures = []
    for slot, (month, tally) in enumerate(zip(months, by_month, strict=True)):
        total.add(tally)
        index = sipas_index(tally.valid_by_level)
        top = chart_y(index or 0.0)
        figures.append(MonthFigure(month, tally.valid, index,
                                   decision766_rate(tally.valid_by_level),
                                   slot * CHART_SLOT + 4, top, CHART_BASE - top))
    return UnitTrend(unit.id, unit.name, total.valid, total.flagged,
                     sipas_index(total.valid_by_level), decision766_rate(total.valid_by_level),
                     wilson_interval(total.satisfied, total.valid), figures)


def public_trends(db: DB, today: date) -> tuple[list[date], list[UnitTrend]]:
    """Every unit with counters and ratings in the last 12 months, by name."""
    months = last_months(today)
    units = list(db.scalars(
        select(Unit).where(Unit.id.in_(select(Counter.unit_id))).order_by(Unit.name, Unit.id)
    ))
    ids = [u.id for u in units]
    monthly = [tallies(db, "unit", ids, local_month(month)) for month in months]
    trends = [unit_trend(u, months, [counts[u.id] for counts in monthly]) for u in units]
    return months, [t for t in trends if t.valid + t.flagged > 0]


@router.get("/public", response_class=HTMLResponse)
def public_page(request: Request, db: DB) -> HTMLResponse:
    months, trends = public_trends(db, datetime.now(LOCAL_TZ).date())
    goals = targets_of(request.app.state.settings)
    return render(request, "public.html", user=None, units=trends, months=months,
                  target=goals.target, target_y=chart_y(goals.target),
                  city_average=goals.city_average, chart_y=chart_y,
                  chart_width=CHART_WIDTH, chart_base=CHART_BASE, bar_width=CHART_SLOT - 8)
