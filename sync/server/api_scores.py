"""`GET /scores`: the scoreboard of officers, counters or units over a period,
for the people who may see scores, over their own units only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel

from hailong.i18n import _
from hailong.sync.server import scope
from hailong.sync.server.deps import DB, ApiUser, PeriodEnd, PeriodStart, as_utc
from hailong.sync.server.scores import (
    Level,
    Period,
    scoreboard,
    tallies,
    unit_names,
    visible_subjects,
)
from hailong.sync.server.scoring import MIN_RANKED_VALID, SIPAS_TARGET_PERCENT

router = APIRouter()


class ScoreRow(BaseModel):
    """One officer, counter or unit. `rank` is null when `valid` is below the
    board's `min_valid`: too few ratings to compare fairly."""

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


@router.get(
    "/scores",
    response_model=ScoreBoard,
    responses={
        401: {"description": "Not logged in."},
        403: {"description": "This role sees no scores."},
    },
)
def scores(
    user: ApiUser,
    db: DB,
    level: Level = "officer",
    start: PeriodStart = None,
    end: PeriodEnd = None,
    min_valid: Annotated[
        int, Query(ge=1, le=1_000_000, description="Fewest valid ratings to be ranked.")
    ] = MIN_RANKED_VALID,
) -> ScoreBoard:
    """Scores of the officers, counters or units of the caller's units over
    [from, to): ranked ones best first, then those with too few ratings."""
    if not scope.may_see_scores(user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=_("your role cannot see scores"))
    period = Period(as_utc(start), as_utc(end))
    subjects = visible_subjects(db, user, level)
    board = scoreboard(subjects, tallies(db, level, [s.id for s in subjects], period), min_valid)
    units = unit_names(db)
    return ScoreBoard(
        level=level,
        period_start=period.start,
        period_end=period.end,
        target_percent=SIPAS_TARGET_PERCENT,
        min_valid=min_valid,
        rows=[ScoreRow(unit_name=units.get(row.unit_id, ""), **vars(row)) for row in board],
    )

