"""The analysis pages: trends, the weekday × hour heatmap, reasons, comments,
cases, alerts and the 6-monthly dialogue report. Every page asks `scope.py` (and
`cases.py` for cases) what the viewer may see; technicians get 403.

Each page's tables download from `<page>/export?format=csv|xlsx` with the page's
own filters (and `table=` where a page has several): the page and its export
build their figures with the same view function, so they check the same scope
and hold the same rows. The officer page's table downloads from here too."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hailong.i18n import _
from hailong.sync.server import (
    alerts,
    audit,
    cases,
    feedback_views,
    heatmap,
    page_tables,
    scope,
    tables,
    trends,
)
from hailong.sync.server.deps import DB, PageUser, RowId, client_address, utc_now
from hailong.sync.server.models import Officer, Unit, User
from hailong.sync.server.models_cases import Alert, Case
from hailong.sync.server.scores import (
    Period,
    Targets,
    rating_points,
    reason_counts,
    targets_of,
)
from hailong.sync.server.trends import LOCAL_TZ, Granularity
from hailong.sync.server.web import (
    PageError,
    check_csrf,
    level_names,
    officer_score,
    render,
    require_scores,
)

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

Start = Annotated[date | None, Query(alias="from")]
End = Annotated[date | None, Query(alias="to")]
# A form's "all" choice sends an empty value: ids arrive as text.
IdParam = Annotated[str | None, Query(max_length=12)]
Fmt = Annotated[tables.Format, Query(alias="format")]


def _id(value: str | None) -> int | None:
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) < 2**31:
        raise PageError(status.HTTP_400_BAD_REQUEST,
                        _("{value} is not a valid id.").format(value=value))
    return int(value)


def _targets(request: Request) -> Targets:
    return targets_of(request.app.state.settings)


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


def _detail(view: dict[str, Any]) -> str:
    """What an export of a page covered, for the audit log."""
    period = trends.local_period(view["start"], view["end"])
    parts = [audit.period_detail(period.start, period.end)]
    if view["chosen"] is not None:
        parts.append(f"unit {view['chosen'].id}")
    if view.get("officer") is not None:
        parts.append(f"officer {view['officer'].id}")
    return ", ".join(parts)


def _common(user: User, db: Session, chosen: Unit | None,
            start: date, end: date) -> dict[str, Any]:
    return {"user": user, "units": scope.visible_units(db, user), "chosen": chosen,
            "start": start, "end": end, "local_tz": LOCAL_TZ}


def _steps() -> dict[str, str]:
    return {"day": _("Day"), "week": _("Week"), "month": _("Month")}


def _trends_view(request: Request, user: User, db: Session, start: date | None,
                 end: date | None, unit: str | None, officer: str | None,
                 step: Granularity) -> dict[str, Any]:
    require_scores(user)
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
    return {**_common(user, db, chosen, start, end), "trend": main, "subs": subs,
            "step": step, "officer": person, "officers": officers, "headroom": headroom,
            "steps": _steps()}


@router.get("/trends", response_class=HTMLResponse)
def trends_page(
    request: Request, user: PageUser, db: DB, start: Start = None, end: End = None,
    unit: IdParam = None, officer: IdParam = None, step: Granularity = "month",
) -> HTMLResponse:
    view = _trends_view(request, user, db, start, end, unit, officer, step)
    return render(request, "trends.html", **view, chart_width=trends.CHART_WIDTH,
                  chart_base=trends.CHART_BASE, chart_y=trends.chart_y)


@router.get("/trends/export")
def trends_export(
    request: Request, user: PageUser, db: DB, start: Start = None, end: End = None,
    unit: IdParam = None, officer: IdParam = None, step: Granularity = "month",
    fmt: Fmt = "csv", table: Literal["trend", "subs"] = "trend",
) -> Response:
    view = _trends_view(request, user, db, start, end, unit, officer, step)
    made = (page_tables.trend_table(view["trend"], view["steps"][step]) if table == "trend"
            else page_tables.sub_units_table(view["trend"], view["subs"]))
    return tables.page_download(request, db, user, made, fmt, f"trends-{table}", _detail(view))


def _weekdays() -> list[str]:
    return [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"),
            _("Saturday"), _("Sunday")]


def _heatmap_view(request: Request, user: User, db: Session, start: date | None,
                  end: date | None, unit: str | None, officer: str | None) -> dict[str, Any]:
    require_scores(user)
    start, end = _range(start, end, 90)
    chosen, unit_ids = _scoped_units(db, user, _id(unit))
    person = _officer(db, user, _id(officer), request, start, end)
    points = rating_points(db, trends.local_period(start, end),
                           None if person else unit_ids, person.id if person else None)
    officers = [o for o in scope.visible_officers(db, user)
                if unit_ids is None or o.unit_id in unit_ids]
    return {**_common(user, db, chosen, start, end), "heat": heatmap.build_heatmap(points),
            "weekdays": _weekdays(), "officer": person, "officers": officers}


@router.get("/heatmap", response_class=HTMLResponse)
def heatmap_page(
    request: Request, user: PageUser, db: DB, start: Start = None, end: End = None,
    unit: IdParam = None, officer: IdParam = None,
) -> HTMLResponse:
    view = _heatmap_view(request, user, db, start, end, unit, officer)
    return render(request, "heatmap.html", **view)


@router.get("/heatmap/export")
def heatmap_export(
    request: Request, user: PageUser, db: DB, start: Start = None, end: End = None,
    unit: IdParam = None, officer: IdParam = None, fmt: Fmt = "csv",
) -> Response:
    view = _heatmap_view(request, user, db, start, end, unit, officer)
    made = page_tables.heatmap_table(view["heat"], view["weekdays"])
    return tables.page_download(request, db, user, made, fmt, "heatmap", _detail(view))


def _reasons_view(user: User, db: Session, start: date | None, end: date | None,
                  unit: str | None) -> dict[str, Any]:
    require_scores(user)
    start, end = _range(start, end, 365)
    chosen, unit_ids = _scoped_units(db, user, _id(unit))
    summary = feedback_views.summarise_reasons(
        reason_counts(db, trends.local_period(start, end), unit_ids))
    return {**_common(user, db, chosen, start, end), "summary": summary}


@router.get("/reasons", response_class=HTMLResponse)
def reasons_page(
    request: Request, user: PageUser, db: DB, start: Start = None, end: End = None,
    unit: IdParam = None,
) -> HTMLResponse:
    return render(request, "reasons.html", **_reasons_view(user, db, start, end, unit))


@router.get("/reasons/export")
def reasons_export(
    request: Request, user: PageUser, db: DB, start: Start = None, end: End = None,
    unit: IdParam = None, fmt: Fmt = "csv",
) -> Response:
    view = _reasons_view(user, db, start, end, unit)
    return tables.page_download(request, db, user, page_tables.reasons_table(view["summary"]),
                                fmt, "reasons", _detail(view))


def _comments_scope(user: User, db: Session, start: date | None, end: date | None,
                    unit: str | None) -> tuple[dict[str, Any], set[int] | None, Period]:
    require_scores(user)
    start, end = _range(start, end, 365)
    chosen, unit_ids = _scoped_units(db, user, _id(unit))
    return _common(user, db, chosen, start, end), unit_ids, trends.local_period(start, end)


@router.get("/comments", response_class=HTMLResponse)
def comments_page(
    request: Request, user: PageUser, db: DB, start: Start = None, end: End = None,
    unit: IdParam = None, page: Annotated[int, Query(ge=1, le=10**6)] = 1,
) -> HTMLResponse:
    view, unit_ids, period = _comments_scope(user, db, start, end, unit)
    found = feedback_views.comments(db, user, unit_ids, period, page)
    return render(request, "comments.html", **view, found=found, levels=level_names())


@router.get("/comments/export")
def comments_export(
    request: Request, user: PageUser, db: DB, start: Start = None, end: End = None,
    unit: IdParam = None, fmt: Fmt = "csv",
) -> Response:
    """Every page of the comments, numbers masked as on the page for this viewer."""
    view, unit_ids, period = _comments_scope(user, db, start, end, unit)
    found = feedback_views.comments(db, user, unit_ids, period, page_size=None)
    made = page_tables.comments_table(found.rows, level_names())
    return tables.page_download(request, db, user, made, fmt, "comments", _detail(view))


def _action_names() -> dict[str, str]:
    return {"acknowledge": _("Acknowledged"), "comment": _("Comment"), "close": _("Closed")}


def _status_names() -> dict[str, str]:
    return {"open": _("Open"), "acknowledged": _("Acknowledged"), "closed": _("Closed")}


def _cases_rows(user: User, db: Session, closed: bool) -> list[cases.CaseRow]:
    require_scores(user)
    cases.open_missing(db)
    db.commit()
    return cases.visible_cases(db, user, utc_now(), include_closed=closed)


@router.get("/cases", response_class=HTMLResponse)
def cases_page(
    request: Request, user: PageUser, db: DB, closed: bool = False,
) -> HTMLResponse:
    rows = _cases_rows(user, db, closed)
    return render(request, "cases.html", user=user, rows=rows, closed=closed,
                  local_tz=LOCAL_TZ, reason_label=feedback_views.reason_label,
                  actions=_action_names(), statuses=_status_names())


@router.get("/cases/export")
def cases_export(
    request: Request, user: PageUser, db: DB, closed: bool = False, fmt: Fmt = "csv",
) -> Response:
    made = page_tables.cases_table(_cases_rows(user, db, closed), feedback_views.reason_label,
                                   _status_names(), _action_names())
    return tables.page_download(request, db, user, made, fmt, "cases",
                                "with closed ones" if closed else "open ones")


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
    require_scores(user)
    case = db.get(Case, case_id)
    if case is None or not cases.may_see_case(db, user, case):
        raise PageError(status.HTTP_404_NOT_FOUND, _("There is no such case."))
    return _act(db, user, case, "case", action, text, f"/cases#case-{case_id}")


def _alert_rules(request: Request, user: User, db: Session) -> tuple[alerts.Rule, ...]:
    require_scores(user)
    rules = alerts.default_rules(_targets(request).target)
    alerts.raise_alerts(db, utc_now(), rules)
    db.commit()
    return rules


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request, user: PageUser, db: DB, closed: bool = False,
) -> HTMLResponse:
    rules = _alert_rules(request, user, db)
    rows = alerts.visible_alerts(db, user, include_closed=closed)
    return render(request, "alerts.html", user=user, rows=rows, closed=closed,
                  rules=[alerts.explain(rule) for rule in rules],
                  local_tz=LOCAL_TZ, actions=_action_names(), statuses=_status_names())


@router.get("/alerts/export")
def alerts_export(
    request: Request, user: PageUser, db: DB, closed: bool = False, fmt: Fmt = "csv",
) -> Response:
    _alert_rules(request, user, db)
    made = page_tables.alerts_table(alerts.visible_alerts(db, user, include_closed=closed),
                                    _status_names(), _action_names())
    return tables.page_download(request, db, user, made, fmt, "alerts",
                                "with closed ones" if closed else "open ones")


@router.post("/alerts/{alert_id}")
def alert_action(
    alert_id: RowId, user: PageUser, db: DB, action: ActionField,
    text: TextField = "",
) -> Response:
    require_scores(user)
    alert = db.get(Alert, alert_id)
    if alert is None or not alerts.may_see_alert(db, user, alert):
        raise PageError(status.HTTP_404_NOT_FOUND, _("There is no such alert."))
    return _act(db, user, alert, "alert", action, text, f"/alerts#alert-{alert_id}")


TOP_REASONS = 5


def _report_view(request: Request, user: User, db: Session, unit: str | None,
                 period: str | None) -> dict[str, Any]:
    require_scores(user)
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
    return {
        **_common(user, db, chosen, start, end),
        "code": code, "previous": trends.previous_half(code), "trend": now, "before": before,
        "change": change, "summary": summary, "top": top,
        "cases": cases.visible_cases(db, user, utc_now(), True, span.start, span.end, unit_ids),
        "alerts": alerts.visible_alerts(db, user, True, span.start, span.end, unit_ids),
    }


@router.get("/report", response_class=HTMLResponse)
def report_page(
    request: Request, user: PageUser, db: DB, unit: IdParam = None,
    period: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    return render(
        request, "report.html", **_report_view(request, user, db, unit, period),
        chart_width=trends.CHART_WIDTH, chart_base=trends.CHART_BASE,
        reason_label=feedback_views.reason_label, actions=_action_names(),
        statuses=_status_names(),
    )


ReportTable = Literal["figures", "reasons", "alerts", "cases"]


@router.get("/report/export")
def report_export(
    request: Request, user: PageUser, db: DB, unit: IdParam = None,
    period: Annotated[str | None, Query(max_length=16)] = None, fmt: Fmt = "csv",
    table: ReportTable = "figures",
) -> Response:
    view = _report_view(request, user, db, unit, period)
    if table == "figures":
        made = page_tables.report_figures_table(view["code"], view["previous"], view["trend"],
                                                view["before"])
    elif table == "reasons":
        made = page_tables.top_reasons_table(view["top"])
    elif table == "alerts":
        made = page_tables.alerts_table(view["alerts"], _status_names(), _action_names())
    else:
        made = page_tables.cases_table(view["cases"], feedback_views.reason_label,
                                       _status_names(), _action_names())
    return tables.page_download(request, db, user, made, fmt,
                                f"report-{view['code']}-{table}", _detail(view))


@router.get("/officers/{officer_id}/export")
def officer_export(
    officer_id: RowId, request: Request, user: PageUser, db: DB, start: Start = None,
    end: End = None, fmt: Fmt = "csv",
) -> Response:
    """The table of the officer's page: ratings per SIPAS level over the period."""
    officer, period, score = officer_score(db, user, officer_id, start, end)
    made = page_tables.levels_table(score.by_sipas_level, score.valid, level_names())
    return tables.page_download(
        request, db, user, made, fmt, f"officer-{officer.id}",
        f"officer {officer.id}, " + audit.period_detail(period.start, period.end))
