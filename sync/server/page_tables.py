"""The tables of the dashboard pages as `Table`s, from the very figures each page
renders, so a download holds what the page shows. Pure apart from the current
language of the headers.

Percentages keep their full precision (the page rounds them to one decimal);
times are Vietnam time, as on the pages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

from hailong.i18n import _
from hailong.sync.server.alerts import AlertRow
from hailong.sync.server.cases import CaseRow
from hailong.sync.server.feedback_views import CommentRow, ReasonLine, ReasonSummary
from hailong.sync.server.heatmap import Heatmap
from hailong.sync.server.models_cases import ActionNote
from hailong.sync.server.models_oversight import AuditEntry
from hailong.sync.server.tables import Table
from hailong.sync.server.trends import LOCAL_TZ, Trend
from hailong.sync.wire import KioskStatus


def local(moment: datetime | None, zone: tzinfo = LOCAL_TZ) -> datetime | None:
    """Vietnam time to the second, without a zone: what the pages show, and what
    a spreadsheet keeps as it is."""
    if moment is None:
        return None
    return moment.astimezone(zone).replace(tzinfo=None, microsecond=0)


def _notes(notes: Sequence[ActionNote], actions: Mapping[str, str]) -> str:
    return "\n".join(
        f"{n.at.astimezone(LOCAL_TZ):%d/%m/%Y %H:%M} · {n.actor} · {actions[n.action]}"
        + (f": {n.text}" if n.text else "")
        for n in notes
    )


def trend_table(trend: Trend, step_name: str) -> Table:
    columns = [step_name, _("Valid"), _("Flagged"), _("SIPAS index (%)"),
               _("Gap to target (points)"), _("Decision 766 rate (%)"), _("Target (%)"),
               _("City average (%)")]
    rows = [[p.bucket, p.valid, p.flagged, p.sipas_index, p.gap, p.decision766_rate,
             trend.target, trend.city_average] for p in trend.points]
    return Table(_("Trend"), columns, rows)


def sub_units_table(main: Trend, subs: Sequence[tuple[Any, Trend]]) -> Table:
    """One row per sub-unit: its totals, then its SIPAS index per bucket."""
    columns = [_("Unit"), _("Valid"), _("SIPAS index (%)"), _("Gap to target (points)"),
               *(p.bucket.isoformat() for p in main.points)]
    rows = [[unit.name, t.total.valid, t.sipas_index, t.gap,
             *(p.sipas_index for p in t.points)] for unit, t in subs]
    return Table(_("Sub-units"), columns, rows)


def heatmap_table(heat: Heatmap, weekdays: Sequence[str]) -> Table:
    """One row per weekday and hour; the index is empty below the minimum count,
    as on the page."""
    columns = [_("Weekday"), _("Hour"), _("Valid"), _("SIPAS index (%)")]
    rows = [[weekdays[cell.weekday], cell.hour, cell.valid, cell.sipas_index]
            for row in heat.rows for cell in row]
    return Table(_("Weekday and hour"), columns, rows)


def reasons_table(summary: ReasonSummary) -> Table:
    """Each SIPAS factor's total row, then its reasons."""
    columns = [_("SIPAS factor"), _("Reason"), _("Count"), _("Share (%)")]
    rows: list[list[Any]] = []
    for factor in summary.factors:
        rows.append([factor.label, None, factor.count, factor.share])
        rows.extend([factor.label, line.label, line.count, line.share] for line in factor.reasons)
    return Table(_("Reasons"), columns, rows)


def top_reasons_table(top: Sequence[ReasonLine]) -> Table:
    columns = [_("Reason"), _("Count"), _("Share (%)")]
    return Table(_("Top reasons"), columns, [[r.label, r.count, r.share] for r in top])


