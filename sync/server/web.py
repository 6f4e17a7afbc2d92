"""The supervisor's pages: login, the officers of their units with scores, and
one officer's score. Server-rendered, every asset shipped with the package.

Every page router depends on `check_csrf` and renders with `render`, which puts
the form token (`csrf_token`) in every template. Logins are throttled
(throttle.py); logins, logouts and views of one officer are audited (audit.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import URLSafeSerializer
from sqlalchemy.orm import Session

from hailong.i18n import _, current_language
from hailong.sync.server import audit, csrf, scope, throttle
from hailong.sync.server.auth import SESSION_COOKIE, authenticate
from hailong.sync.server.deps import DB, MaybeUser, PageUser, RowId, client_address, utc_now
from hailong.sync.server.models import Officer, Unit, User
from hailong.sync.server.scores import (
    Period,
    officer_scores,
    scoreboard,
    sipas_interval,
    tallies,
    targets_of,
    unit_names,
    visible_subjects,
)
from hailong.sync.server.scoring import gap_to_target
from hailong.sync.wire import API_PREFIX, Score

# Vietnam keeps UTC+7 all year: the days a supervisor picks are local days.
LOCAL_TZ = timezone(timedelta(hours=7), "ICT")

CSRF_SALT = "hailong-csrf"


class PageError(Exception):
    """Shown to the person as an error page with this status."""

    def __init__(self, status_code: int, message: str):
        self.status_code = status_code
        self.message = message


def _csrf_signer(request: Request) -> URLSafeSerializer:
    return request.app.state.signer.for_purpose(CSRF_SALT)


async def check_csrf(request: Request) -> None:
    """Every page router depends on this: a post must carry the form's token."""
    if request.method in csrf.SAFE_METHODS:
        return
    form = await request.form()
    token = form.get(csrf.CSRF_FIELD)
    if not csrf.token_matches(
        _csrf_signer(request),
        token if isinstance(token, str) else None,
        request.cookies.get(csrf.CSRF_COOKIE),
        request.cookies.get(SESSION_COOKIE),
    ):
        raise PageError(
            status.HTTP_403_FORBIDDEN,
            _("This form has expired or was not sent from this site. "
              "Go back, reload the page and try again."),
        )


router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])


def set_cookie(request: Request, response: Response, name: str, value: str,
               max_age: int | None = None) -> None:
    """A cookie scripts cannot read, kept on this site, sent over https only when
    the site is served over https."""
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/")


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The page, with a form token for this browser (and its nonce cookie on first visit)."""
    nonce = request.cookies.get(csrf.CSRF_COOKIE)
    fresh = not csrf.usable_nonce(nonce)
    if fresh:
        nonce = csrf.new_nonce()
    assert nonce is not None
    token = csrf.make_token(_csrf_signer(request), nonce, request.cookies.get(SESSION_COOKIE))
    env = request.app.state.templates
    page = env.get_template(template).render(
        request=request, lang=current_language(), csrf_token=token, scope=scope, **context
    )
    response = HTMLResponse(page, status_code=status_code)
    if fresh:
        set_cookie(request, response, csrf.CSRF_COOKIE, nonce)
    return response


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to another host."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def level_names() -> dict[int, str]:
    """SIPAS levels from best to worst, in the current language."""
    return {
        5: _("Very satisfied"),
        4: _("Satisfied"),
        3: _("Neutral"),
        2: _("Dissatisfied"),
        1: _("Very dissatisfied"),
    }


def period_of(start: date | None, end: date | None) -> Period:
    try:
        return Period(
            datetime.combine(start, time(), LOCAL_TZ).astimezone(UTC) if start else None,
            datetime.combine(end + timedelta(days=1), time(), LOCAL_TZ).astimezone(UTC)
            if end
            else None,
        )
    except OverflowError:
        message = _("Pick dates between 0002 and 9998.")
        raise PageError(status.HTTP_400_BAD_REQUEST, message) from None


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, user: MaybeUser, next: str | None = None) -> Any:
    if user is not None:
        return RedirectResponse(_safe_next(next), status.HTTP_303_SEE_OTHER)
    return render(request, "login.html", next=_safe_next(next), error=None, username="")


def _retry_message(until: datetime, now: datetime) -> str:
    minutes = max(1, -(-int((until - now).total_seconds()) // 60))
    return _("Too many failed logins. Try again after {time} (in {minutes} min).").format(
        time=until.astimezone(LOCAL_TZ).strftime("%H:%M"), minutes=minutes
    )


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    db: DB,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Any:
    name = username.strip()
    address = client_address(request)
    now = utc_now()

    def refuse(status_code: int, message: str) -> HTMLResponse:
        return render(request, "login.html", status_code=status_code, next=_safe_next(next),
                      error=message, username=username)

    until = throttle.locked_until(db, name, address, now)
    if until is not None:
        audit.record(db, name, "login_locked", client=address, at=now)
        return refuse(status.HTTP_429_TOO_MANY_REQUESTS, _retry_message(until, now))
    user = authenticate(db, name, password)
    if user is None:
        throttle.record_failure(db, name, address, now)
        audit.record(db, name, "login_failed", client=address, at=now)
        until = throttle.locked_until(db, name, address, now)
        if until is not None:
            return refuse(status.HTTP_429_TOO_MANY_REQUESTS, _retry_message(until, now))
        return refuse(status.HTTP_401_UNAUTHORIZED, _("Wrong username or password."))
    throttle.forget_user(db, name)
    audit.record(db, user, "login", client=address, at=now)
    response = RedirectResponse(_safe_next(next), status.HTTP_303_SEE_OTHER)
    signer = request.app.state.signer
    set_cookie(request, response, SESSION_COOKIE, signer.dumps(user.id), signer.max_age_s)
    return response


@router.post("/logout")
def logout(request: Request, db: DB, user: MaybeUser) -> RedirectResponse:
    if user is not None:
        audit.record(db, user, "logout", client=client_address(request))
    response = RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def require_scores(user: User) -> None:
    if not scope.may_see_scores(user):
        raise PageError(status.HTTP_403_FORBIDDEN, _("Your role cannot see scores."))


def export_url(period: Period, path: str = "/ratings", fmt: str = "csv") -> str:
    """An export (the ratings, or the scores table) of the page's period."""
    params = {"format": fmt}
    if period.start is not None:
        params["from"] = period.start.isoformat()
    if period.end is not None:
        params["to"] = period.end.isoformat()
    return f"{API_PREFIX}{path}?{urlencode(params)}"


