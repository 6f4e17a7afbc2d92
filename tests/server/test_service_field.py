"""Scores per service field (lĩnh vực): a field's row is its counters within one
unit, over real HTTP and the real `hailong admin`, against figures worked out by
hand."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from server_harness import (
    Http,
    RatingMaker,
    RunningServer,
    enroll,
    signed_in,
    statuses,
    upload,
)

from hailong.cli import main
from hailong.sync.server import org
from hailong.sync.wire import API_PREFIX

IRRIGATION = "Thủy lợi"
FORESTRY = "Lâm nghiệp"


@dataclass(frozen=True)
class Fields:
    unit_id: int
    irrigation: int
    forestry: int
    no_field: int


def rate(server: RunningServer, counter_id: int, officer_id: int,
         ratings: list[tuple[int, int]], flagged: int = 0) -> None:
    """`ratings`: (SIPAS level, how many); `flagged` more 1s sent too soon."""
    kiosk = enroll(server, counter_id)
    maker = RatingMaker(counter_id)
    items = [maker.item(officer_id, level) for level, count in ratings for _n in range(count)]
    items += [maker.item(officer_id, 1, flags=("too_soon",)) for _n in range(flagged)]
    assert set(statuses(upload(server, kiosk, maker.batch(items)))) == {"accepted"}


def make_unit(server: RunningServer, fields: tuple[str | None, ...]) -> tuple[int, list[int], int]:
    """A new unit with one counter per entry of `fields`, and one officer."""
    with server.sessions() as session:
        unit = org.add_unit(session, f"Đơn vị lĩnh vực {uuid.uuid4().hex[:8]}")
        counters = [org.add_counter(session, unit.id, f"Quầy {n}", field).id
                    for n, field in enumerate(fields, start=1)]
        officer = org.add_officer(session, unit.id, "Cán bộ thử").id
        return unit.id, counters, officer


@pytest.fixture
def fields(server: RunningServer) -> Fields:
    """Thủy lợi at counters 1 and 2: 12×5, 8×4, 5×3 (+2 flagged) and 10×5, 2×4,
    3×2, so 40 valid: SIPAS 32/40 = 80 %, 766 37/40 = 92.5 %. Lâm nghiệp at
    counter 3: 25×5, 4×4, 3×1: SIPAS 29/32 = 90.625 %, 766 29/32 = 90.625 %.
    SIPAS ranks Lâm nghiệp first where 766 would rank Thủy lợi first. Counter 4
    has no field: its ratings are in no field's row."""
    unit_id, counters, officer = make_unit(
        server, (IRRIGATION, "Thu\u0309y lo\u031b\u0323i", FORESTRY, None))
    rate(server, counters[0], officer, [(5, 12), (4, 8), (3, 5)], flagged=2)
    rate(server, counters[1], officer, [(5, 10), (4, 2), (2, 3)])
    rate(server, counters[2], officer, [(5, 25), (4, 4), (1, 3)])
    rate(server, counters[3], officer, [(1, 5)])
    return Fields(unit_id, counters[0], counters[2], counters[3])


def field_board(http: Http, **params: Any) -> dict[str, Any]:
    answer = http.get(f"{API_PREFIX}/scores", params={"level": "field", **params})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_fields_add_up_their_counters_and_are_ranked_by_the_sipas_index(
    server: RunningServer, fields: Fields
) -> None:
    http = signed_in(server, "supervisor", fields.unit_id)
    board = field_board(http)
    assert board["level"] == "field"
    rows = board["rows"]
    # a decomposed "Thủy lợi" was stored composed (NFC), so both counters are one field
    assert [(r["id"], r["name"]) for r in rows] == [
        (fields.forestry, FORESTRY), (fields.irrigation, IRRIGATION)]
    forestry, irrigation = rows
    assert (irrigation["ratings"], irrigation["valid"], irrigation["flagged"]) == (42, 40, 2)
    assert irrigation["by_sipas_level"] == {"1": 0, "2": 3, "3": 5, "4": 10, "5": 22}
    assert irrigation["sipas_index"] == pytest.approx(80.0)
    assert irrigation["decision766_rate"] == pytest.approx(92.5)
    assert irrigation["sipas_interval"] == pytest.approx([65.242, 89.500], abs=0.001)
    assert irrigation["negatives_to_spare"] is None
    assert irrigation["gap_to_target"] == pytest.approx(-5.0)
    assert (forestry["ratings"], forestry["valid"], forestry["flagged"]) == (32, 32, 0)
    assert forestry["sipas_index"] == pytest.approx(90.625)
    assert forestry["decision766_rate"] == pytest.approx(90.625)
    assert forestry["sipas_interval"] == pytest.approx([75.782, 96.760], abs=0.001)
    assert forestry["negatives_to_spare"] == 2  # 29/34 = 85.3 %, 29/35 = 82.9 %
    assert (forestry["rank"], irrigation["rank"]) == (1, 2)
    assert {r["unit_id"] for r in rows} == {fields.unit_id}

    # Lâm nghiệp's 32 valid ratings are too few to rank against a minimum of 33.
    fewer = {r["id"]: r["rank"] for r in field_board(http, min_valid=33)["rows"]}
    assert fewer == {fields.irrigation: 1, fields.forestry: None}

    export = http.get(f"{API_PREFIX}/scores", params={"level": "field", "format": "csv"})
    assert export.status_code == 200
    lines = export.text.lstrip("\ufeff").splitlines()
    assert lines[1].split(",")[:3] == ["1", str(fields.forestry), FORESTRY]
    assert 'filename="scores-fields.csv"' in export.headers["content-disposition"]


