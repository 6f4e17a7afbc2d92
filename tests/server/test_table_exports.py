"""Every table of the dashboard downloads as CSV and as Excel, through the links
the page itself shows (so with the page's own filters): the rows equal what the
page shows, the XLSX holds the same cells, Vietnamese survives in NFC, a caller
gets only what the page would show them, and every download is audited."""

from __future__ import annotations

import csv
import html
import io
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from analytics_helpers import given, post_ratings
from openpyxl import load_workbook
from server_harness import Http, RunningServer, make_org, signed_in
from sqlalchemy import select, update

from hailong.sync.server import tables, xlsx
from hailong.sync.server.feedback_views import PAGE_SIZE
from hailong.sync.server.models import Officer
from hailong.sync.server.models_oversight import AuditEntry
from hailong.sync.server.tables import Table

RANGE = {"from": "2026-03-01", "to": "2026-03-31"}
OFFICER_NAME = unicodedata.normalize("NFC", "Nguyễn Thị Ánh Tuyết")
COMMENT = unicodedata.normalize("NFC", "Chờ quá lâu, hai tiếng đồng hồ")
SERIOUS = unicodedata.normalize("NFC", "Bị gợi ý nộp thêm tiền")
PHONE = "0912345678"
EN = {"Accept-Language": "en"}


@dataclass(frozen=True)
class Place:
    parent: int
    child: int
    other: int
    officer: int
    other_officer: int


@pytest.fixture(scope="module")
def place(server: RunningServer) -> Place:
    """A parent unit and its child, whose officer got a month of March ratings
    (reasons, comments, a callback number, a harassment report that opens a case
    for the parent's head) and a bad last hour (an alert); and an unrelated unit."""
    parent = make_org(server.sessions, officers=1)
    child = make_org(server.sessions, officers=1, parent_id=parent.unit_id)
    other = make_org(server.sessions, officers=1)
    officer = child.officer_ids[0]
    with server.sessions() as session:
        session.execute(update(Officer).where(Officer.id == officer).values(name=OFFICER_NAME))
        session.commit()
    monday = datetime(2026, 3, 2, 2, tzinfo=UTC)  # 09:00 in Vietnam
    now = datetime.now(UTC)
    post_ratings(server, child.counter_ids[0], [
        given(officer, 1, monday, reason="waited_too_long", comment=COMMENT,
              callback_phone=PHONE, phone_consent=True),
        given(officer, 2, monday + timedelta(hours=1), reason="staff_attitude"),
        given(officer, 2, monday + timedelta(days=1, hours=3), comment="Hồ sơ bị trả lại"),
        given(officer, 1, monday + timedelta(days=2), reason="harassment_or_payment",
              comment=SERIOUS),
        *(given(officer, 5 - n % 3, monday + timedelta(days=n % 20, hours=n % 7))
          for n in range(40)),
        *(given(officer, 4, monday + timedelta(days=8, minutes=n), comment=f"Góp ý số {n}")
          for n in range(PAGE_SIZE)),
        *([given(officer, 5, now - timedelta(hours=1))] * 6),
        *([given(officer, 1, now - timedelta(hours=1))] * 4),
    ])
    post_ratings(server, other.counter_ids[0], [given(other.officer_ids[0], 5, monday)])
    return Place(parent.unit_id, child.unit_id, other.unit_id, officer, other.officer_ids[0])


# --- the mechanism ------------------------------------------------------------

def test_a_table_as_csv_and_as_xlsx(monkeypatch: pytest.MonkeyPatch) -> None:
    table = Table("Bảng", ["Tên", "Số", "Có", "Ngày", "Lúc"], [
        ["Trần Văn Đức", 1.5, True, date(2026, 3, 1), datetime(2026, 3, 1, 9, 30)],
        ["=1+1", None, False, None, None],
    ])
    text = tables.csv_text(table.columns, table.rows)
    assert text == ("\ufeffTên,Số,Có,Ngày,Lúc\r\n"
                    "Trần Văn Đức,1.5,true,2026-03-01,2026-03-01 09:30:00\r\n"
                    "'=1+1,,false,,\r\n")
    sent = tables.table_response(table, "xlsx", "bang")
    assert sent.headers["content-disposition"] == 'attachment; filename="bang.xlsx"'
    sheet = load_workbook(io.BytesIO(sent.body)).worksheets[0]
    assert sheet.title == "Bảng"
    assert [cell.value for cell in sheet[2]] == [
        "Trần Văn Đức", 1.5, True, datetime(2026, 3, 1), datetime(2026, 3, 1, 9, 30)]
    assert sheet["D2"].number_format == "yyyy-mm-dd" and sheet["A3"].data_type == "s"
    monkeypatch.setattr(xlsx, "MAX_ROWS", 1)
    with pytest.raises(xlsx.TooManyRows):
        tables.table_response(table, "xlsx", "bang")