def export_urls(period: Period) -> dict[str, str]:
    return {
        f"{name}-{fmt}": export_url(period, path, fmt)
        for name, path in (("ratings", "/ratings"), ("officers", "/scores"))
        for fmt in ("csv", "xlsx")
    }


@router.get("/", response_class=HTMLResponse)
def officers_page(
    request: Request,
    user: PageUser,
    db: DB,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> Response:
    if not scope.may_see_scores(user) and scope.may_see_fleet(user):
        return RedirectResponse("/fleet", status.HTTP_303_SEE_OTHER)
    require_scores(user)
    period = period_of(start, end)
    goals = targets_of(request.app.state.settings)
    boards = {}
    for level in ("officer", "unit", "field"):
        subjects = visible_subjects(db, user, level)
        boards[level] = scoreboard(subjects, tallies(db, level, [s.id for s in subjects], period),
                                   goals.min_valid, goals.target)
    photos = {o.id: o for o in scope.visible_officers(db, user)}
    return render(request, "officers.html", user=user, rows=boards["officer"],
                  units=boards["unit"], fields=boards["field"], officers=photos,
                  unit_names=unit_names(db),
                  several_units=len({row.unit_id for row in boards["officer"]}) > 1,
                  start=start, end=end, target=goals.target,
                  min_valid=goals.min_valid, exports=export_urls(period))


def officer_score(
    db: Session, user: User, officer_id: int, start: date | None, end: date | None
) -> tuple[Officer, Period, Score]:
    """The officer `user` asks for, the period and the officer's score over it; 403
    for a role without scores, 404 for an officer out of the user's units."""
    require_scores(user)
    officer = db.get(Officer, officer_id)
    if officer is None or not scope.may_see_officer(db, user, officer):
        raise PageError(status.HTTP_404_NOT_FOUND, _("There is no such officer."))
    period = period_of(start, end)
    return officer, period, officer_scores(db, [officer], period)[officer.id]


@router.get("/officers/{officer_id}", response_class=HTMLResponse)
def officer_page(
    officer_id: RowId,
    request: Request,
    user: PageUser,
    db: DB,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> HTMLResponse:
    officer, period, score = officer_score(db, user, officer_id, start, end)
    goals = targets_of(request.app.state.settings)
    audit.record(db, user, "officer_view", f"officer {officer.id}",
                 audit.period_detail(period.start, period.end), client=client_address(request))
    unit = db.get_one(Unit, officer.unit_id)
    levels = [
        {"level": level, "name": name, "count": score.by_sipas_level[level],
         "share": score.by_sipas_level[level] / score.valid * 100 if score.valid else None}
        for level, name in level_names().items()
    ]
    return render(request, "officer.html", user=user, officer=officer, unit=unit, score=score,
                  levels=levels, interval=sipas_interval(score), start=start, end=end,
                  gap=gap_to_target(score.sipas_index, goals.target),
                  target=goals.target)
