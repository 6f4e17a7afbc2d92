"""The fleet API: kiosk heartbeats, the fleet listing and sequence gaps."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from starlette.concurrency import run_in_threadpool

from hailong.i18n import _
from hailong.sync.server import scope
from hailong.sync.server.deps import DB, ApiUser, KioskCaller, RowId, utc_now
from hailong.sync.server.gaps import GAPS_LIMIT, GAPS_MAX_LIMIT, kiosk_gaps
from hailong.sync.server.heartbeat import fleet, record_heartbeat
from hailong.sync.server.models import Counter, Kiosk, User
from hailong.sync.wire import Heartbeat, HeartbeatAck, KioskGaps, KioskStatus

router = APIRouter()

_FLEET_RESPONSES: dict[int | str, dict[str, str]] = {
    401: {"description": "Not logged in."},
    403: {"description": "This role does not look after kiosks."},
}


def _fleet_user(user: User) -> User:
    if not scope.may_see_fleet(user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=_("your role cannot see kiosks"))
    return user


@router.post(
    "/kiosk/heartbeat",
    response_model=HeartbeatAck,
    responses={401: {"description": "No valid kiosk token."}},
)
async def heartbeat(beat: Heartbeat, kiosk: KioskCaller, db: DB) -> HeartbeatAck:
    """The calling kiosk's state: app version, rating box, backlog and clock. The
    answer says how far the kiosk's clock is from the server's."""
    # Only the database work goes to a worker thread: as a plain `def`, the answer's
    # validation would take one more turn through the event loop, which a fleet
    # reconnecting at once keeps busy.
    return await run_in_threadpool(record_heartbeat, db, kiosk, beat, utc_now())


@router.get("/kiosks", response_model=list[KioskStatus], responses=_FLEET_RESPONSES)
def kiosks(user: ApiUser, db: DB) -> list[KioskStatus]:
    """The kiosks of the caller's units, with a state from their last heartbeat:
    `new` (none yet), `online`, `late`, `offline` or `revoked`."""
    return fleet(db, scope.visible_unit_ids(db, _fleet_user(user)), utc_now())


@router.get(
    "/kiosks/{kiosk_id}/gaps",
    response_model=KioskGaps,
    responses={**_FLEET_RESPONSES, 404: {"description": "No such kiosk in the caller's units."}},
)
def gaps(
    kiosk_id: RowId,
    user: ApiUser,
    db: DB,
    after: Annotated[
        int, Query(ge=0, le=2**62, description="List gaps holding numbers above this one.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=GAPS_MAX_LIMIT)] = GAPS_LIMIT,
) -> KioskGaps:
    """The kiosk's sequence numbers that never reached the database, as ranges."""
    _fleet_user(user)
    kiosk = db.get(Kiosk, kiosk_id)
    if kiosk is None or not scope.may_see_unit(
        db, user, db.get_one(Counter, kiosk.counter_id).unit_id
    ):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=_("no such kiosk"))
    return kiosk_gaps(db, kiosk.id, after, limit)
