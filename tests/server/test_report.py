"""The 6-monthly dialogue report, and the public page's privacy."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from analytics_helpers import given, post_ratings
from server_harness import RunningServer, make_org, signed_in

from hailong.sync.server import org
from hailong.sync.server.models_cases import ActionNote, Alert
from hailong.sync.server.trends import LOCAL_TZ, half_of


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def dialogue(server: RunningServer) -> dict[str, int]:
    """Sub-unit ratings. 2026-H2: 5, 5, 5, 4 and a harassment 1 → SIPAS 4/5 = 80 %,
    766 80 %. 2026-H1: 5, 3 → 50 %. Change: +30 points. An alert raised in
    2026-H2 with an action on it."""
    parent = make_org(server.sessions, officers=1)
    child = make_org(server.sessions, officers=1, parent_id=parent.unit_id)
    officer = child.officer_ids[0]
    post_ratings(server, child.counter_ids[0], [
        *(given(officer, level, at("2026-08-03T03:00:00")) for level in (5, 5, 5, 4)),
        given(officer, 1, at("2026-08-04T03:00:00"), reason="harassment_or_payment"),
        given(officer, 5, at("2026-02-03T03:00:00")), given(officer, 3, at("2026-02-03T04:00:00")),
    ])
    with server.sessions() as session:
        alert = Alert(unit_id=child.unit_id, rule="negative_share:24h",
                      window_start=at("2026-08-03T00:00:00"), window_end=at("2026-08-04T00:00:00"),
                      valid=12, value=41.7, threshold=33.3, raised_at=at("2026-08-04T00:00:00"),
                      status="closed")
        session.add(alert)
        session.flush()
        session.add(ActionNote(kind="alert", item_id=alert.id, at=at("2026-08-05T02:00:00"),
                               actor="truong-phong", action="close",
                               text="Bố trí thêm một quầy buổi sáng"))
        session.commit()
    return {"parent": parent.unit_id, "child": child.unit_id}


def figure(html: str, row: str) -> list[str]:
    found = re.search(rf'data-row="{row}">(.*?)</tr>', html, re.S)
    assert found is not None, row
    return re.findall(r'class="num">([^<]*)<', found.group(1))


def test_the_report_compares_the_half_year_with_the_previous_one(
    server: RunningServer, dialogue: dict[str, int]
) -> None:
    head = signed_in(server, "supervisor", dialogue["parent"])
    page = head.get("/report", params={"unit": dialogue["child"], "period": "2026-H2"})
    assert page.status_code == 200, page.text
    html = page.text
    assert figure(html, "sipas") == ["80.0%", "50.0%"]
    assert figure(html, "d766") == ["80.0%", "100.0%"]
    assert figure(html, "valid") == ["5", "2"]
    assert figure(html, "gap") == ["\u22125.0 points", "\u221235.0 points"]
    assert re.search(r'id="change">[^<]*<strong>\+30.0 points</strong>', html)
    assert 'data-reason="harassment_or_payment"' in html
    assert "Bố trí thêm một quầy buổi sáng" in html and "truong-phong" in html
    # the harassment case opened when the rating arrived: in today's half-year
    this_half = {"unit": dialogue["child"], "period": half_of(datetime.now(LOCAL_TZ).date())}
    assert "data-case-id=" in head.get("/report", params=this_half).text
    own = signed_in(server, "supervisor", dialogue["child"])
    assert "data-case-id=" not in own.get("/report", params=this_half).text
    css = server.http().get("/static/style.css").text
    assert "@media print" in css and "size: A4" in css
    assert "https://" not in html


def test_the_report_is_scoped_and_checks_its_period(
    server: RunningServer, dialogue: dict[str, int]
) -> None:
    own = signed_in(server, "supervisor", dialogue["child"])
    assert own.get("/report", params={"period": "2026-H2"}).status_code == 200
    assert own.get("/report", params={"unit": dialogue["parent"]}).status_code == 404
    assert own.get("/report", params={"period": "2026-H3"}).status_code == 400
    assert own.get("/report", params={"period": "2026-Q1"}).status_code == 400
    assert signed_in(server, "technician", dialogue["child"]).get("/report").status_code == 403
    assert signed_in(server, "admin", None).get("/report", params={"unit": ""}).status_code == 200


def test_the_public_page_shows_no_officer_no_comment_and_no_phone(
    server: RunningServer,
) -> None:
    secret = uuid.uuid4().hex[:6]
    with server.sessions() as session:
        unit = org.add_unit(session, f"Trung tâm riêng tư {secret}")
        counter = org.add_counter(session, unit.id, "Quầy 1")
        officer = org.add_officer(session, unit.id, f"Trần Thị Kín {secret}", "Chuyên viên")
        unit_id, counter_id, officer_id = unit.id, counter.id, officer.id
    post_ratings(server, counter_id, [
        given(officer_id, 1, datetime.now(UTC) - timedelta(hours=1), reason="staff_attitude",
              comment=f"Thái độ không tốt {secret}", callback_phone="0987654321",
              phone_consent=True),
        given(officer_id, 5, datetime.now(UTC) - timedelta(hours=1)),
    ])
    html = server.http().get("/public").text
    assert f'data-unit-id="{unit_id}"' in html
    for private in (f"Trần Thị Kín {secret}", f"Thái độ không tốt {secret}", "0987654321",
                    "987654321", "654321", "The officer's attitude"):
        assert private not in html
    section = re.search(rf'data-unit-id="{unit_id}">(.*?)</section>', html, re.S)
    assert section is not None and section.group(1).count("<tr data-month=") == 12
