"""Trends per day, week and month against the target and the city average: the
pure bucketing by hand, then the page through the real server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from analytics_helpers import given, post_ratings
from server_harness import RunningServer, make_org, serve, signed_in

from hailong.config.settings import ServerSettings
from hailong.sync.server.models_oversight import AuditEntry
from hailong.sync.server.scores import RatingPoint
from hailong.sync.server.trends import (
    buckets,
    build_trend,
    half_of,
    half_year,
    month_headroom,
    previous_half,
)
from hailong.sync.wire import API_PREFIX


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_weeks_start_on_monday_and_months_cross_the_year() -> None:
    assert buckets(date(2026, 3, 4), date(2026, 3, 16), "week") == [
        date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16)]
    assert buckets(date(2025, 11, 20), date(2026, 2, 1), "month") == [
        date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]
    assert len(buckets(date(2026, 2, 27), date(2026, 3, 2), "day")) == 4
    with pytest.raises(ValueError, match="before it starts"):
        buckets(date(2026, 3, 2), date(2026, 3, 1), "day")
    with pytest.raises(ValueError, match="coarser"):
        buckets(date(2020, 1, 1), date(2026, 1, 1), "day")


def test_a_trend_by_month_is_computed_in_vietnam_time() -> None:
    """March: 5, 5, 4, 1 → SIPAS 3/4 = 75 %, 766 3/4 = 75 %. April: 5, 3 and a
    flagged 1 → SIPAS 1/2 = 50 %, 766 2/2 = 100 %. 31 March 17:30 UTC is already
    1 April 00:30 in Vietnam; 28 February 16:59 UTC is still February."""
    points = [
        RatingPoint(at("2026-02-28T16:59:00"), 1, False),
        RatingPoint(at("2026-03-02T02:00:00"), 5, False),
        RatingPoint(at("2026-03-10T02:00:00"), 5, False),
        RatingPoint(at("2026-03-20T02:00:00"), 4, False),
        RatingPoint(at("2026-03-31T16:59:00"), 1, False),
        RatingPoint(at("2026-03-31T17:30:00"), 5, False),
        RatingPoint(at("2026-04-15T09:00:00"), 3, False),
        RatingPoint(at("2026-04-15T09:01:00"), 1, True),
    ]
    trend = build_trend(points, date(2026, 3, 1), date(2026, 4, 30), "month", 85.0, 80.0,
                        min_plotted=1)
    march, april = trend.points
    assert (march.bucket, march.valid, march.sipas_index, march.decision766_rate) == (
        date(2026, 3, 1), 4, 75.0, 75.0)
    assert (april.valid, april.flagged, april.sipas_index, april.decision766_rate) == (
        2, 1, 50.0, 100.0)
    assert march.gap == pytest.approx(-10.0) and april.gap == pytest.approx(-35.0)
    assert trend.total.valid == 6 and trend.sipas_index == pytest.approx(4 / 6 * 100)
    assert trend.target_y == pytest.approx(28.0) and trend.city_y == pytest.approx(34.0)
    assert len(trend.sipas_lines) == 1 and trend.sipas_lines[0].count(",") == 2


def test_an_empty_bucket_breaks_the_line() -> None:
    points = [RatingPoint(at("2026-03-02T02:00:00"), 5, False),
              RatingPoint(at("2026-03-04T02:00:00"), 2, False)]
    trend = build_trend(points, date(2026, 3, 2), date(2026, 3, 4), "day", 85.0, min_plotted=1)
    assert [p.sipas_index for p in trend.points] == [100.0, None, 0.0]
    assert len(trend.sipas_lines) == 2 and trend.city_y is None


def test_a_bucket_with_few_ratings_stays_off_the_chart() -> None:
    few = [RatingPoint(at("2026-03-02T02:00:00"), 1, False)] * 4
    enough = [RatingPoint(at("2026-03-03T02:00:00"), 5, False)] * 5
    trend = build_trend(few + enough, date(2026, 3, 2), date(2026, 3, 3), "day", 85.0)
    assert [p.sipas_index for p in trend.points] == [0.0, 100.0]
    assert [p.y_sipas is None for p in trend.points] == [True, False]


def test_the_headroom_counts_this_months_negatives_to_spare() -> None:
    """17 satisfied of 18 this month: 17/(18+k) ≥ 0.85 ⇔ k ≤ 2. Last month's
    ratings do not count."""
    month = [RatingPoint(at("2026-11-03T02:00:00"), 5, False)] * 17
    month.append(RatingPoint(at("2026-11-03T03:00:00"), 2, False))
    earlier = [RatingPoint(at("2026-10-30T02:00:00"), 1, False)] * 5
    assert month_headroom(month + earlier, date(2026, 11, 25), 85.0) == 2
    assert month_headroom(month, date(2026, 11, 25), 95.0) is None
    assert month_headroom(earlier, date(2026, 11, 25), 85.0) is None


def test_half_years() -> None:
    assert half_year("2026-H1") == (date(2026, 1, 1), date(2026, 6, 30))
    assert half_year("2026-H2") == (date(2026, 7, 1), date(2026, 12, 31))
    assert previous_half("2026-H1") == "2025-H2" and previous_half("2026-H2") == "2026-H1"
    assert half_of(date(2026, 7, 1)) == "2026-H2"
    for bad in ("2026-H3", "2026", "26-H1", "2026-h1", "0001-H1"):
        with pytest.raises(ValueError):
            half_year(bad)


def cells(html: str, bucket: str) -> list[str]:
    row = re.search(rf'data-bucket="{bucket}">(.*?)</tr>', html, re.S)
    assert row is not None, bucket
    return re.findall(r'class="num[^"]*">([^<]*)<', row.group(1))


@pytest.fixture
def tree(server: RunningServer) -> dict[str, int]:
    """A parent unit and its sub-unit. Sub-unit officer A in March 2026: 5, 5, 4, 1
    and in April 5 (31 March 17:30 UTC: 00:30 in Vietnam), 3. Parent officer P in
    March: 5, 5."""
    parent = make_org(server.sessions, officers=1)
    child = make_org(server.sessions, officers=2, parent_id=parent.unit_id)
    a = child.officer_ids[0]
    post_ratings(server, child.counter_ids[0], [
        given(a, 5, at("2026-03-02T02:00:00")), given(a, 5, at("2026-03-10T02:00:00")),
        given(a, 4, at("2026-03-20T02:00:00")), given(a, 1, at("2026-03-31T16:59:00")),
        given(a, 5, at("2026-03-31T17:30:00")), given(a, 3, at("2026-04-15T09:00:00")),
    ])
    post_ratings(server, parent.counter_ids[0], [
        given(parent.officer_ids[0], 5, at("2026-03-05T02:00:00")),
        given(parent.officer_ids[0], 5, at("2026-03-06T02:00:00")),
    ])
    return {"parent": parent.unit_id, "child": child.unit_id, "a": a,
            "other_officer": parent.officer_ids[0]}


RANGE = {"from": "2026-03-01", "to": "2026-04-30", "step": "month"}


def test_the_trend_page_shows_the_unit_with_its_sub_units(
    server: RunningServer, tree: dict[str, int]
) -> None:
    http = signed_in(server, "supervisor", tree["parent"])
    page = http.get("/trends", params=RANGE)
    assert page.status_code == 200, page.text
    # the parent's own 5, 5 and the sub-unit's March: 6 valid, 5 satisfied, 1 negative
    assert cells(page.text, "2026-03-01") == ["6", "0", "83.3%", "\u22121.7 points", "83.3%"]
    assert cells(page.text, "2026-04-01") == ["2", "0", "50.0%", "\u221235.0 points", "100.0%"]
    sub = re.search(rf'data-unit-id="{tree["child"]}">(.*?)</tr>', page.text, re.S)
    assert sub is not None and "75.0%" in sub.group(1) and "50.0%" in sub.group(1)
    assert "<svg" in page.text and "<polyline" in page.text and "https://" not in page.text
    assert 'class="target"' in page.text and 'class="city"' not in page.text

    officer = http.get("/trends", params={**RANGE, "officer": tree["a"]})
    assert cells(officer.text, "2026-03-01")[:3] == ["4", "0", "75.0%"]
    with server.sessions() as session:
        assert session.query(AuditEntry).filter_by(
            action="officer_view", object=f"officer {tree['a']}").count() >= 1


def test_the_trend_page_is_scoped(server: RunningServer, tree: dict[str, int]) -> None:
    child = signed_in(server, "supervisor", tree["child"])
    assert child.get("/trends", params=RANGE).status_code == 200
    assert child.get("/trends", params={**RANGE, "unit": tree["parent"]}).status_code == 404
    assert child.get("/trends", params={"officer": tree["other_officer"]}).status_code == 404
    for bad in ("abc", "²", "0", "99999999999"):
        assert child.get("/trends", params={"unit": bad}).status_code == 400, bad
    for far in ({"to": "0001-06-01"}, {"from": "9999-01-01", "to": "9999-02-01"}):
        assert child.get("/trends", params=far).status_code == 400, far
    assert child.get("/trends", params={"from": "2026-05-01", "to": "2026-04-01"}
                     ).status_code == 400
    assert child.get("/trends", params={"from": "2000-01-01", "step": "day"}).status_code == 400
    technician = signed_in(server, "technician", tree["child"])
    assert technician.get("/trends").status_code == 403
    anonymous = server.http().get("/trends", allow_redirects=False)
    assert anonymous.status_code == 303 and "/login" in anonymous.headers["location"]
    admin = signed_in(server, "admin", None)
    assert admin.get("/trends", params={**RANGE, "unit": ""}).status_code == 200


@pytest.fixture(scope="module")
def strict_server(database_url: str, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[RunningServer]:
    """The same database, served with a 90 % target, a city average of 80 % and
    ranking from 3 ratings."""
    settings = ServerSettings(data_dir=tmp_path_factory.mktemp("strict"),
                              database_url=database_url, target_index=90.0,
                              city_average_index=80.0, min_ratings_to_rank=3)
    with serve(settings) as running:
        yield running


def test_the_settings_set_the_target_the_city_average_and_the_ranking(
    strict_server: RunningServer,
) -> None:
    place = make_org(strict_server.sessions, officers=2)
    a, b = place.officer_ids
    when = datetime.now(UTC) - timedelta(hours=1)
    post_ratings(strict_server, place.counter_ids[0],
                 [given(a, 5, when)] * 8 + [given(a, 2, when)] + [given(b, 5, when)] * 3)
    http = signed_in(strict_server, "supervisor", place.unit_id)
    board = http.get(f"{API_PREFIX}/scores").json()
    assert board["target_percent"] == 90.0 and board["min_valid"] == 3
    rows = {row["id"]: row for row in board["rows"]}
    # 8/9 = 88.9 % is below 90: nothing to spare; B (3 ratings) is ranked
    assert rows[a]["negatives_to_spare"] is None and rows[b]["rank"] == 1
    assert rows[a]["gap_to_target"] == pytest.approx(8 / 9 * 100 - 90)
    trend = http.get("/trends").text
    assert 'class="city"' in trend and "80.0%" in trend and "90.0%" in trend
    public = strict_server.http().get("/public").text
    assert 'class="city-average"' in public and "80.0%" in public
    officers = http.get("/").text
    assert "90%" in officers