def comments_table(found: Sequence[CommentRow], levels: Mapping[int, str]) -> Table:
    """Callback numbers exactly as the page shows them to this viewer."""
    columns = [_("Time"), _("SIPAS level"), _("Rating"), _("Unit"), _("Officer"), _("Reason"),
               _("Comment"), _("Callback number"), _("Consent to be called")]
    rows = [[local(c.at), c.sipas_level, levels[c.sipas_level], c.unit_name, c.officer_name,
             c.reason or None, c.comment, c.phone, c.consent if c.phone else None]
            for c in found]
    return Table(_("Comments"), columns, rows)


def cases_table(found: Sequence[CaseRow], reason_label: Callable[[str | None], str],
                statuses: Mapping[str, str], actions: Mapping[str, str]) -> Table:
    columns = [_("Case"), _("Reason"), _("Status"), _("Unit"), _("Officer"), _("Opened"),
               _("Due by the end of"), _("Overdue"), _("Comment"), _("Actions")]
    rows = [[row.case.id, reason_label(row.case.reason), statuses[row.case.status],
             row.unit_name, row.officer_name, local(row.case.opened_at), row.due_day,
             row.overdue, row.comment, _notes(row.notes, actions)] for row in found]
    return Table(_("Cases"), columns, rows)


def alerts_table(found: Sequence[AlertRow], statuses: Mapping[str, str],
                 actions: Mapping[str, str]) -> Table:
    columns = [_("Alert"), _("Unit"), _("Rule"), _("Status"), _("Value (%)"),
               _("Threshold (%)"), _("Valid"), _("Window start"), _("Window end"),
               _("Raised"), _("Actions")]
    rows = [[row.alert.id, row.unit_name, row.description, statuses[row.alert.status],
             row.alert.value, row.alert.threshold, row.alert.valid, local(row.alert.window_start),
             local(row.alert.window_end), local(row.alert.raised_at),
             _notes(row.notes, actions)] for row in found]
    return Table(_("Alerts"), columns, rows)


def report_figures_table(code: str, previous: str, now: Trend, before: Trend) -> Table:
    columns = [_("Figure"), code, previous]
    rows = [
        [_("SIPAS index (%)"), now.sipas_index, before.sipas_index],
        [_("Decision 766 rate (%)"), now.decision766_rate, before.decision766_rate],
        [_("Valid ratings"), now.total.valid, before.total.valid],
        [_("Target (%)"), now.target, before.target],
        [_("Gap to target (points)"), now.gap, before.gap],
        [_("City average (%)"), now.city_average, before.city_average],
    ]
    return Table(_("Index against the target"), columns, rows)


def fleet_table(kiosks: Sequence[KioskStatus], states: Mapping[str, str]) -> Table:
    columns = [_("Kiosk"), _("State"), _("Unit"), _("Counter"), _("Host name"),
               _("Last heartbeat"), _("Backlog"), _("App"), _("Rating box"),
               _("Rating box state"), _("Clock skew (s)"), _("Missing")]
    rows = [[k.id, states[k.state], k.unit_name, k.counter_name, k.hostname,
             local(k.last_heartbeat_at), k.backlog, k.app_version or None, k.box_firmware,
             k.box_status, None if k.clock_skew_ms is None else k.clock_skew_ms / 1000,
             k.missing] for k in kiosks]
    return Table(_("Kiosks"), columns, rows)


def audit_table(entries: Sequence[AuditEntry], actions: Mapping[str, str]) -> Table:
    columns = [_("Time"), _("Who"), _("Action"), _("Object"), _("Detail"), _("Address")]
    rows = [[local(e.at), e.actor, actions.get(e.action, e.action), e.object, e.detail,
             e.client] for e in entries]
    return Table(_("Audit log"), columns, rows)


def levels_table(by_level: Mapping[int, int], valid: int, names: Mapping[int, str]) -> Table:
    """One officer's valid ratings per SIPAS level, in the order of `names`, with
    each level's share of them."""
    columns = [_("SIPAS level"), _("Rating"), _("Count"), _("Share (%)")]
    rows = [[level, name, by_level.get(level, 0),
             by_level.get(level, 0) / valid * 100 if valid else None]
            for level, name in names.items()]
    return Table(_("Ratings by level"), columns, rows)
