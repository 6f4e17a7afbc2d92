"""The analysis pages: trends, the weekday × hour heatmap, reasons, comments,
cases, alerts and the 6-monthly dialogue report. Every page asks `scope.py` (and
`cases.py` for cases) what the viewer may see; technicians get 403."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hailong.i18n import _
from hailong.sync.server import alerts, audit, cases, feedback_views, heatmap, scope, trends
from hailong.sync.server.deps import DB, PageUser, RowId, client_address, utc_now
from hailong.sync.server.models import Officer, Unit, User
from hailong.sync.server.models_cases import Alert, Case
from hailong.sync.server.scores import Targets, rating_points, reason_counts, targets_of
from hailong.sync.server.trends import LOCAL_TZ, Granularity
from hailong.sync.server.web import PageError, check_csrf, level_names, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

Start = Annotated[date | None, Query(alias="from")]
End = Annotated[date | None, Query(alias="to")]
# A form's "all" choice sends an empty value: ids arrive as text.
IdParam = Annotated[str | None, Query(max_length=12)]


def _id(value: str | None) -> int | None:
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) < 2**31:
        raise PageError(status.HTTP_400_BAD_REQUEST,
                        _("{value} is not a valid id.").format(value=value))
    return int(value)


def _targets(request: Request) -> Targets:
    return targets_of(request.app.state.settings)


def _require_scores(user: User) -> None:
    if not scope.may_see_scores(user):
        raise PageError(status.HTTP_403_FORBIDDEN, _("Your role cannot see scores."))


def _today() -> date:
    return utc_now().astimezone(LOCAL_TZ).date()


def _range(start: date | None, end: date | None, default_days: int) -> tuple[date, date]:
    end = end or _today()
    if start is None:
        start = end - timedelta(days=default_days) if end.year > 2 else end
    if end < start:
        raise PageError(status.HTTP_400_BAD_REQUEST, _("The end date is before the start date."))
    if start.year < 2 or end.year > 9998:
        raise PageError(status.HTTP_400_BAD_REQUEST, _("Pick dates between 0002 and 9998."))
    return start, end


def _scoped_units(db: Session, user: User, unit: int | None) -> tuple[Unit | None, set[int] | None]:
    """The chosen unit (default: the viewer's) and the ids of it and its sub-units
    (None: every unit, for an administrator who chose none)."""
    if unit is None:
        if user.role == "admin" or user.unit_id is None:
            return None, scope.visible_unit_ids(db, user)
        unit = user.unit_id
    chosen = db.get(Unit, unit)
    if chosen is None or not scope.may_see_unit(db, user, unit):
        raise PageError(status.HTTP_404_NOT_FOUND, _("There is no such unit."))
    return chosen, scope.unit_subtree(db, unit)


def _sub_units(db: Session, user: User, chosen: Unit | None) -> list[Unit]:
    parent = chosen.id if chosen is not None else None
    if chosen is None and user.role != "admin":
        return []
    return list(db.scalars(select(Unit).where(Unit.parent_id == parent)
                           .order_by(Unit.name, Unit.id)))


def _officer(db: Session, user: User, officer_id: int | None, request: Request,
             start: date, end: date) -> Officer | None:
    if officer_id is None:
        return None
    officer = db.get(Officer, officer_id)
    if officer is None or not scope.may_see_officer(db, user, officer):
        raise PageError(status.HTTP_404_NOT_FOUND, _("There is no such officer."))
    period = trends.local_period(start, end)
    audit.record(db, user, "officer_view", f"officer {officer.id}",
                 audit.period_detail(period.start, period.end), client=client_address(request))
    return officer


def _common(user: User, db: Session, chosen: Unit | None,
            start: date, end: date) -> dict[str, Any]:
    return {"user": user, "units": scope.visible_units(db, user), "chosen": chosen,
            "start": start, "end": end, "local_tz": LOCAL_TZ}


@router.get("/trends", response_class=HTMLResponse)
def trends_page(
    request: Request, user: PageUser, db: DB, start: Start = None, end: End = None,
    unit: IdParam = None, officer: IdParam = None, step: Granularity = "month",
) -> HTMLResponse:
    _require_scores(user)
    start, end = _range(start, end, 365)
    chosen, unit_ids = _scoped_units(db, user, _id(unit))
    person = _officer(db, user, _id(officer), request, start, end)
    goals = _targets(request)
    try:
        trends.buckets(start, end, step)
    except ValueError:
        raise PageError(status.HTTP_400_BAD_REQUEST,
                        _("Too many points for one chart: pick a shorter range or a longer step.")
                        ) from None
    period = trends.local_period(start, end)
    main = trends.build_trend(
        rating_points(db, period, None if person else unit_ids, person.id if person else None),
        start, end, step, goals.target, goals.city_average)
    subs = [(sub, trends.build_trend(rating_points(db, period, scope.unit_subtree(db, sub.id)),
                                     start, end, step, goals.target, goals.city_average))
            for sub in ([] if person else _sub_units(db, user, chosen))]
    today = _today()
    month = trends.local_period(today.replace(day=1), today)
    headroom = trends.month_headroom(
        rating_points(db, month, None if person else unit_ids, person.id if person else None),
        today, goals.target)
    officers = [o for o in scope.visible_officers(db, user)
                if unit_ids is None or o.unit_id in unit_ids]
    return render(request, "trends.html", **_common(user, db, chosen, start, end),
                  trend=main, subs=subs, step=step, officer=person, officers=officers,
                  headroom=headroom, chart_width=trends.CHART_WIDTH,
                  chart_base=trends.CHART_BASE, chart_y=trends.chart_y,
                  steps={"day": _("Day"), "week": _("Week"), "month": _("Month")})


@router.get("/heatmap", response_class=HTMLResponse)
def heatmap_page(
    request: Request, user: PageUser, db: DB, start: Start = None, end: End = None,
    unit: IdParam = None, officer: IdParam = None,
) -> HTMLResponse:
    _require_scores(user)
    start, end = _range(start, end, 90)
    chosen, unit_ids = _scoped_units(db, user, _id(unit))
    person = _officer(db, user, _id(officer), request, start, end)
    points = rating_points(db, trends.local_period(start, end),
                           None if person else unit_ids, person.id if person else None)
    weekdays = [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"),
                _("Saturday"), _("Sunday")]
    officers = [o for o in scope.visible_officers(db, user)
                if unit_ids is None or o.unit_id in unit_ids]
    return render(request, "heatmap.html", **_common(user, db, chosen, start, end),
                  heat=heatmap.build_heatmap(points), weekdays=weekdays, officer=person,
                  officers=officers)


@router.get("/reasons", response_class=HTMLResponse)
def reasons_page(
    request: Request, user: PageUser, db: DB, start: Start = None, end: End = None,
    unit: IdParam = None,
) -> HTMLResponse:
    _require_scores(user)
    start, end = _range(start, end, 365)
    chosen, unit_ids = _scoped_units(db, user, _id(unit))
    summary = feedback_views.summarise_reasons(
        reason_counts(db, trends.local_period(start, end), unit_ids))
    return render(request, "reasons.html", **_common(user, db, chosen, start, end),
                  summary=summary)


@router.get("/comments", response_class=HTMLResponse)
def comments_page(
    request: Request, user: PageUser, db: DB, start: Start = None, end: End = None,
    unit: IdParam = None, page: Annotated[int, Query(ge=1, le=10**6)] = 1,
) -> HTMLResponse:
    _require_scores(user)
    start, end = _range(start, end, 365)
    chosen, unit_ids = _scoped_units(db, user, _id(unit))
    found = feedback_views.comments(db, user, unit_ids, trends.local_period(start, end), page)
    return render(request, "comments.html", **_common(user, db, chosen, start, end),
                  found=found, levels=level_names())


def _action_names() -> dict[str, str]:
    return {"acknowledge": _("Acknowledged"), "comment": _("Comment"), "close": _("Closed")}


def _status_names() -> dict[str, str]:
    return {"open": _("Open"), "acknowledged": _("Acknowledged"), "closed": _("Closed")}


@router.get("/cases", response_class=HTMLResponse)
def cases_page(
    request: Request, user: PageUser, db: DB, closed: bool = False,
) -> HTMLResponse:
    _require_scores(user)
    cases.open_missing(db)
    db.commit()
    rows = cases.visible_cases(db, user, utc_now(), include_closed=closed)
    return render(request, "cases.html", user=user, rows=rows, closed=closed,
                  local_tz=LOCAL_TZ, reason_label=feedback_views.reason_label,
                  actions=_action_names(), statuses=_status_names())


def _act(db: Session, user: User, item: Case | Alert, kind: Literal["case", "alert"],
         action: str, text: str, back: str) -> Response:
    try:
        cases.record_action(db, item, kind, user, action, text, utc_now())
    except cases.ActionError as exc:
        db.rollback()
        raise PageError(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    db.commit()
    return RedirectResponse(back, status.HTTP_303_SEE_OTHER)


ActionField = Annotated[str, Form(max_length=16)]
TextField = Annotated[str, Form(max_length=cases.MAX_NOTE * 2)]


@router.post("/cases/{case_id}")
def case_action(
    case_id: RowId, user: PageUser, db: DB, action: ActionField,
    text: TextField = "",
) -> Response:
    _require_scores(user)
    case = db.get(Case, case_id)
    if case is None or not cases.may_see_case(db, user, case):
        raise PageError(status.HTTP_404_NOT_FOUND, _("There is no such case."))
    return _act(db, user, case, "case", action, text, f"/cases#case-{case_id}")


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request, user: PageUser, db: DB, closed: bool = False,
) -> HTMLResponse:
    _require_scores(user)
    rules = alerts.default_rules(_targets(request).target)
    alerts.raise_alerts(db, utc_now(), rules)
    db.commit()
    rows = alerts.visible_alerts(db, user, include_closed=closed)
    return render(request, "alerts.html", user=user, rows=rows, closed=closed,
                  rules=[alerts.explain(rule) for rule in rules],
                  local_tz=LOCAL_TZ, actions=_action_names(), statuses=_status_names())


@router.post("/alerts/{alert_id}")
def alert_action(
    alert_id: RowId, user: PageUser, db: DB, action: ActionField,
    text: TextField = "",
) -> Response:
    _require_scores(user)
    alert = db.get(Alert, alert_id)
    if alert is None or not alerts.may_see_alert(db, user, alert):
        raise PageError(status.HTTP_404_NOT_FOUND, _("There is no such alert."))
    return _act(db, user, alert, "alert", action, text, f"/alerts#alert-{alert_id}")


TOP_REASONS = 5


@router.get("/report", response_class=HTMLResponse)
def report_page(
    request: Request, user: PageUser, db: DB, unit: IdParam = None,
    period: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    _require_scores(user)
    code = period or trends.half_of(_today())
    try:
        start, end = trends.half_year(code)
        before_start, before_end = trends.half_year(trends.previous_half(code))
    except ValueError:
        raise PageError(status.HTTP_400_BAD_REQUEST,
                        _("Write the period like 2026-H1 (first half) or 2026-H2.")) from None
    chosen, unit_ids = _scoped_units(db, user, _id(unit))
    goals = _targets(request)
    span = trends.local_period(start, end)
    now = trends.build_trend(rating_points(db, span, unit_ids), start, end, "month",
                             goals.target, goals.city_average)
    before = trends.build_trend(
        rating_points(db, trends.local_period(before_start, before_end), unit_ids),
        before_start, before_end, "month", goals.target, goals.city_average)
    change = (None if now.sipas_index is None or before.sipas_index is None
              else now.sipas_index - before.sipas_index)
    summary = feedback_views.summarise_reasons(reason_counts(db, span, unit_ids))
    top = sorted((line for factor in summary.factors for line in factor.reasons if line.count),
                 key=lambda line: -line.count)[:TOP_REASONS]
    cases.open_missing(db)
    db.commit()
    return render(
        request, "report.html", **_common(user, db, chosen, start, end),
        code=code, previous=trends.previous_half(code), trend=now, before=before, change=change,
        summary=summary, top=top, chart_width=trends.CHART_WIDTH, chart_base=trends.CHART_BASE,
        cases=cases.visible_cases(db, user, utc_now(), True, span.start, span.end, unit_ids),
        alerts=alerts.visible_alerts(db, user, True, span.start, span.end, unit_ids),
        reason_label=feedback_views.reason_label, actions=_action_names(),
        statuses=_status_names(),
    )
