"""The scoreboard (`GET /api/v1/scores` and the page at `/`) over real HTTP,
against figures worked out by hand, with data where the two formulas disagree."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from server_harness import (
    Http,
    Org,
    RatingMaker,
    RunningServer,
    enroll,
    make_org,
    signed_in,
    statuses,
    upload,
)

from hailong.sync.wire import API_PREFIX


@dataclass(frozen=True)
class Board:
    place: Org
    a: int
    b: int
    c: int


@pytest.fixture
def board(server: RunningServer) -> Board:
    """Officer A at counter 1: 20×5, 6×4, 4×3 valid and two 1s flagged.
    Officer B at counter 2: 15×5, 12×4, 3×1. Officer C at counter 1: 5×5.
    By hand: A SIPAS 26/30 = 86.7 %, 766 100 %; B SIPAS 27/30 = 90 %, 766 90 %;
    so SIPAS ranks B before A while 766 would do the opposite. C has 100 % from
    5 ratings: too few to be ranked."""
    place = make_org(server.sessions, officers=3)
    a, b, c = place.officer_ids
    for counter, ratings in (
        (place.counter_ids[0],
         [(a, 5)] * 20 + [(a, 4)] * 6 + [(a, 3)] * 4 + [(c, 5)] * 5),
        (place.counter_ids[1], [(b, 5)] * 15 + [(b, 4)] * 12 + [(b, 1)] * 3),
    ):
        kiosk = enroll(server, counter)
        maker = RatingMaker(counter)
        items = [maker.item(officer, level) for officer, level in ratings]
        if counter == place.counter_ids[0]:
            items += [maker.item(a, 1, flags=("too_soon",)) for _n in range(2)]
        assert set(statuses(upload(server, kiosk, maker.batch(items)))) == {"accepted"}
    return Board(place, a, b, c)


def scores(http: Http, **params: Any) -> dict[str, Any]:
    answer = http.get(f"{API_PREFIX}/scores", params=params)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def by_id(board: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {row["id"]: row for row in board["rows"]}


def test_officers_are_ranked_by_the_sipas_index_and_the_few_are_not(
    server: RunningServer, board: Board
) -> None:
    http = signed_in(server, "supervisor", board.place.unit_id)
    answer = scores(http, level="officer")
    assert (answer["level"], answer["min_valid"], answer["target_percent"]) == ("officer", 30, 85.0)
    assert [row["id"] for row in answer["rows"]] == [board.b, board.a, board.c]
    rows = by_id(answer)
    a, b, c = rows[board.a], rows[board.b], rows[board.c]
    assert (a["ratings"], a["valid"], a["flagged"]) == (32, 30, 2)
    assert a["by_sipas_level"] == {"1": 0, "2": 0, "3": 4, "4": 6, "5": 20}
    assert a["sipas_index"] == pytest.approx(260 / 3)
    assert a["decision766_rate"] == pytest.approx(100.0)
    assert a["gap_to_target"] == pytest.approx(260 / 3 - 85)
    assert b["sipas_index"] == pytest.approx(90.0) and b["decision766_rate"] == pytest.approx(90.0)
    assert b["gap_to_target"] == pytest.approx(5.0)
    assert (b["negatives_to_spare"], a["negatives_to_spare"]) == (1, 0)  # 27/31, 26/31 < 85 %
    assert b["sipas_interval"] == pytest.approx([74.379, 96.540], abs=0.001)  # 27 of 30
    assert (b["rank"], a["rank"]) == (1, 2)
    assert (c["rank"], c["valid"], c["sipas_index"]) == (None, 5, 100.0)
    assert a["unit_name"] == board.place.unit_name

    lower = by_id(scores(http, level="officer", min_valid=5))
    assert [lower[o]["rank"] for o in (board.c, board.b, board.a)] == [1, 2, 3]


def test_counters_and_units_add_up_their_ratings(server: RunningServer, board: Board) -> None:
    http = signed_in(server, "supervisor", board.place.unit_id)
    counters = by_id(scores(http, level="counter"))
    first, second = (counters[c] for c in board.place.counter_ids)
    # counter 1: A's 30 + C's 5 valid → 5: 25, 4: 6, 3: 4; A's 2 flagged
    assert (first["valid"], first["flagged"]) == (35, 2)
    assert first["sipas_index"] == pytest.approx(3100 / 35)
    assert first["decision766_rate"] == pytest.approx(100.0)
    assert (second["valid"], second["sipas_index"]) == (30, pytest.approx(90.0))
    assert (second["rank"], first["rank"]) == (1, 2)

    units = scores(http, level="unit")["rows"]
    assert [row["id"] for row in units] == [board.place.unit_id]
    unit = units[0]
    # 65 valid: 5: 40, 4: 18, 3: 4, 1: 3
    assert (unit["ratings"], unit["valid"], unit["flagged"]) == (67, 65, 2)
    assert unit["sipas_index"] == pytest.approx(5800 / 65)
    assert unit["decision766_rate"] == pytest.approx(6200 / 65)
    assert unit["sipas_interval"] == pytest.approx([79.398, 94.685], abs=0.001)
    assert unit["negatives_to_spare"] == 3  # 58/68 = 85.3 %, 58/69 = 84.1 %


def test_the_period_bounds_the_scores(server: RunningServer, board: Board) -> None:
    http = signed_in(server, "supervisor", board.place.unit_id)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    later = by_id(scores(http, level="officer", **{"from": tomorrow}))
    assert {row["valid"] for row in later.values()} == {0}
    assert {row["rank"] for row in later.values()} == {None}
    assert {row["sipas_index"] for row in later.values()} == {None}
    until_now = by_id(scores(http, level="officer", to=tomorrow))
    assert until_now[board.b]["valid"] == 30


def test_the_scoreboard_is_scoped_to_the_callers_units(
    server: RunningServer, board: Board
) -> None:
    url = f"{API_PREFIX}/scores"
    assert server.http().get(url).status_code == 401
    assert signed_in(server, "technician", board.place.unit_id).get(url).status_code == 403
    other = make_org(server.sessions, officers=1)
    outsider = signed_in(server, "supervisor", other.unit_id)
    for level, own in (("officer", other.officer_ids), ("counter", other.counter_ids),
                       ("unit", (other.unit_id,))):
        assert {row["id"] for row in scores(outsider, level=level)["rows"]} == set(own)
    everyone = by_id(scores(signed_in(server, "admin", None), level="officer", min_valid=1))
    assert {board.a, board.b, board.c, *other.officer_ids} <= set(everyone)
    assert server.http().get(url, params={"level": "kiosk"}).status_code in (401, 422)
    admin = signed_in(server, "admin", None)
    assert admin.get(url, params={"level": "kiosk"}).status_code == 422
    assert admin.get(url, params={"min_valid": 0}).status_code == 422


def row_of(html: str, officer_id: int) -> str:
    match = re.search(rf'<tr data-officer-id="{officer_id}">(.*?)</tr>', html, re.S)
    assert match, f"no row for officer {officer_id}"
    return match.group(1)


def test_the_officer_table_shows_ranks_the_gap_and_who_is_not_ranked(
    server: RunningServer, board: Board
) -> None:
    http = signed_in(server, "supervisor", board.place.unit_id)
    today = datetime.now(UTC).date()
    page = http.get("/", params={"from": (today - timedelta(days=1)).isoformat(),
                                 "to": (today + timedelta(days=1)).isoformat()})
    assert page.status_code == 200
    html = page.text
    assert html.index(f'data-officer-id="{board.b}"') < html.index(
        f'data-officer-id="{board.a}"') < html.index(f'data-officer-id="{board.c}"')
    b, a, c = (row_of(html, o) for o in (board.b, board.a, board.c))
    assert re.search(r'class="num rank">1<', b) and re.search(r'class="num rank">2<', a)
    assert "+5.0 points" in b and "90.0%" in b
    assert "\u22121.7 points" not in a and "+1.7 points" in a  # 86.7 − 85
    assert "fewer than 30 valid ratings" in c and ">5<" in c and "100.0%" in c
    assert 'id="unranked-note"' in html
    unit_row = re.search(rf'<tr data-unit-id="{board.place.unit_id}">(.*?)</tr>', html, re.S)
    assert unit_row is not None and 'class="num spare">3<' in unit_row.group(1)

    link = re.search(r'id="export-csv" href="([^"]+)"', html)
    assert link is not None
    export = http.get(link.group(1).replace("&amp;", "&"))
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert len(export.text.strip().splitlines()) == 1 + 67
