"""`/audit`: the audit log, for administrators only, newest first, paged and
filtered by action; `/audit/export` downloads every entry of the filter."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import HTMLResponse, Response

from hailong.i18n import _
from hailong.sync.server import audit, page_tables, scope, tables
from hailong.sync.server.deps import DB, PageUser
from hailong.sync.server.models import User
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


ActionParam = Annotated[str | None, Query(max_length=32)]
EXPORT_PAGE = 1000


def _chosen(user: User, action: str | None) -> str | None:
    if not scope.may_read_audit(user):
        raise PageError(status.HTTP_403_FORBIDDEN, _("Only administrators can read the audit log."))
    return action if action in audit.ACTIONS else None


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    user: PageUser,
    db: DB,
    action: ActionParam = None,
    page: Annotated[int, Query(ge=1, le=10**6)] = 1,
) -> HTMLResponse:
    chosen = _chosen(user, action)
    found = audit.entries(db, chosen, page)
    return render(request, "audit.html", user=user, found=found, action=chosen,
                  actions=action_names(), local_tz=LOCAL_TZ)


@router.get("/audit/export")
def audit_export(
    request: Request, user: PageUser, db: DB, action: ActionParam = None,
    fmt: Annotated[tables.Format, Query(alias="format")] = "csv",
) -> Response:
    """Every entry of the chosen action (all pages), newest first."""
    chosen = _chosen(user, action)
    found = audit.entries(db, chosen, 1, EXPORT_PAGE)
    entries = list(found.entries)
    for number in range(2, found.pages + 1):
        entries.extend(audit.entries(db, chosen, number, EXPORT_PAGE).entries)
    made = page_tables.audit_table(entries, action_names())
    return tables.page_download(request, db, user, made, fmt, "audit-log",
                                f"action {chosen or 'any'}")
