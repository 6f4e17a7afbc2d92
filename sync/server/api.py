"""The JSON API under /api/v1: enrollment, configuration, ratings upload, photos
and officer scores. The fleet and the ratings export have their own modules."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from hailong.i18n import _
from hailong.sync.server import audit, fleet, metrics, scope
from hailong.sync.server.deps import (
    DB,
    ApiUser,
    KioskCaller,
    MaybeKiosk,
    MaybeUser,
    PeriodEnd,
    PeriodStart,
    RowId,
    as_utc,
    client_address,
    utc_now,
)
from hailong.sync.server.ingest import ingest_batch
from hailong.sync.server.ingest_rules import TooManyItems, parse_batch_json
from hailong.sync.server.models import Counter, Officer
from hailong.sync.server.scores import Period, officer_scores
from hailong.sync.wire import (
    Batch,
    BatchResult,
    EnrollRequest,
    EnrollResponse,
    KioskConfig,
    Score,
    batch_result_json,
)

router = APIRouter()


@router.post(
    "/enroll",
    response_model=EnrollResponse,
    responses={403: {"description": "The code is unknown, used or expired."}},
)
def enroll(body: EnrollRequest, db: DB, request: Request) -> EnrollResponse:
    """Trade a one-time enrollment code for this kiosk's credential. The token in
    the answer is shown once; the server keeps only its hash."""
    try:
        kiosk, token = fleet.enroll(db, body.code, body.app_version, body.hostname, utc_now())
    except fleet.EnrollmentRefused as refusal:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=str(refusal)) from None
    config = fleet.kiosk_config(db, kiosk, request.app.state.kiosk_policy)
    return EnrollResponse(kiosk_id=kiosk.id, token=token, config=config)


@router.get("/kiosk/config", response_model=KioskConfig)
def kiosk_config(kiosk: KioskCaller, db: DB, request: Request) -> KioskConfig:
    """Where the calling kiosk stands, the active officers of that unit, and the
    scale, reasons, texts and opening hours it is to use."""
    config = fleet.kiosk_config(db, kiosk, request.app.state.kiosk_policy)
    kiosk.last_seen_at = utc_now()
    db.commit()
    return config


@router.get(
    "/officers/{officer_id}/photo",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}}}},
)
def officer_photo(
    officer_id: RowId, request: Request, db: DB, kiosk: MaybeKiosk, user: MaybeUser
) -> Response:
    """An officer's photo, for a kiosk of the officer's unit or a person who may
    see the officer."""
    if kiosk is None and user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=_("log in first"))
    officer = db.get(Officer, officer_id)
    if kiosk is not None:
        allowed = officer is not None and (
            officer.unit_id == db.get_one(Counter, kiosk.counter_id).unit_id
        )
    else:
        assert user is not None
        allowed = officer is not None and scope.may_see_officer(db, user, officer)
    if not allowed or officer is None or officer.photo is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=_("no such photo"))
    etag = f'"{officer.photo_sha256}"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=86400"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(officer.photo, media_type=officer.photo_content_type, headers=headers)


async def raw_body(request: Request) -> bytes:
    """The request body as received, validated in `upload_batch` item by item."""
    return await request.body()


@router.post(
    "/ratings/batches",
    response_model=BatchResult,
    responses={
        413: {"description": "The body or the number of items is over the limit."},
        401: {"description": "No valid kiosk token."},
        429: {"description": "Too many uploads from this kiosk; wait `Retry-After` seconds."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Batch"}}},
        }
    },
)
def upload_batch(
    kiosk: KioskCaller, request: Request, db: DB, body: Annotated[bytes, Depends(raw_body)]
) -> Response:
    """Store a batch of ratings. Each item gets its own result: `accepted`,
    `duplicate` (already stored with the same content), `conflict` (its id or
    sequence number is taken by different content) or `rejected` (with a reason).
    The kiosk is the one the token names, whatever the body says."""
    received_at = utc_now()
    wait = request.app.state.batch_limiter.retry_after(kiosk.id, time.monotonic())
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=_("too many uploads from this kiosk; try again in {seconds} s").format(
                seconds=wait
            ),
            headers={"Retry-After": str(wait)},
        )
    try:
        batch, entries = parse_batch_json(body, request.app.state.settings.max_batch_items)
    except TooManyItems as exc:
        raise HTTPException(
            413,
            detail=_("a batch may hold at most {limit} items; this one has {count}").format(
                limit=exc.limit, count=exc.count
            ),
        ) from None
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_context=False)) from None
    except ValueError as exc:
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body",), "msg": f"JSON decode error: {exc}"}]
        ) from None
    verdicts = ingest_batch(db, kiosk, batch, entries, received_at)
    metrics.count_ingest(verdicts)
    # The answer is BatchResult's JSON (as documented above), written in one go: a
    # model per item, validated again on the way out, cost more than storing them.
    return Response(batch_result_json(verdicts), media_type="application/json")


@router.get(
    "/officers/{officer_id}/score",
    response_model=Score,
    responses={
        401: {"description": "Not logged in."},
        403: {"description": "This role sees no scores."},
        404: {"description": "No such officer, or not in the caller's units."},
    },
)
def officer_score(
    officer_id: RowId,
    user: ApiUser,
    db: DB,
    request: Request,
    start: PeriodStart = None,
    end: PeriodEnd = None,
) -> Score:
    """An officer's score by both official formulas over [from, to)."""
    if not scope.may_see_scores(user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=_("your role cannot see scores"))
    officer = db.get(Officer, officer_id)
    if officer is None or not scope.may_see_officer(db, user, officer):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=_("no such officer"))
    period = Period(as_utc(start), as_utc(end))
    audit.record(db, user, "officer_view", f"officer {officer.id}",
                 audit.period_detail(period.start, period.end), client=client_address(request))
    return officer_scores(db, [officer], period)[officer.id]


def add_batch_schema(openapi: dict[str, Any]) -> dict[str, Any]:
    """Put `Batch` (read by hand in `upload_batch`) into the OpenAPI components."""
    schema = Batch.model_json_schema(ref_template="#/components/schemas/{model}")
    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    components.update(schema.pop("$defs", {}))
    components["Batch"] = schema
    return openapi
