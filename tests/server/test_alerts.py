"""Alert rules, evaluated by a pure function; alerts raised once per open rule
and unit, then acknowledged, commented on and closed by the unit's supervisors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from analytics_helpers import given, post_ratings
from server_harness import Http, RunningServer, make_org, signed_in
from sqlalchemy import select

from hailong.sync.server import alerts
from hailong.sync.server.alerts import Rule, evaluate
from hailong.sync.server.models_cases import Alert
from hailong.sync.server.scores import Tally

DAY = Rule("negative_share", timedelta(hours=24), 10, 100 / 3)
MONTH = Rule("index_below", timedelta(days=30), 30, 85.0)


def tally(**levels: int) -> Tally:
    counts = Tally()
    for name, count in levels.items():
        counts.valid_by_level[int(name[1:])] = count
    return counts


def test_the_negative_share_rule() -> None:
    # 4 negatives of 10 = 40 % ≥ 33.3 %; 3 of 10 is not; 4 of 9 is too few ratings
    found = evaluate(DAY, tally(l5=6, l1=2, l2=2))
    assert found is not None and found.value == pytest.approx(40.0) and found.valid == 10
    assert evaluate(DAY, tally(l5=6, l3=1, l1=3)) is None
    assert evaluate(DAY, tally(l5=5, l1=4)) is None
    assert DAY.code == "negative_share:24h" and MONTH.code == "index_below:720h"


def test_the_index_rule() -> None:
    # 25 satisfied of 30 = 83.3 % < 85; 26 of 30 = 86.7 % is not
    found = evaluate(MONTH, tally(l5=20, l4=5, l3=5))
    assert found is not None and found.value == pytest.approx(25 / 30 * 100)
    assert evaluate(MONTH, tally(l5=20, l4=6, l3=4)) is None
    assert evaluate(MONTH, tally(l5=1, l1=28)) is None
    assert evaluate(MONTH, Tally()) is None


def test_an_alert_is_raised_once_until_closed_and_its_window_passed(
    server: RunningServer,
) -> None:
    place = make_org(server.sessions, officers=1)
    now = datetime.now(UTC)
    post_ratings(server, place.counter_ids[0],
                 [given(place.officer_ids[0], 5, now - timedelta(hours=1))] * 6
                 + [given(place.officer_ids[0], 1, now - timedelta(hours=1))] * 4)
    with server.sessions() as session:
        first = [a for a in alerts.raise_alerts(session, now, (DAY, MONTH))
                 if a.unit_id == place.unit_id]
        assert [(a.rule, a.valid, round(a.value, 1)) for a in first] == [
            ("negative_share:24h", 10, 40.0)]
        assert not [a for a in alerts.raise_alerts(session, now, (DAY,))
                    if a.unit_id == place.unit_id]
        first[0].status = "closed"
        assert not [a for a in alerts.raise_alerts(session, now, (DAY,))
                    if a.unit_id == place.unit_id]
        # once the window no longer reaches the closed alert, the rule may fire again
        first[0].raised_at = now - DAY.window - timedelta(seconds=1)
        again = [a for a in alerts.raise_alerts(session, now, (DAY,))
                 if a.unit_id == place.unit_id]
        assert len(again) == 1
        session.rollback()


def alert_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-alert-id="(\d+)"', html)]


def act(http: Http, number: int, action: str, text: str = "") -> int:
    token = http.form_token("/alerts")
    return http.post(f"/alerts/{number}", data={"action": action, "text": text,
                                                "csrf_token": token},
                     allow_redirects=False).status_code


def test_the_alerts_page(server: RunningServer) -> None:
    place = make_org(server.sessions, officers=1)
    now = datetime.now(UTC)
    post_ratings(server, place.counter_ids[0],
                 [given(place.officer_ids[0], 2, now - timedelta(hours=2))] * 10)
    http = signed_in(server, "supervisor", place.unit_id)
    page = http.get("/alerts")
    assert page.status_code == 200, page.text
    with server.sessions() as session:
        mine = session.scalars(select(Alert.id).where(Alert.unit_id == place.unit_id)).all()
    assert len(mine) == 1 and mine[0] in alert_ids(page.text)
    assert "100.0%" in page.text and "Share of negative ratings over 24 h" in page.text
    assert "SIPAS index over 30 days: below 85%, with at least 30 ratings" in page.text

    outsider = signed_in(server, "supervisor", make_org(server.sessions).unit_id)
    assert mine[0] not in alert_ids(outsider.get("/alerts").text)
    assert act(outsider, mine[0], "acknowledge") == 404
    assert signed_in(server, "technician", place.unit_id).get("/alerts").status_code == 403

    assert act(http, mine[0], "acknowledge") == 303
    assert act(http, mine[0], "close") == 400
    assert act(http, mine[0], "close", "Đã họp tổ, bố trí thêm quầy") == 303
    assert alert_ids(http.get("/alerts").text).count(mine[0]) == 0
    with server.sessions() as session:
        assert session.scalars(select(Alert.status).where(Alert.unit_id == place.unit_id)
                               ).all() == ["closed"]
    closed = http.get("/alerts", params={"closed": "true"}).text
    assert "Đã họp tổ, bố trí thêm quầy" in closed
