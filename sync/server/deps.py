"""FastAPI dependencies: the database session and who is calling.

A kiosk proves itself with `Authorization: Bearer <token>`; a person with the
signed session cookie set at login; an integration with `Authorization: Bearer
hlt_…` (an API token), which counts as its user on the JSON API only: pages are
for people, who have cookies, and a token leaked into a browser must not open them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hailong.i18n import _
from hailong.sync.server.api_tokens import user_by_api_token
from hailong.sync.server.auth import SESSION_COOKIE
from hailong.sync.server.fleet import kiosk_by_token
from hailong.sync.server.models import Kiosk, User
from hailong.sync.wire import API_PREFIX

_bearer = HTTPBearer(
    auto_error=False,
    description="The kiosk's token, from enrollment; or an API token (hlt_…) on the JSON API.",
)
_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="The session cookie set by /login."
)


class LoginRequired(Exception):
    """A page needs a logged-in person; the app answers with a redirect to /login."""

    def __init__(self, next_path: str):
        self.next_path = next_path


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """A time from a query string in UTC; no offset means UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise HTTPException(422, detail=_("the time {value} is out of range").format(
            value=value.isoformat())) from None


def client_address(request: Request) -> str | None:
    """The caller's address (the proxy's view when uvicorn trusts its headers)."""
    return request.client.host if request.client else None


# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` one on a
# worker thread, and under a burst of kiosk requests every such hop waits for the busy
# event loop to come round again (sync/bench_reconnect.py measured the hops, not the
# work, as most of an admitted request's time).
async def get_db(request: Request) -> AsyncIterator[Session]:
    # Making a session touches no database; it takes a connection when first used.
    session = request.app.state.sessions()
    try:
        yield session
    finally:
        if session.in_transaction():
            # A connection is still held: the rollback that frees it is database I/O.
            await run_in_threadpool(session.close)
        else:
            session.close()


DB = Annotated[Session, Depends(get_db)]


def optional_kiosk(
    db: DB, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Kiosk | None:
    if credentials is None:
        return None
    kiosk = kiosk_by_token(db, credentials.credentials)
    # Hand the connection back until the endpoint needs it: dependencies and endpoints
    # run on different worker threads, and holding it in between starved the pool
    # when a thousand kiosks came back at once (sync/bench_reconnect.py).
    db.commit()
    return kiosk


async def current_kiosk(kiosk: Annotated[Kiosk | None, Depends(optional_kiosk)]) -> Kiosk:
    if kiosk is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail=_("a valid kiosk token is required (Authorization: Bearer …)"),
            headers={"WWW-Authenticate": "Bearer"},
        )
    return kiosk


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX + "/")


def optional_user(
    request: Request,
    db: DB,
    cookie: Annotated[str | None, Depends(_cookie)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User | None:
    user: User | None = None
    if cookie:
        user_id = request.app.state.signer.loads(cookie)
        user = db.get(User, user_id) if user_id is not None else None
    elif credentials is not None and _is_api(request):
        user = user_by_api_token(db, credentials.credentials, utc_now())
    db.commit()  # the connection goes back to the pool, as in optional_kiosk
    return user if user is not None and user.active else None


async def api_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=_("log in first"))
    return user


async def page_user(
    request: Request, user: Annotated[User | None, Depends(optional_user)]
) -> User:
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return user


# Ids are 32-bit in the database; a larger one is a client error, not a crash.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
KioskCaller = Annotated[Kiosk, Depends(current_kiosk)]
MaybeKiosk = Annotated[Kiosk | None, Depends(optional_kiosk)]
ApiUser = Annotated[User, Depends(api_user)]
MaybeUser = Annotated[User | None, Depends(optional_user)]
PageUser = Annotated[User, Depends(page_user)]
PeriodStart = Annotated[
    datetime | None,
    Query(alias="from", description="Start (inclusive), ISO 8601; no offset means UTC."),
]
PeriodEnd = Annotated[
    datetime | None,
    Query(alias="to", description="End (exclusive), ISO 8601; no offset means UTC."),
]
