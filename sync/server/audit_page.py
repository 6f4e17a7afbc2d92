"""`/audit`: the audit log, for administrators only, newest first, paged and
filtered by action."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import HTMLResponse

from hailong.i18n import _
from hailong.sync.server import audit, scope
from hailong.sync.server.deps import DB, PageUser
from hailong.sync.server.web import LOCAL_TZ, PageError, check_csrf, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])


def action_names() -> dict[str, str]:
    return {
        "login": _("Logged in"),
        "login_failed": _("Failed login"),
        "login_locked": _("Login refused while locked"),
        "logout": _("Logged out"),
        "officer_view": _("Viewed an officer's scores"),
        "export": _("Exported"),
        "config": _("Changed the configuration"),
    }


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    user: PageUser,
    db: DB,
    action: Annotated[str | None, Query(max_length=32)] = None,
    page: Annotated[int, Query(ge=1, le=10**6)] = 1,
) -> HTMLResponse:
    if not scope.may_read_audit(user):
        raise PageError(status.HTTP_403_FORBIDDEN, _("Only administrators can read the audit log."))
    chosen = action if action in audit.ACTIONS else None
    found = audit.entries(db, chosen, page)
    return render(request, "audit.html", user=user, found=found, action=chosen,
                  actions=action_names(), local_tz=LOCAL_TZ)
