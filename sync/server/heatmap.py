"""The weekday × hour heatmap: how many valid ratings, and what SIPAS index, in
each hour of each weekday, in Vietnam time. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hailong.sync.server.scores import RatingPoint, Tally
from hailong.sync.server.scoring import sipas_index
from hailong.sync.server.trends import LOCAL_TZ

# Below this many valid ratings a cell shows its count but no index: two votes
# make a 0 % or 100 % that says nothing.
MIN_CELL_COUNT = 5
# The colour scale: index bands from worst to best (CSS classes heat-0 … heat-4).
BANDS = (50.0, 70.0, 85.0, 95.0)


@dataclass(frozen=True)
class Cell:
    weekday: int  # 0 = Monday
    hour: int
    valid: int
    sipas_index: float | None  # None below the minimum count
    band: int | None


@dataclass(frozen=True)
class Heatmap:
    rows: list[list[Cell]]  # seven weekdays of `hours` cells
    hours: list[int]
    min_count: int


def band(index: float) -> int:
    return sum(index >= edge for edge in BANDS)


def build_heatmap(points: Iterable[RatingPoint], min_count: int = MIN_CELL_COUNT) -> Heatmap:
    """Valid ratings by local weekday and hour; flagged ones are left out. Only the
    hours that hold a rating on some day are kept, so an office's 7:00–17:00 fits
    a phone."""
    if min_count < 1:
        raise ValueError(f"the minimum count is at least 1, got {min_count}")
    tallies: dict[tuple[int, int], Tally] = {}
    for point in points:
        if point.flagged:
            continue
        local = point.at.astimezone(LOCAL_TZ)
        tally = tallies.setdefault((local.weekday(), local.hour), Tally())
        tally.valid_by_level[point.sipas_level] += point.count
    hours = sorted({hour for _day, hour in tallies})
    rows = []
    for weekday in range(7):
        row = []
        for hour in hours:
            tally = tallies.get((weekday, hour), Tally())
            index = sipas_index(tally.valid_by_level) if tally.valid >= min_count else None
            row.append(Cell(weekday, hour, tally.valid, index,
                            None if index is None else band(index)))
        rows.append(row)
    return Heatmap(rows, hours, min_count)
