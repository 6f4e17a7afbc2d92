"""`GET /scores`: the scoreboard of officers, counters, units or service fields
over a period, for the people who may see scores, over their own units only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel

from hailong.i18n import _
from hailong.sync.server import audit, scope, tables
from hailong.sync.server.deps import DB, ApiUser, PeriodEnd, PeriodStart, as_utc, client_address
from hailong.sync.server.scores import (
    Level,
    Period,
    scoreboard,
    tallies,
    targets_of,
    unit_names,
    visible_subjects,
)
from hailong.sync.server.xlsx import XLSX_TYPE

router = APIRouter()


class ScoreRow(BaseModel):
    """One officer, counter, unit or service field (the field's counters within
    one unit; its id is the smallest of theirs). `rank` is null when `valid` is
    below the board's `min_valid`: too few ratings to compare fairly."""

    id: int
    name: str
    unit_id: int
    unit_name: str
    ratings: int
    valid: int
    flagged: int
    by_sipas_level: dict[int, int]
    sipas_index: float | None
    decision766_rate: float | None
    sipas_interval: tuple[float, float] | None
    gap_to_target: float | None
    negatives_to_spare: int | None
    rank: int | None


class ScoreBoard(BaseModel):
    """`sipas_index`: (Hài lòng + Rất hài lòng) / valid × 100. `decision766_rate`:
    (valid − levels 1–2) / valid × 100. `sipas_interval`: Wilson 95 % interval of
    the SIPAS index. `gap_to_target`: index − target, in percentage points.
    `negatives_to_spare`: how many more not-satisfied ratings would keep the
    index at or above the target (null when below it already).
    Flagged ratings are counted apart and left out of every figure."""

    level: Level
    period_start: datetime | None
    period_end: datetime | None
    target_percent: float
    min_valid: int
    rows: list[ScoreRow]


TABLE_COLUMNS = (
    "rank", "id", "name", "unit_id", "unit_name", "ratings", "valid", "flagged",
    "sipas_index", "sipas_interval_low", "sipas_interval_high", "gap_to_target",
    "negatives_to_spare", "decision766_rate",
    *(f"sipas_level_{level}" for level in (5, 4, 3, 2, 1)),
)


def table_rows(rows: list[ScoreRow]) -> list[list[Any]]:
    """The board as the rows of a spreadsheet: one column per figure."""
    return [
        [row.rank, row.id, row.name, row.unit_id, row.unit_name, row.ratings, row.valid,
         row.flagged, row.sipas_index,
         row.sipas_interval[0] if row.sipas_interval else None,
         row.sipas_interval[1] if row.sipas_interval else None,
         row.gap_to_target, row.negatives_to_spare, row.decision766_rate,
         *(row.by_sipas_level.get(level, 0) for level in (5, 4, 3, 2, 1))]
        for row in rows
    ]


@router.get(
    "/scores",
    response_model=ScoreBoard,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}},
                          XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}}}},
        401: {"description": "Not logged in."},
        403: {"description": "This role sees no scores."},
    },
)
def scores(
    request: Request,
    user: ApiUser,
    db: DB,
    level: Level = "officer",
    start: PeriodStart = None,
    end: PeriodEnd = None,
    min_valid: Annotated[
        int | None,
        Query(ge=1, le=1_000_000,
              description="Fewest valid ratings to be ranked (default: the server's setting)."),
    ] = None,
    format_: Annotated[
        Literal["json", "csv", "xlsx"],
        Query(alias="format", description="The board as JSON, or its rows as CSV or XLSX."),
    ] = "json",
) -> Any:
    """Scores of the officers, counters, units or service fields of the caller's
    units over [from, to): ranked ones best first, then those with too few
    ratings. A CSV or XLSX file is written to the audit log."""
    if not scope.may_see_scores(user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=_("your role cannot see scores"))
    period = Period(as_utc(start), as_utc(end))
    goals = targets_of(request.app.state.settings)
    min_valid = min_valid or goals.min_valid
    subjects = visible_subjects(db, user, level)
    board = scoreboard(subjects, tallies(db, level, [s.id for s in subjects], period), min_valid,
                       goals.target)
    units = unit_names(db)
    rows = [ScoreRow(unit_name=units.get(row.unit_id, ""), **vars(row)) for row in board]
    if format_ == "json":
        return ScoreBoard(level=level, period_start=period.start, period_end=period.end,
                          target_percent=goals.target, min_valid=min_valid, rows=rows)
    audit.record(db, user, "export", f"scores of {level}s ({format_})",
                 audit.period_detail(period.start, period.end), client=client_address(request))
    table = tables.Table(f"{level}s", TABLE_COLUMNS, table_rows(rows))
    return tables.table_response(table, format_, f"scores-{level}s")
