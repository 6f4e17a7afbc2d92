"""The ratings export over real HTTP: JSON pages and CSV, filters, cursors, scope."""

from __future__ import annotations

import base64
import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from server_harness import (
    EnrolledKiosk,
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

from hailong.sync.server.export import Cursor, InvalidCursor
from hailong.sync.wire import API_PREFIX, RatingPage

JANUARY = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Rated:
    place: Org
    kiosks: tuple[EnrolledKiosk, EnrolledKiosk]
    # (rating id, officer id, counter id, corrected time), in upload order
    ratings: list[tuple[str, int | None, int, datetime]]


def send_old_ratings(
    server: RunningServer, kiosk: EnrolledKiosk, old: RatingMaker,
    officers: list[int | None], first_day: int,
) -> list[tuple[str, int | None, int, datetime]]:
    """Ratings from an earlier boot keep their wall time as their corrected time,
    so the test knows each one's time: one a day from `first_day`."""
    items = [
        old.item(officer, 4, wall_time=JANUARY + timedelta(days=first_day + n),
                 flags=("too_soon",) if n == 0 else ())
        for n, officer in enumerate(officers)
    ]
    sender = RatingMaker(kiosk.counter_id)
    assert set(statuses(upload(server, kiosk, sender.batch(items)))) == {"accepted"}
    # one batch is received at one time; its ratings follow one another by id
    return sorted(
        ((i["id"], i["officer_id"], kiosk.counter_id, datetime.fromisoformat(i["wall_time"]))
         for i in items),
        key=lambda rating: uuid.UUID(rating[0]),
    )


def rated_unit(server: RunningServer) -> Rated:
    place = make_org(server.sessions, officers=2)
    first, second = (enroll(server, counter) for counter in place.counter_ids)
    one, two = place.officer_ids
    old_first, old_second = RatingMaker(first.counter_id), RatingMaker(second.counter_id)
    ratings = send_old_ratings(server, first, old_first, [one, two, one], 0)
    ratings += send_old_ratings(server, second, old_second, [two, None], 3)
    ratings += send_old_ratings(server, first, old_first, [one, one], 5)
    return Rated(place, (first, second), ratings)


@pytest.fixture
def rated(server: RunningServer) -> Rated:
    return rated_unit(server)


def export_json(http: Http, **params: Any) -> list[dict[str, Any]]:
    """Every page, following the cursors."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        answer = http.get(f"{API_PREFIX}/ratings", params=query)
        assert answer.status_code == 200, answer.text
        page = RatingPage.model_validate(answer.json())
        items += answer.json()["items"]
        if page.next_cursor is None:
            return items
        assert len(page.items) == params.get("limit", len(page.items))
        cursor = page.next_cursor


def read_csv(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def test_pages_hold_every_rating_of_the_unit_once_in_received_order(
    server: RunningServer, rated: Rated
) -> None:
    elsewhere = rated_unit(server)
    supervisor = signed_in(server, "supervisor", rated.place.unit_id)
    expected = [r[0] for r in rated.ratings]
    for limit in (1, 3, 7, 1000):
        assert ids(export_json(supervisor, limit=limit)) == expected

    item = next(i for i in export_json(supervisor)
                if datetime.fromisoformat(i["corrected_time"]) == JANUARY)
    assert item["officer_name"] == "Cán bộ 1" and item["counter_name"] == "Quầy 1"
    assert item["flags"] == ["too_soon"] and item["time_verified"] is False
    assert item["unit_id"] == rated.place.unit_id

    admin_ids = set(ids(export_json(signed_in(server, "admin", None), limit=10_000)))
    assert set(expected) | {r[0] for r in elsewhere.ratings} <= admin_ids


def test_filters_by_corrected_time_officer_and_counter(
    server: RunningServer, rated: Rated
) -> None:
    supervisor = signed_in(server, "supervisor", rated.place.unit_id)
    one = rated.place.officer_ids[0]
    start, end = JANUARY + timedelta(days=1), JANUARY + timedelta(days=5)
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"from": start.isoformat(), "to": end.isoformat()},
         [r[0] for r in rated.ratings if start <= r[3] < end]),
        # no offset means UTC
        ({"from": "2026-01-02T08:00:00"}, [r[0] for r in rated.ratings if r[3] >= start]),
        ({"officer_id": one}, [r[0] for r in rated.ratings if r[1] == one]),
        ({"counter_id": rated.kiosks[1].counter_id, "limit": 1},
         [r[0] for r in rated.ratings if r[2] == rated.kiosks[1].counter_id]),
        ({"officer_id": one, "to": end.isoformat()},
         [r[0] for r in rated.ratings if r[1] == one and r[3] < end]),
    ]
    for params, expected in cases:
        assert expected, params
        assert ids(export_json(supervisor, **params)) == expected, params


def test_only_admins_and_supervisors_export_and_only_their_units(
    server: RunningServer, rated: Rated
) -> None:
    elsewhere = make_org(server.sessions, officers=1)
    assert server.http().get(f"{API_PREFIX}/ratings").status_code == 401
    technician = signed_in(server, "technician", rated.place.unit_id)
    assert technician.get(f"{API_PREFIX}/ratings").status_code == 403
    assert technician.get(f"{API_PREFIX}/ratings", params={"format": "csv"}).status_code == 403
    kiosk = rated.kiosks[0]
    assert server.http().get(f"{API_PREFIX}/ratings", headers=kiosk.headers).status_code == 401

    supervisor = signed_in(server, "supervisor", elsewhere.unit_id)
    assert export_json(supervisor) == []
    for params in ({"officer_id": rated.place.officer_ids[0]},
                   {"counter_id": rated.place.counter_ids[0]},
                   {"officer_id": 2**31 - 1}):
        assert supervisor.get(f"{API_PREFIX}/ratings", params=params).status_code == 404


def test_csv_holds_the_same_ratings_and_pages_by_header(
    server: RunningServer, rated: Rated
) -> None:
    supervisor = signed_in(server, "supervisor", rated.place.unit_id)
    as_json = export_json(supervisor)
    by_param = supervisor.get(f"{API_PREFIX}/ratings", params={"format": "csv"})
    by_accept = supervisor.get(f"{API_PREFIX}/ratings", headers={"Accept": "text/csv"})
    for answer in (by_param, by_accept):
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/csv")
        assert "attachment" in answer.headers["content-disposition"]
        assert "x-next-cursor" not in answer.headers
    assert by_param.content == by_accept.content
    rows = read_csv(by_param.content.decode("utf-8"))
    assert [row["id"] for row in rows] == ids(as_json)
    first = next(row for row in rows
                 if datetime.fromisoformat(row["corrected_time"]) == JANUARY)
    assert first["officer_name"] == "Cán bộ 1" and first["flags"] == "too_soon"
    assert first["clock_trusted"] == "true" and first["time_verified"] == "false"
    assert next(row for row in rows if row["officer_id"] == "")["officer_name"] == ""

    # a limit cuts it into pages chained by X-Next-Cursor
    seen: list[str] = []
    params: dict[str, Any] = {"format": "csv", "limit": 3}
    while True:
        answer = supervisor.get(f"{API_PREFIX}/ratings", params=params)
        assert answer.status_code == 200
        page = read_csv(answer.content.decode("utf-8"))
        seen += [row["id"] for row in page]
        if "x-next-cursor" not in answer.headers:
            break
        assert len(page) == 3
        params["cursor"] = answer.headers["x-next-cursor"]
    assert seen == ids(as_json)
    end = as_json[-1]
    params["cursor"] = Cursor(datetime.fromisoformat(end["server_received_at"]),
                              uuid.UUID(end["id"])).encode()
    answer = supervisor.get(f"{API_PREFIX}/ratings", params=params)
    assert read_csv(answer.content.decode("utf-8")) == []
    assert "x-next-cursor" not in answer.headers


def test_a_kept_cursor_picks_up_ratings_that_arrive_later(
    server: RunningServer, rated: Rated
) -> None:
    supervisor = signed_in(server, "supervisor", rated.place.unit_id)
    everything = RatingPage.model_validate(
        supervisor.get(f"{API_PREFIX}/ratings", params={"limit": 4}).json())
    assert everything.next_cursor is not None
    rest = RatingPage.model_validate(supervisor.get(
        f"{API_PREFIX}/ratings", params={"cursor": everything.next_cursor}).json())
    assert rest.next_cursor is None

    # the last page was read to its end: remember where it stopped
    last = Cursor(rest.items[-1].server_received_at, rest.items[-1].id).encode()
    another_boot = RatingMaker(rated.kiosks[1].counter_id)
    another_boot.seq = 100
    later = send_old_ratings(server, rated.kiosks[1], another_boot, [rated.place.officer_ids[1]], 0)
    new = RatingPage.model_validate(
        supervisor.get(f"{API_PREFIX}/ratings", params={"cursor": last}).json())
    assert [str(item.id) for item in new.items] == [later[0][0]]


def encoded(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "%%%",
        encoded("not a cursor"),
        encoded("2026-01-01T08:00:00+00:00|not-a-uuid"),
        encoded(f"2026-01-01T08:00:00|{uuid.UUID(int=1)}"),  # no time zone
        encoded(f"0001-01-01T00:00:00+07:00|{uuid.UUID(int=1)}"),  # before year 1 in UTC
        Cursor(JANUARY, uuid.UUID(int=1)).encode()[:-3],
    ],
)
def test_a_cursor_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(InvalidCursor):
        Cursor.decode(text)


def test_a_cursor_survives_its_round_trip() -> None:
    cursor = Cursor(JANUARY, uuid.uuid4())
    assert Cursor.decode(cursor.encode()) == cursor
