"""The audit log: logins, logouts, views of one officer's scores, exports and
configuration changes, with who, when and from where.

`record` is the one way in; pages and endpoints call it after the action they
log has been allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hailong.sync.server.models import User
from hailong.sync.server.models_oversight import AuditEntry

# The actions recorded so far; the /audit page offers them as filters.
ACTIONS = (
    "login",
    "login_failed",
    "login_locked",
    "logout",
    "officer_view",
    "export",
    "config",
)
PAGE_SIZE = 50


def _clip(text: str, length: int) -> str:
    return "".join(ch for ch in text if ch.isprintable())[:length]


def record(
    session: Session,
    actor: User | str | None,
    action: str,
    target: str = "",
    detail: str = "",
    *,
    client: str | None = None,
    at: datetime | None = None,
) -> None:
    """Add one entry and commit it. `actor` is the user, or a name for someone
    who is not (yet) a user, such as the username typed at a failed login."""
    if isinstance(actor, User):
        actor_id, name = actor.id, actor.username
    else:
        actor_id, name = None, actor or ""
    session.add(AuditEntry(
        at=at or datetime.now(UTC),
        actor_id=actor_id,
        actor=_clip(name, 64),
        action=_clip(action, 32),
        object=_clip(target, 200),
        detail=_clip(detail, 2000),
        client=_clip(client or "", 64),
    ))
    session.commit()


def period_detail(start: datetime | None, end: datetime | None) -> str:
    """The period a view or an export covered, for an entry's detail."""
    return "from {start} to {end}".format(
        start=start.isoformat() if start else "-", end=end.isoformat() if end else "-"
    )


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    page: int
    pages: int
    total: int


def entries(session: Session, action: str | None, page: int, size: int = PAGE_SIZE) -> AuditPage:
    """Page `page` (from 1) of the entries, newest first, of one action or all."""
    query = select(AuditEntry)
    counted = select(func.count()).select_from(AuditEntry)
    if action:
        query = query.where(AuditEntry.action == action)
        counted = counted.where(AuditEntry.action == action)
    total = session.scalar(counted) or 0
    pages = max(1, -(-total // size))
    page = min(max(page, 1), pages)
    rows = session.scalars(
        query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .offset((page - 1) * size).limit(size)
    )
    return AuditPage(list(rows), page, pages, total)