# --- reading pages and files ------------------------------------------------

class _TableReader(HTMLParser):
    """The body rows of every <table>, by its class: the text of each cell."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: list[list[str]] | None = None
        self._in_body = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = self.tables.setdefault(dict(attrs).get("class") or "", [])
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._in_body and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self._table[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def page_table(page: str, css_class: str) -> list[list[str]]:
    reader = _TableReader()
    reader.feed(page)
    return reader.tables[css_class]


def links(page: str, table: str | None = None) -> dict[str, str]:
    """The page's CSV and Excel links (of one `table` when the page has several)."""
    marker = f' data-table="{table}"' if table else ""
    found = re.search(rf'<p class="actions export-links no-print"{marker}>(.*?)</p>', page, re.S)
    assert found, f"no export links for {table or 'the table'}"
    hrefs = dict(re.findall(r'class="button export-(csv|xlsx)" href="([^"]+)"', found.group(1)))
    assert set(hrefs) == {"csv", "xlsx"}
    return {fmt: html.unescape(href) for fmt, href in hrefs.items()}


def _cell_text(value: Any, written: str) -> str:
    """An XLSX cell as the CSV writes it (`written`: the CSV's cell, for a number
    the sheet keeps without its ".0" or to 15 significant digits)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        same = written and math.isclose(float(written), value, rel_tol=1e-13)
        return written if same else str(value)
    if isinstance(value, datetime):
        return (value.date().isoformat() if value.time() == datetime.min.time()
                else value.isoformat(sep=" "))
    return str(value)


def download(http: Http, page: str, table: str | None = None) -> list[list[str]]:
    """Both files behind the page's links: the CSV's rows (header first), after
    checking the XLSX holds the same cells."""
    hrefs = links(page, table)
    as_csv = http.get(hrefs["csv"], headers=EN)
    assert as_csv.status_code == 200, as_csv.text
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert as_csv.headers["content-disposition"].startswith("attachment; filename=")
    assert as_csv.content.startswith(b"\xef\xbb\xbf") and b"\r\n" in as_csv.content
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"), newline="")))
    as_xlsx = http.get(hrefs["xlsx"], headers=EN)
    assert as_xlsx.status_code == 200, as_xlsx.text
    sheet = load_workbook(io.BytesIO(as_xlsx.content), read_only=True).worksheets[0]
    width = len(rows[0])
    cells = [[_cell_text(value, written) for value, written in zip(
        [*row, *[None] * (width - len(row))], csv_row, strict=True)]
        for row, csv_row in zip(sheet.iter_rows(values_only=True), rows, strict=True)]
    assert cells == rows
    return rows


def pct(text: str) -> str:
    return "—" if text == "" else f"{float(text):.1f}%"


def points(text: str) -> str:
    if text == "":
        return "—"
    value = float(text)
    return f"{'+' if value >= 0 else '−'}{abs(value):.1f} points"


def last_audit(server: RunningServer) -> AuditEntry:
    with server.sessions() as session:
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
        session.expunge(entry)
        return entry


def get(http: Http, path: str, **params: Any) -> str:
    page = http.get(path, params=params, headers=EN)
    assert page.status_code == 200, page.text
    return page.text


# --- each page ---------------------------------------------------------------

def test_trends_and_sub_units(server: RunningServer, place: Place) -> None:
    http = signed_in(server, "supervisor", place.parent)
    page = get(http, "/trends", **RANGE, unit=place.child, step="week")
    rows = download(http, page, "trend")
    assert rows[0][:3] == ["Week", "Valid", "Flagged"] and "City average (%)" in rows[0]
    shown = page_table(page, "trend-table")
    assert len(rows) - 1 == len(shown) == 6  # weeks from 23/02 to 30/03
    for (bucket, valid, flagged, index, gap, rate, target, _city), on_page in zip(
            rows[1:], shown, strict=True):
        assert [date.fromisoformat(bucket).strftime("%d/%m/%Y"), valid, flagged, pct(index),
                points(gap), pct(rate)] == on_page
        assert float(target) == 85.0
    assert sum(int(row[1]) for row in rows[1:]) == 40 + PAGE_SIZE + 4
    audited = last_audit(server)
    assert (audited.action, audited.object) == ("export", "trends-trend (xlsx)")
    assert f"unit {place.child}" in audited.detail and audited.actor.startswith("supervisor")

    page = get(http, "/trends", **RANGE, unit=place.parent, step="month")
    subs = download(http, page, "subs")
    assert subs[0][:2] == ["Unit", "Valid"] and subs[0][4:] == ["2026-03-01"]
    (unit, valid, index, gap, march), = subs[1:]
    assert [[unit, valid, pct(index), points(gap), pct(march)]] == page_table(page, "subs")
    assert unicodedata.is_normalized("NFC", unit) and unit.startswith("Đơn vị thử")


def test_the_heatmap(server: RunningServer, place: Place) -> None:
    http = signed_in(server, "admin", None)
    page = get(http, "/heatmap", **RANGE, officer=place.officer)
    rows = download(http, page)
    assert rows[0] == ["Weekday", "Hour", "Valid", "SIPAS index (%)"]
    cells = re.findall(r'data-cell="(\d)-(\d+)" title="(\d+)">([^<]*)<small>', page)
    weekdays = list(dict.fromkeys(row[0] for row in rows[1:]))
    assert weekdays[0] == "Monday" and len(weekdays) == 7
    assert [(str(weekdays.index(day)), hour, valid,
             "—" if index == "" else f"{float(index):.0f}%") for day, hour, valid, index
            in rows[1:]] == cells
    assert sum(int(row[2]) for row in rows[1:]) == 40 + PAGE_SIZE + 4


def test_reasons_by_factor(server: RunningServer, place: Place) -> None:
    http = signed_in(server, "supervisor", place.parent)
    page = get(http, "/reasons", **RANGE, unit=place.child)
    rows = download(http, page)
    assert rows[0] == ["SIPAS factor", "Reason", "Count", "Share (%)"]
    assert [[reason or factor, count, pct(share)] for factor, reason, count, share
            in rows[1:]] == page_table(page, "reasons")
    waited = next(row for row in rows if row[1] == "I waited too long")
    assert waited[2] == "1"


def _comments_shown(page: str) -> list[tuple[str, str, str]]:
    """(comment, number, consent) of each comment on the page."""
    shown = []
    for article in re.findall(r'<article class="comment".*?</article>', page, re.S):
        text = re.search(r'<p class="text">([^<]*)</p>', article)
        phone = re.search(r'<span class="number[^"]*">([^<]*)</span> · ([^<]*)</p>', article)
        shown.append((html.unescape(text.group(1)) if text else "",
                       phone.group(1) if phone else "",
                       "" if phone is None else
                       "true" if phone.group(2) == "the citizen agreed to be called" else "false"))
    return shown


def test_comments_with_numbers_masked_as_on_the_page(
    server: RunningServer, place: Place,
) -> None:
    # the child's supervisor calls back: full numbers; the parent's sees them masked
    for unit, number in ((place.child, PHONE), (place.parent, "09•••••678")):
        http = signed_in(server, "supervisor", unit)
        first = get(http, "/comments", **RANGE, unit=place.child)
        second = get(http, "/comments", **RANGE, unit=place.child, page=2)
        rows = download(http, first)
        assert rows[0][-3:] == ["Comment", "Callback number", "Consent to be called"]
        assert [(row[6], row[7], row[8]) for row in rows[1:]] == (
            _comments_shown(first) + _comments_shown(second))
        assert [row[6:9] for row in rows if row[6] == COMMENT] == [[COMMENT, number, "true"]]
        assert all(row[4] == OFFICER_NAME for row in rows[1:])
        assert unicodedata.is_normalized("NFC", "".join(cell for row in rows for cell in row))
        # the harassment report belongs to the head of the unit above, as its case
        assert any(row[6] == SERIOUS for row in rows) == (unit == place.parent)
        assert len(rows) - 1 == PAGE_SIZE + 2 + (unit == place.parent)


def test_cases_alerts_and_the_report(server: RunningServer, place: Place) -> None:
    head = signed_in(server, "supervisor", place.parent)
    page = get(head, "/cases")
    rows = download(head, page)
    assert rows[0][:3] == ["Case", "Reason", "Status"]
    shown = re.findall(r'data-case-id="(\d+)"', page)
    assert [row[0] for row in rows[1:]] == shown and shown
    mine = [row for row in rows[1:] if row[4] == OFFICER_NAME]
    assert len(mine) == 1 and mine[0][8] == SERIOUS and mine[0][2] == "Open"

    local = signed_in(server, "supervisor", place.child)
    page = get(local, "/alerts")
    rows = download(local, page)
    shown_alerts = re.findall(r'data-alert-id="(\d+)"', page)
    assert [row[0] for row in rows[1:]] == shown_alerts and shown_alerts
    values = re.findall(r'<span class="value">([^<]*)</span>', page)
    assert [pct(row[4]) for row in rows[1:]] == values == ["40.0%"]

    page = get(head, "/report", unit=place.child, period="2026-H1")
    figures = download(head, page, "figures")
    assert figures[0] == ["Figure", "2026-H1", "2025-H2"]
    shown_figures = page_table(page, "report-figures")
    for (label, now, before), (_label, now_shown, before_shown) in zip(
            figures[1:], shown_figures, strict=True):
        show = str if label == "Valid ratings" else points if "points" in label else pct
        assert (show(now), show(before)) == (now_shown, before_shown)
    top = download(head, page, "reasons")
    assert [f"{label}: {count} ({pct(share)})" for label, count, share in top[1:]] == [
        html.unescape(item) for item in re.findall(r'<li data-reason="\w+">([^<]*)</li>', page)]
    # the case and the alert were opened now, in the second half
    assert len(download(head, page, "cases")) == len(download(head, page, "alerts")) == 1
    page = get(head, "/report", unit=place.child, period="2026-H2")
    for kind in ("case", "alert"):
        rows = download(head, page, f"{kind}s")
        shown = re.findall(rf'<section class="acted" data-{kind}-id="(\d+)"', page)
        assert [row[0] for row in rows[1:]] == shown and len(shown) == 1
    assert last_audit(server).object == "report-2026-H2-alerts (xlsx)"


def test_the_fleet_and_the_audit_log(server: RunningServer, place: Place) -> None:
    http = signed_in(server, "supervisor", place.parent)
    page = get(http, "/fleet", sort="id")
    rows = download(http, page)
    assert rows[0][:3] == ["Kiosk", "State", "Unit"]
    shown = page_table(page, "fleet")
    assert [row[0] for row in rows[1:]] == [row[0] for row in shown]
    assert [row[1] for row in rows[1:]] == [row[1] for row in shown]
    assert [row[6] or "—" for row in rows[1:]] == [row[4] for row in shown]
    assert [(row[7], row[11]) for row in rows[1:]] == [(row[5], row[8]) for row in shown]
    assert len(shown) == 1 and rows[1][2].startswith("Đơn vị thử")  # the child's kiosk
    technician = signed_in(server, "technician", place.child)
    assert len(download(technician, get(technician, "/fleet"))) == 2

    # views of an officer: downloading the log adds no such entry between the files
    get(http, f"/officers/{place.officer}")
    admin = signed_in(server, "admin", None)
    page = get(admin, "/audit", action="officer_view")
    rows = download(admin, page)
    assert rows[0] == ["Time", "Who", "Action", "Object", "Detail", "Address"]
    assert rows[1:len(page_table(page, "audit")) + 1] == page_table(page, "audit")
    assert {row[2] for row in rows[1:]} == {"Viewed an officer's scores"}
    assert f"officer {place.officer}" in {row[3] for row in rows}
    audited = last_audit(server)
    assert (audited.object, audited.detail) == ("audit-log (xlsx)", "action officer_view")


def test_the_officer_page(server: RunningServer, place: Place) -> None:
    http = signed_in(server, "supervisor", place.child)
    page = get(http, f"/officers/{place.officer}", **RANGE)
    rows = download(http, page)
    assert rows[0] == ["SIPAS level", "Rating", "Count", "Share (%)"]
    assert [[name, count, pct(share)] for _level, name, count, share in rows[1:]] == page_table(
        page, "levels")
    assert [row[0] for row in rows[1:]] == ["5", "4", "3", "2", "1"]
    audited = last_audit(server)
    assert audited.object == f"officer-{place.officer} (xlsx)"


def test_the_officers_page_links_the_unit_and_field_tables(
    server: RunningServer, place: Place,
) -> None:
    http = signed_in(server, "supervisor", place.parent)
    page = get(http, "/", **RANGE)
    for level in ("units", "fields"):
        for fmt in ("csv", "xlsx"):
            href = re.search(rf'data-export="{level}-{fmt}" href="([^"]+)"', page)
            assert href, level
            answer = http.get(html.unescape(href.group(1)))
            assert answer.status_code == 200 and f"scores-{level}.{fmt}" in answer.headers[
                "content-disposition"]


# --- who may download what ----------------------------------------------------

def test_exports_are_scoped_like_their_pages(server: RunningServer, place: Place) -> None:
    outsider = signed_in(server, "supervisor", place.other)
    technician = signed_in(server, "technician", place.child)
    supervisor = signed_in(server, "supervisor", place.child)
    about_the_child = [
        ("/trends/export", {"unit": place.child}), ("/trends/export", {"officer": place.officer}),
        ("/heatmap/export", {"officer": place.officer}), ("/reasons/export", {"unit": place.child}),
        ("/comments/export", {"unit": place.child}), ("/report/export", {"unit": place.child}),
        (f"/officers/{place.officer}/export", {}),
    ]
    for path, params in about_the_child:
        for fmt in ("csv", "xlsx"):
            asked = {**params, "format": fmt}
            assert outsider.get(path, params=asked).status_code == 404, path
            assert technician.get(path, params=asked).status_code == 403, path
            assert supervisor.get(path, params=asked).status_code == 200, path
            anonymous = server.http().get(path, params=asked, allow_redirects=False)
            assert anonymous.status_code == 303, path
    for path in ("/cases/export", "/alerts/export"):
        assert technician.get(path).status_code == 403
        theirs = outsider.get(path, params={"closed": "true"})
        assert theirs.status_code == 200 and place_names_absent(theirs.text)
    assert outsider.get("/comments/export").text.count("\n") == 1  # the header alone
    assert OFFICER_NAME not in outsider.get("/fleet/export").text
    assert supervisor.get("/audit/export").status_code == 403
    assert technician.get("/audit/export").status_code == 403
    assert outsider.get("/trends/export", params={"format": "pdf"}).status_code == 422
    assert supervisor.get("/report/export", params={"table": "secrets"}).status_code == 422


def place_names_absent(text: str) -> bool:
    return OFFICER_NAME not in text and SERIOUS not in text and "Đơn vị thử" not in text


def test_every_download_is_audited(server: RunningServer, place: Place) -> None:
    http = signed_in(server, "supervisor", place.child)
    for path, params, name in (
        ("/trends/export", {"officer": place.officer, **RANGE}, "trends-trend"),
        ("/heatmap/export", {"unit": place.child}, "heatmap"),
        ("/reasons/export", {}, "reasons"),
        ("/comments/export", RANGE, "comments"),
        ("/cases/export", {"closed": "true"}, "cases"),
        ("/alerts/export", {}, "alerts"),
        ("/report/export", {"table": "cases", "period": "2026-H1"}, "report-2026-H1-cases"),
        ("/fleet/export", {}, "kiosks"),
    ):
        answer = http.get(path, params={**params, "format": "csv"})
        assert answer.status_code == 200, (path, answer.text)
        assert f'filename="{name}.csv"' in answer.headers["content-disposition"]
        audited = last_audit(server)
        assert (audited.action, audited.object) == ("export", f"{name} (csv)"), path
        assert audited.actor.startswith("supervisor-") and audited.client == "127.0.0.1"
    assert "from 2026-02-28T17:00:00+00:00 to 2026-03-31T17:00:00+00:00" in audited_detail(
        server, "comments (csv)")


def audited_detail(server: RunningServer, target: str) -> str:
    with server.sessions() as session:
        return session.scalars(select(AuditEntry.detail).where(AuditEntry.object == target)
                               .order_by(AuditEntry.id.desc()).limit(1)).one()


def test_a_cell_a_spreadsheet_would_run_as_a_formula_stays_text() -> None:
    line = tables.csv_line(["=HYPERLINK(\"http://x\")", "+84 912", "-1", "@SUM(A1)", -1, "ok"])
    assert line == "\"'=HYPERLINK(\"\"http://x\"\")\",'+84 912,'-1,'@SUM(A1),-1,ok\r\n"
