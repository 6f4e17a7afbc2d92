"""Excel exports of the ratings and of the officer table, opened with openpyxl."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from server_harness import RatingMaker, RunningServer, enroll, make_org, signed_in, statuses, upload
from sqlalchemy import update

from hailong.sync.server import xlsx
from hailong.sync.server.models import Officer
from hailong.sync.wire import API_PREFIX

FORMULA_NAME = "=HYPERLINK(\"http://127.0.0.1/\",\"Nguyễn\")"


def sheet_rows(content: bytes) -> tuple[openpyxl.worksheet.worksheet.Worksheet, list[tuple]]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    sheet = book.active
    return sheet, list(sheet.iter_rows(values_only=True))


def test_cells_keep_their_types_and_text_never_becomes_a_formula() -> None:
    when = datetime(2026, 3, 10, 3, 0, 5, tzinfo=UTC)
    rows = [[FORMULA_NAME, when, ["x", "y"], True, None], [1, 2.5, "a\x07b", 0, ""]]
    content = xlsx.workbook("t" * 40, ["a", "b", "c", "d", "e"], rows)
    sheet, rows = sheet_rows(content)
    assert sheet.title == "t" * 31
    assert rows[1] == (FORMULA_NAME, when.replace(tzinfo=None), "x;y", True, None)
    assert rows[2][:3] == (1, 2.5, "ab")
    assert sheet["A2"].data_type == "s"


def test_too_many_rows_for_a_sheet_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx, "MAX_ROWS", 3)
    xlsx.workbook("t", ["a"], [[1]] * 3)
    with pytest.raises(xlsx.TooManyRows):
        xlsx.workbook("t", ["a"], [[1]] * 4)


def test_the_ratings_and_the_officer_table_export_to_excel(server: RunningServer) -> None:
    place = make_org(server.sessions, officers=2)
    first, second = place.officer_ids
    with server.sessions() as session:
        session.execute(update(Officer).where(Officer.id == first).values(name=FORMULA_NAME))
        session.commit()
    kiosk = enroll(server, place.counter_ids[0])
    maker = RatingMaker(kiosk.counter_id)
    levels = (5, 5, 4, 3, 2, 1, 4)
    items = [maker.item(first, level) for level in levels] + [maker.item(second, 5)]
    assert set(statuses(upload(server, kiosk, maker.batch(items)))) == {"accepted"}
    http = signed_in(server, "supervisor", place.unit_id)
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()

    answer = http.get(f"{API_PREFIX}/ratings", params={"format": "xlsx", "from": since})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == xlsx.XLSX_TYPE
    assert 'filename="ratings.xlsx"' in answer.headers["content-disposition"]
    _sheet, rows = sheet_rows(answer.content)
    as_csv = http.get(f"{API_PREFIX}/ratings", params={"format": "csv", "from": since})
    exported = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert list(rows[0]) == exported[0]
    header = rows[0]
    assert len(rows) == len(exported) == len(items) + 1
    table = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    assert sorted(r["sipas_level"] for r in table if r["officer_id"] == first) == sorted(levels)
    assert {r["officer_name"] for r in table if r["officer_id"] == first} == {FORMULA_NAME}
    assert all(isinstance(r["corrected_time"], datetime) for r in table)
    assert {r["id"] for r in table} == {row[0] for row in exported[1:]}
    by_accept = http.get(f"{API_PREFIX}/ratings", params={"from": since},
                         headers={"Accept": xlsx.XLSX_TYPE})
    assert by_accept.headers["content-type"] == xlsx.XLSX_TYPE

    board = http.get(f"{API_PREFIX}/scores", params={"format": "xlsx", "from": since})
    assert board.status_code == 200 and board.headers["content-type"] == xlsx.XLSX_TYPE
    sheet, rows = sheet_rows(board.content)
    columns = rows[0]
    officers = {row[columns.index("id")]: dict(zip(columns, row, strict=True)) for row in rows[1:]}
    assert set(officers) == {first, second}
    mine = officers[first]
    # 7 valid: 4 satisfied or very satisfied, 2 not satisfied
    assert (mine["ratings"], mine["valid"], mine["flagged"]) == (7, 7, 0)
    assert mine["sipas_index"] == pytest.approx(4 / 7 * 100)
    assert mine["decision766_rate"] == pytest.approx(5 / 7 * 100)
    assert [mine[f"sipas_level_{n}"] for n in (5, 4, 3, 2, 1)] == [2, 2, 1, 1, 1]
    assert mine["rank"] is None  # fewer than 30 valid ratings
    assert mine["name"] == FORMULA_NAME
    name_cell = sheet.cell(row=2 + list(officers).index(first), column=columns.index("name") + 1)
    assert name_cell.data_type == "s"

    as_csv = http.get(f"{API_PREFIX}/scores", params={"format": "csv", "from": since})
    assert as_csv.headers["content-type"].startswith("text/csv")
    csv_rows = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert {int(r["id"]) for r in csv_rows} == {first, second}


def test_the_officer_page_links_each_csv_to_its_excel_twin(server: RunningServer) -> None:
    place = make_org(server.sessions, officers=1)
    page = signed_in(server, "supervisor", place.unit_id).get("/", params={"from": "2026-03-01"})
    links = dict(re.findall(r'id="(\w+-(?:csv|xlsx))" href="([^"]+)"', page.text))
    assert set(links) == {"export-csv", "export-xlsx", "officers-csv", "officers-xlsx"}
    assert links["export-xlsx"] == links["export-csv"].replace("format=csv", "format=xlsx")
    assert links["officers-xlsx"].startswith(f"{API_PREFIX}/scores?format=xlsx&amp;from=")
