"""The supervisor's pages: login, the officers of their units with scores, and
one officer's score. Server-rendered, every asset shipped with the package."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse

from hailong.i18n import _, current_language
from hailong.sync.server import scope
from hailong.sync.server.auth import SESSION_COOKIE, authenticate
from hailong.sync.server.deps import DB, MaybeUser, PageUser, RowId
from hailong.sync.server.models import Officer, Unit, User
from hailong.sync.server.scores import (
    Period,
    officer_scores,
    scoreboard,
    sipas_interval,
    tallies,
    unit_names,
    visible_subjects,
)
from hailong.sync.server.scoring import MIN_RANKED_VALID, SIPAS_TARGET_PERCENT, gap_to_target
from hailong.sync.wire import API_PREFIX

# Vietnam keeps UTC+7 all year: the days a supervisor picks are local days.
LOCAL_TZ = timezone(timedelta(hours=7), "ICT")

router = APIRouter(include_in_schema=False)


class PageError(Exception):
    """Shown to the person as an error page with this status."""

    def __init__(self, status_code: int, message: str):
        self.status_code = status_code
        self.message = message


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    env = request.app.state.templates
    page = env.get_template(template).render(request=request, lang=current_language(), **context)
    return HTMLResponse(page, status_code=status_code)


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


def _period(start: date | None, end: date | None) -> Period:
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


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    db: DB,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Any:
    user = authenticate(db, username.strip(), password)
    if user is None:
        return render(
            request,
            "login.html",
            status_code=status.HTTP_401_UNAUTHORIZED,
            next=_safe_next(next),
            error=_("Wrong username or password."),
            username=username,
        )
    response = RedirectResponse(_safe_next(next), status.HTTP_303_SEE_OTHER)
    signer = request.app.state.signer
    response.set_cookie(
        SESSION_COOKIE,
        signer.dumps(user.id),
        max_age=signer.max_age_s,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
def logout() -> RedirectResponse:
    response = RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _require_scores(user: User) -> None:
    if not scope.may_see_scores(user):
        raise PageError(status.HTTP_403_FORBIDDEN, _("Your role cannot see scores."))


def export_url(period: Period) -> str:
    """The CSV export of the ratings behind the page's period."""
    params = {"format": "csv"}
    if period.start is not None:
        params["from"] = period.start.isoformat()
    if period.end is not None:
        params["to"] = period.end.isoformat()
    return f"{API_PREFIX}/ratings?{urlencode(params)}"


@router.get("/", response_class=HTMLResponse)
def officers_page(
    request: Request,
    user: PageUser,
    db: DB,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> HTMLResponse:
    _require_scores(user)
    period = _period(start, end)
    boards = {}
    for level in ("officer", "unit"):
        subjects = visible_subjects(db, user, level)
        boards[level] = scoreboard(subjects, tallies(db, level, [s.id for s in subjects], period))
    photos = {o.id: o for o in scope.visible_officers(db, user)}
    return render(request, "officers.html", user=user, rows=boards["officer"],
                  units=boards["unit"], officers=photos, unit_names=unit_names(db),
                  several_units=len({row.unit_id for row in boards["officer"]}) > 1,
                  start=start, end=end, target=SIPAS_TARGET_PERCENT,
                  min_valid=MIN_RANKED_VALID, export_url=export_url(period))


@router.get("/officers/{officer_id}", response_class=HTMLResponse)
def officer_page(
    officer_id: RowId,
    request: Request,
    user: PageUser,
    db: DB,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> HTMLResponse:
    _require_scores(user)
    officer = db.get(Officer, officer_id)
    if officer is None or not scope.may_see_officer(db, user, officer):
        raise PageError(status.HTTP_404_NOT_FOUND, _("There is no such officer."))
    score = officer_scores(db, [officer], _period(start, end))[officer.id]
    unit = db.get_one(Unit, officer.unit_id)
    levels = [
        {"level": level, "name": name, "count": score.by_sipas_level[level],
         "share": score.by_sipas_level[level] / score.valid * 100 if score.valid else None}
        for level, name in level_names().items()
    ]
    return render(request, "officer.html", user=user, officer=officer, unit=unit, score=score,
                  levels=levels, interval=sipas_interval(score), start=start, end=end,
                  gap=gap_to_target(score.sipas_index),
                  target=SIPAS_TARGET_PERCENT)
