"""`/fleet`: every kiosk the person looks after, with its state from the last
heartbeat, backlog, versions, clock skew and sequence gaps. For technicians and
administrators, and supervisors for their own units. `/fleet/export` downloads
the table as CSV or XLSX."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from hailong.i18n import _
from hailong.sync.server import page_tables, scope, tables
from hailong.sync.server.deps import DB, PageUser, utc_now
from hailong.sync.server.heartbeat import fleet
from hailong.sync.server.models import User
from hailong.sync.server.web import LOCAL_TZ, PageError, check_csrf, render
from hailong.sync.wire import KioskStatus

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

Sort = Literal["state", "unit", "backlog", "skew", "missing", "id"]
# Worst first: what needs a visit comes to the top.
STATE_ORDER = {"offline": 0, "late": 1, "new": 2, "online": 3, "revoked": 4}

SORT_KEYS: dict[str, Callable[[KioskStatus], Any]] = {
    "state": lambda k: (STATE_ORDER[k.state], k.unit_name, k.counter_name, k.id),
    "unit": lambda k: (k.unit_name, k.counter_name, k.id),
    "backlog": lambda k: (-(k.backlog or 0), k.id),
    "skew": lambda k: (-abs(k.clock_skew_ms or 0), k.id),
    "missing": lambda k: (-k.missing, k.id),
    "id": lambda k: k.id,
}


def state_names() -> dict[str, str]:
    return {
        "online": _("Online"),
        "late": _("Late"),
        "offline": _("Offline"),
        "new": _("No heartbeat yet"),
        "revoked": _("Revoked"),
    }


def ago(moment: datetime | None, now: datetime) -> str:
    """How long ago, roughly, in the current language."""
    if moment is None:
        return "—"
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 120:
        return _("{count} s ago").format(count=seconds)
    if seconds < 2 * 3600:
        return _("{count} min ago").format(count=seconds // 60)
    if seconds < 2 * 86400:
        return _("{count} h ago").format(count=seconds // 3600)
    return _("{count} days ago").format(count=seconds // 86400)


def skew_text(skew_ms: int | None) -> str:
    if skew_ms is None:
        return "—"
    text = f"{skew_ms / 1000:+.1f}"
    return ("0.0" if text in ("+0.0", "-0.0") else text) + " s"


def _kiosks(user: User, db: Session, sort: Sort, now: datetime) -> list[KioskStatus]:
    if not scope.may_see_fleet(user):
        raise PageError(status.HTTP_403_FORBIDDEN, _("Your role does not look after kiosks."))
    return sorted(fleet(db, scope.visible_unit_ids(db, user), now), key=SORT_KEYS[sort])


SortParam = Annotated[Sort, Query()]


@router.get("/fleet", response_class=HTMLResponse)
def fleet_page(request: Request, user: PageUser, db: DB, sort: SortParam = "state") -> HTMLResponse:
    now = utc_now()
    kiosks = _kiosks(user, db, sort, now)
    return render(request, "fleet.html", user=user, kiosks=kiosks, sort=sort,
                  counts=Counter(k.state for k in kiosks), states=state_names(),
                  ago=lambda moment: ago(moment, now), skew=skew_text, local_tz=LOCAL_TZ)


@router.get("/fleet/export")
def fleet_export(
    request: Request, user: PageUser, db: DB, sort: SortParam = "state",
    fmt: Annotated[tables.Format, Query(alias="format")] = "csv",
) -> Response:
    made = page_tables.fleet_table(_kiosks(user, db, sort, utc_now()), state_names())
    return tables.page_download(request, db, user, made, fmt, "kiosks", f"sorted by {sort}")
