"""Officer scores over real HTTP: the numbers, who may see them, and the pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from server_harness import (
    Http,
    Org,
    RatingMaker,
    RunningServer,
    enroll,
    make_org,
    make_user,
    signed_in,
    statuses,
    upload,
)

from hailong.sync.server.auth import SESSION_COOKIE
from hailong.sync.wire import API_PREFIX, Score

OLD_TIME = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)


@pytest.fixture
def rated(server: RunningServer) -> Org:
    """A unit whose first officer has these ratings, by SIPAS level:
    from this boot 5,5,5,4,4,3,3,3,3,2 valid, plus a 5 and a 1 flagged too_soon;
    and one 1 from an earlier boot stamped January 2026 (kept unverified).
    By hand, without the old one: valid 10, SIPAS (3+2)/10 = 50 %, 766 (10−1)/10 = 90 %.
    With it: valid 11, SIPAS 5/11, 766 (11−2)/11."""
    place = make_org(server.sessions, officers=2)
    kiosk = enroll(server, place.counter_ids[0])
    maker = RatingMaker(kiosk.counter_id)
    officer = place.officer_ids[0]
    items = [maker.item(officer, level) for level in (5, 5, 5, 4, 4, 3, 3, 3, 3, 2)]
    items += [maker.item(officer, 5, flags=("too_soon",)), maker.item(officer, 1,
                                                                      flags=("too_soon",))]
    items.append(maker.item(place.officer_ids[1], 5))  # someone else's
    old = RatingMaker(kiosk.counter_id).item(officer, 1, wall_time=OLD_TIME)
    old["kiosk_seq"] = 1000
    items.append(old)
    assert set(statuses(upload(server, kiosk, maker.batch(items)))) == {"accepted"}
    return place


def score(http: Http, officer_id: int, **params: str) -> Score:
    answer = http.get(f"{API_PREFIX}/officers/{officer_id}/score", params=params)
    assert answer.status_code == 200, answer.text
    return Score.model_validate(answer.json())


def supervisor_of(server: RunningServer, unit_id: int) -> Http:
    return signed_in(server, "supervisor", unit_id)


def test_the_score_matches_the_hand_computed_figures(server: RunningServer, rated: Org) -> None:
    http = supervisor_of(server, rated.unit_id)
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    recent = score(http, rated.officer_ids[0], **{"from": since})
    assert (recent.ratings, recent.valid, recent.flagged) == (12, 10, 2)
    assert recent.by_sipas_level == {1: 0, 2: 1, 3: 4, 4: 2, 5: 3}
    assert recent.sipas_index == pytest.approx(50.0)
    assert recent.decision766_rate == pytest.approx(90.0)
    assert recent.period_start is not None and recent.period_end is None

    whole = score(http, rated.officer_ids[0])
    assert (whole.ratings, whole.valid, whole.flagged) == (13, 11, 2)
    assert whole.sipas_index == pytest.approx(500 / 11)
    assert whole.decision766_rate == pytest.approx(900 / 11)

    january = score(http, rated.officer_ids[0], **{"from": "2026-01-01T00:00:00+07:00",
                                                    "to": "2026-02-01T00:00:00+07:00"})
    assert (january.valid, january.by_sipas_level[1], january.sipas_index) == (1, 1, 0.0)

    nobody = score(http, rated.officer_ids[1], to="2025-01-01T00:00:00Z")
    assert (nobody.ratings, nobody.sipas_index, nobody.decision766_rate) == (0, None, None)


def test_scores_need_a_login_and_a_role_and_unit_that_may_see_them(
    server: RunningServer, rated: Org
) -> None:
    url = f"{API_PREFIX}/officers/{rated.officer_ids[0]}/score"
    assert server.http().get(url).status_code == 401

    forged = server.http()
    forged.session.cookies.set(SESSION_COOKIE, "eyJ1aWQiOjF9.forged.signature")
    assert forged.get(url).status_code == 401

    other_unit = make_org(server.sessions, officers=1)
    assert supervisor_of(server, other_unit.unit_id).get(url).status_code == 404
    missing = f"{API_PREFIX}/officers/999999/score"
    assert supervisor_of(server, rated.unit_id).get(missing).status_code == 404

    assert signed_in(server, "technician", rated.unit_id).get(url).status_code == 403
    assert signed_in(server, "admin", None).get(url).status_code == 200


def test_a_supervisor_sees_the_sub_units_but_not_the_parent(server: RunningServer) -> None:
    parent = make_org(server.sessions, officers=1)
    child = make_org(server.sessions, officers=1, parent_id=parent.unit_id)
    head = supervisor_of(server, parent.unit_id)
    assert head.get(f"{API_PREFIX}/officers/{child.officer_ids[0]}/score").status_code == 200
    below = supervisor_of(server, child.unit_id)
    assert below.get(f"{API_PREFIX}/officers/{parent.officer_ids[0]}/score").status_code == 404


def test_login_sets_a_protected_cookie_and_logout_ends_the_session(
    server: RunningServer,
) -> None:
    place = make_org(server.sessions, officers=1)
    username, password = make_user(server.sessions, "supervisor", place.unit_id)
    http = server.http()

    page = http.get("/", allow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/"

    wrong = http.login(username, "not the password")
    assert wrong.status_code == 401 and "Wrong username or password" in wrong.text
    assert http.login("nobody-" + username, password).status_code == 401

    answer = http.login(username, password)
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert http.get("/").status_code == 200

    assert http.logout().status_code == 303
    assert http.get("/", allow_redirects=False).status_code == 303


def test_login_never_redirects_to_another_site(server: RunningServer) -> None:
    place = make_org(server.sessions, officers=1)
    username, password = make_user(server.sessions, "supervisor", place.unit_id)
    answer = server.http().login(username, password, next_path="//evil.example/")
    assert answer.headers["location"] == "/"


def cells(html: str, officer_id: int) -> str:
    match = re.search(rf'<tr data-officer-id="{officer_id}">(.*?)</tr>', html, re.S)
    assert match, f"no row for officer {officer_id}"
    return match.group(1)


def test_the_pages_show_the_officers_of_the_unit_with_both_indices(
    server: RunningServer, rated: Org
) -> None:
    http = supervisor_of(server, rated.unit_id)
    since = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    table = http.get("/", params={"from": since})
    assert table.status_code == 200
    row = cells(table.text, rated.officer_ids[0])
    assert "Cán bộ 1" in row and "Chuyên viên" in row
    assert "50.0%" in row and "90.0%" in row
    assert ">12<" in row and ">10<" in row and ">2<" in row
    other_unit = make_org(server.sessions, officers=1)
    assert f'data-officer-id="{other_unit.officer_ids[0]}"' not in table.text
    assert "/static/style.css" in table.text and "https://" not in table.text

    detail = http.get(f"/officers/{rated.officer_ids[0]}", params={"from": since})
    assert detail.status_code == 200
    assert re.search(r'id="sipas-index"[^>]*>50\.0%<', detail.text)
    assert re.search(r'id="decision766-rate"[^>]*>90\.0%<', detail.text)
    for level, count in {5: 3, 4: 2, 3: 4, 2: 1, 1: 0}.items():
        assert re.search(rf'data-level="{level}"><td>[^<]+</td><td class="num">{count}</td>',
                         detail.text), level

    assert http.get(f"/officers/{other_unit.officer_ids[0]}").status_code == 404
    assert http.get("/static/style.css").status_code == 200
    assert http.get("/", params={"to": "9999-12-31"}).status_code == 400


def test_health_and_the_api_description(server: RunningServer) -> None:
    http = server.http()
    assert http.get("/healthz").json() == {"status": "ok"}
    spec = http.get("/openapi.json").json()
    assert f"{API_PREFIX}/ratings/batches" in spec["paths"]
    assert {"Batch", "RatingItem"} <= set(spec["components"]["schemas"])
    assert http.get("/docs").status_code == 404  # its page would load scripts from a CDN
