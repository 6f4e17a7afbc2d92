"""The ratings export: `GET /ratings` as JSON pages or CSV, for the people who may
see scores, over their own units only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session

from hailong.i18n import _
from hailong.sync.server import audit, export, scope, xlsx
from hailong.sync.server.deps import (
    DB,
    ApiUser,
    PeriodEnd,
    PeriodStart,
    as_utc,
    client_address,
)
from hailong.sync.server.models import Counter, Officer
from hailong.sync.server.xlsx import XLSX_TYPE
from hailong.sync.wire import RatingPage

router = APIRouter()

CSV_TYPE = "text/csv; charset=utf-8"
DbId = Annotated[int | None, Query(ge=1, le=2**31 - 1)]


def _format(request: Request, format_: str | None) -> str:
    if format_ is not None:
        return format_
    accept = request.headers.get("accept", "")
    if xlsx.XLSX_TYPE in accept:
        return "xlsx"
    return "csv" if "text/csv" in accept else "json"


def _xlsx_rows(db: Session, where: export.ExportFilter, after: export.Cursor | None,
               limit: int | None) -> Iterator[list[Any]]:
    """Every rating after `after` (at most `limit`), a page at a time."""
    left = limit
    while left is None or left > 0:
        size = export.MAX_PAGE_LIMIT if left is None else min(left, export.MAX_PAGE_LIMIT)
        items, after = export.page(db, where, after, size)
        for item in items:
            yield [getattr(item, column) for column in export.CSV_COLUMNS]
        if after is None:
            return
        if left is not None:
            left -= len(items)


def _filter_detail(where: export.ExportFilter) -> str:
    parts = [audit.period_detail(where.start, where.end)]
    if where.officer_id is not None:
        parts.append(f"officer {where.officer_id}")
    if where.counter_id is not None:
        parts.append(f"counter {where.counter_id}")
    return ", ".join(parts)


@router.get(
    "/ratings",
    response_model=RatingPage,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}},
                          XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}}}},
        401: {"description": "Not logged in."},
        403: {"description": "This role cannot export ratings."},
        404: {"description": "No such officer or counter in the caller's units."},
        413: {"description": "More ratings than one Excel sheet holds."},
    },
)
def ratings(
    request: Request,
    user: ApiUser,
    db: DB,
    start: PeriodStart = None,
    end: PeriodEnd = None,
    officer_id: DbId = None,
    counter_id: DbId = None,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the previous page.")
    ] = None,
    limit: Annotated[
        int | None,
        Query(ge=1, le=export.MAX_PAGE_LIMIT,
              description=f"Ratings per page: {export.PAGE_LIMIT} by default for JSON; "
                          "a CSV holds every rating unless a limit is given."),
    ] = None,
    format_: Annotated[
        Literal["json", "csv", "xlsx"] | None,
        Query(alias="format", description="Overrides the Accept header (text/csv or the "
                                          "XLSX type)."),
    ] = None,
) -> Any:
    """The ratings of the caller's units, in the order the server received them,
    filtered by corrected time [from, to), officer and counter. A CSV is streamed;
    its `X-Next-Cursor` header names the next page when a limit cut it short. An
    XLSX holds the same columns, times in UTC. A first page is written to the
    audit log."""
    if not scope.may_export_ratings(user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=_("your role cannot export ratings"))
    if officer_id is not None:
        officer = db.get(Officer, officer_id)
        if officer is None or not scope.may_see_officer(db, user, officer):
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=_("no such officer"))
    if counter_id is not None:
        counter = db.get(Counter, counter_id)
        if counter is None or not scope.may_see_unit(db, user, counter.unit_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=_("no such counter"))
    try:
        after = export.Cursor.decode(cursor) if cursor is not None else None
    except export.InvalidCursor:
        raise HTTPException(422, detail=_("the cursor is not valid")) from None
    units = scope.visible_unit_ids(db, user)
    where = export.ExportFilter(
        unit_ids=None if units is None else frozenset(units),
        start=as_utc(start),
        end=as_utc(end),
        officer_id=officer_id,
        counter_id=counter_id,
    )
    chosen = _format(request, format_)
    if cursor is None:
        audit.record(db, user, "export", f"ratings ({chosen})",
                     _filter_detail(where), client=client_address(request))
    if chosen == "json":
        items, following = export.page(db, where, after, limit or export.PAGE_LIMIT)
        return RatingPage(items=items, next_cursor=following.encode() if following else None)
    if chosen == "xlsx":
        try:
            content = xlsx.workbook("ratings", export.CSV_COLUMNS,
                                    _xlsx_rows(db, where, after, limit))
        except xlsx.TooManyRows:
            raise HTTPException(
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                detail=_("more ratings than one Excel sheet holds; choose a shorter period "
                         "or export CSV"),
            ) from None
        return Response(content, media_type=xlsx.XLSX_TYPE,
                        headers={"Content-Disposition": 'attachment; filename="ratings.xlsx"'})

    headers = {"Content-Disposition": 'attachment; filename="ratings.csv"'}
    last = None
    if limit is not None:
        last, more = export.page_end(db, where, after, limit)
        if last is None:
            return Response(export.csv_header(), media_type=CSV_TYPE, headers=headers)
        if more:
            headers["X-Next-Cursor"] = last.encode()
    return StreamingResponse(
        export.csv_stream(request.app.state.sessions, where, after, last),
        media_type=CSV_TYPE,
        headers=headers,
    )