def field_row(html: str, field_id: int) -> str:
    match = re.search(rf'<tr data-field-id="{field_id}">(.*?)</tr>', html, re.S)
    assert match, f"no row for field {field_id}"
    return match.group(1)


def test_the_officers_page_shows_the_fields_board_below_the_units(
    server: RunningServer, fields: Fields
) -> None:
    html = signed_in(server, "supervisor", fields.unit_id).get("/").text
    assert html.index('class="scores units"') < html.index('class="scores fields"') < html.index(
        'class="scores officers"')
    irrigation, forestry = (field_row(html, f) for f in (fields.irrigation, fields.forestry))
    assert IRRIGATION in irrigation and "80.0%" in irrigation and "92.5%" in irrigation
    assert ">42<" in irrigation and ">2<" in irrigation and re.search(r'rank">2<', irrigation)
    assert FORESTRY in forestry and re.search(r'rank">1<', forestry)
    assert 'data-field-id="' + str(fields.no_field) + '"' not in html


def test_a_supervisor_of_another_unit_sees_only_their_own_fields(
    server: RunningServer, fields: Fields
) -> None:
    other_unit, other_counters, officer = make_unit(server, (IRRIGATION,))
    rate(server, other_counters[0], officer, [(5, 1)])
    outsider = signed_in(server, "supervisor", other_unit)
    rows = field_board(outsider)["rows"]
    assert [(r["id"], r["unit_id"], r["valid"]) for r in rows] == [
        (other_counters[0], other_unit, 1)]
    page = outsider.get("/").text
    assert f'data-field-id="{fields.irrigation}"' not in page
    assert f'data-field-id="{fields.forestry}"' not in page
    assert f'data-field-id="{other_counters[0]}"' in page

    # The same field in two units is two rows, each with its own unit's ratings.
    everyone = {r["id"]: r for r in field_board(signed_in(server, "admin", None))["rows"]}
    assert everyone[fields.irrigation]["valid"] == 40
    assert everyone[other_counters[0]]["valid"] == 1
    technician = signed_in(server, "technician", fields.unit_id)
    assert technician.get(f"{API_PREFIX}/scores", params={"level": "field"}).status_code == 403


def admin(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["admin", "--database-url", url, *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_cli_sets_and_lists_a_counters_field(
    server: RunningServer, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = admin(capsys, database_url, "unit", "add",
                           f"Chi cục {uuid.uuid4().hex[:8]}")
    assert code == 0, err
    unit = re.search(r"unit (\d+) added", out)
    assert unit is not None
    code, out, err = admin(capsys, database_url, "counter", "add", "Quầy 5", "--unit",
                           unit.group(1), "--field", " Trồng trọt và Bảo vệ thực vật ")
    assert code == 0, err
    added = re.search(r"counter (\d+) added", out)
    assert added is not None
    code, out, err = admin(capsys, database_url, "counter", "add", "Quầy 6", "--unit",
                           unit.group(1))
    assert code == 0, err
    code, out, err = admin(capsys, database_url, "counter", "add", "Quầy 7", "--unit",
                           unit.group(1), "--field", "x" * 201)
    assert code == 1 and "at most 200 characters" in err and out == ""

    code, out, _err = admin(capsys, database_url, "counter", "list", "--unit", unit.group(1))
    assert code == 0
    listed = [line.split("\t") for line in out.splitlines()]
    assert [(row[1], row[3]) for row in listed] == [
        ("Quầy 5", "Trồng trọt và Bảo vệ thực vật"), ("Quầy 6", "-")]
    assert listed[0][0] == added.group(1)

    supervisor = signed_in(server, "supervisor", int(unit.group(1)))
    rows = field_board(supervisor)["rows"]
    assert [(r["id"], r["name"], r["ratings"]) for r in rows] == [
        (int(added.group(1)), "Trồng trọt và Bảo vệ thực vật", 0)]
