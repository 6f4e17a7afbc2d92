"""Cases: a serious reason opens one, due in 5 working days, for the head of the
unit above; never for the unit's own supervisors or the officer concerned."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic import command
from analytics_helpers import given, post_ratings
from server_harness import Http, RunningServer, make_org, make_user, signed_in
from sqlalchemy import inspect, select

from hailong.sync.server import cases
from hailong.sync.server.browser import Chromium
from hailong.sync.server.db import alembic_config, make_engine, migrate
from hailong.sync.server.models import User
from hailong.sync.server.models_cases import Case
from hailong.sync.server.screenshots import PHONE_WIDTH
from hailong.sync.server.trends import LOCAL_TZ


def test_the_deadline_counts_working_days_in_vietnam_time() -> None:
    assert cases.add_working_days(date(2026, 3, 6), 5) == date(2026, 3, 13)  # Friday
    assert cases.add_working_days(date(2026, 3, 7), 1) == date(2026, 3, 9)  # Saturday
    assert cases.add_working_days(date(2026, 3, 4), 5) == date(2026, 3, 11)
    # Friday 6 March 18:00 UTC is Saturday 01:00 in Vietnam: due at the end of Friday 13th
    due = cases.due_after(datetime(2026, 3, 6, 18, tzinfo=UTC))
    assert due == datetime(2026, 3, 14, tzinfo=LOCAL_TZ)


def test_the_migration_adds_and_removes_the_tables(
    empty_database_url: Callable[[str], str],
) -> None:
    url = empty_database_url("cases")
    migrate(url)
    engine = make_engine(url)
    try:
        assert {"cases", "alerts", "action_notes"} <= set(inspect(engine).get_table_names())
        command.downgrade(alembic_config(url), "0004")
        assert not {"cases", "alerts", "action_notes"} & set(inspect(engine).get_table_names())
        command.upgrade(alembic_config(url), "head")
        assert "cases" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_a_user_linked_to_the_officer_never_sees_the_case() -> None:
    case = Case(officer_id=7, head_unit_id=None)
    admin = User(role="admin", unit_id=None)
    assert cases.may_see_case(None, admin, case)  # type: ignore[arg-type]
    admin.officer_id = 7  # type: ignore[attr-defined]
    assert not cases.may_see_case(None, admin, case)  # type: ignore[arg-type]


@pytest.fixture
def reported(server: RunningServer) -> dict[str, object]:
    """At the sub-unit: one harassment report, one late-result reason (not serious)."""
    parent = make_org(server.sessions, officers=1)
    child = make_org(server.sessions, officers=1, parent_id=parent.unit_id)
    when = datetime.now(UTC) - timedelta(hours=2)
    marker = f"Đòi tiền {uuid.uuid4().hex[:6]}"
    ids = post_ratings(server, child.counter_ids[0], [
        given(child.officer_ids[0], 1, when, reason="harassment_or_payment", comment=marker),
        given(child.officer_ids[0], 2, when, reason="late_result"),
    ])
    return {"parent": parent.unit_id, "child": child.unit_id, "ids": ids, "marker": marker}


def case_id(html: str, marker: str) -> int:
    match = re.search(rf'data-case-id="(\d+)">(?:(?!</article>).)*{marker}', html, re.S)
    assert match, marker
    return int(match.group(1))


def test_a_serious_reason_opens_one_case_for_the_head_of_the_unit_above(
    server: RunningServer, reported: dict[str, object]
) -> None:
    ids = [uuid.UUID(i) for i in reported["ids"]]  # type: ignore[attr-defined]
    with server.sessions() as session:
        # Ingest opened it with the rating; asking again opens nothing more.
        opened = session.scalars(select(Case).where(Case.rating_id.in_(ids))).all()
        assert [case.rating_id for case in opened] == [ids[0]]
        assert cases.open_for_ratings(session, ids) == []
        # the sweep opens other tests' cases, never a second one for these ratings
        assert not {case.rating_id for case in cases.open_missing(session)} & set(ids)
        session.commit()
        case = session.get_one(Case, opened[0].id)
        assert case.head_unit_id == reported["parent"] and case.unit_id == reported["child"]
        assert case.due_at == cases.due_after(case.opened_at)
        due_day = cases.add_working_days(case.opened_at.astimezone(LOCAL_TZ).date(), 5)
    marker = str(reported["marker"])
    head = signed_in(server, "supervisor", reported["parent"])
    page = head.get("/cases")
    assert page.status_code == 200 and marker in page.text
    assert case_id(page.text, marker) == opened[0].id
    assert "Harassment or a request for unofficial payment" in page.text
    assert f"due by the end of {due_day.strftime('%d/%m/%Y')}" in page.text
    assert marker in signed_in(server, "admin", None).get("/cases").text

    own = signed_in(server, "supervisor", reported["child"])
    assert marker not in own.get("/cases").text
    token = own.form_token("/cases")
    refused = own.post(f"/cases/{opened[0].id}", data={"action": "acknowledge",
                                                        "csrf_token": token})
    assert refused.status_code == 404
    assert signed_in(server, "technician", reported["parent"]).get("/cases").status_code == 403


def test_a_unit_without_a_parent_escalates_to_the_administrators(
    server: RunningServer,
) -> None:
    top = make_org(server.sessions, officers=1)
    marker = f"Tiêu cực {uuid.uuid4().hex[:6]}"
    post_ratings(server, top.counter_ids[0], [
        given(top.officer_ids[0], 1, datetime.now(UTC), reason="harassment_or_payment",
              comment=marker)])
    assert marker not in signed_in(server, "supervisor", top.unit_id).get("/cases").text
    assert marker in signed_in(server, "admin", None).get("/cases").text


def act(http: Http, number: int, action: str, text: str = "") -> int:
    token = http.form_token("/cases")
    return http.post(f"/cases/{number}", data={"action": action, "text": text,
                                               "csrf_token": token},
                     allow_redirects=False).status_code


def test_the_head_acknowledges_comments_and_closes_a_case(
    server: RunningServer, reported: dict[str, object]
) -> None:
    marker = str(reported["marker"])
    head = signed_in(server, "supervisor", reported["parent"])
    number = case_id(head.get("/cases").text, marker)
    assert head.post(f"/cases/{number}", data={"action": "acknowledge"}).status_code == 403
    assert act(head, number, "acknowledge") == 303
    assert act(head, number, "comment") == 400  # a comment needs a text
    assert act(head, number, "comment", "Đã gặp công dân") == 303
    assert act(head, number, "dance", "x") == 400
    assert act(head, number, "close", "Đã xử lý kỷ luật") == 303
    assert act(head, number, "comment", "sau khi đóng") == 400
    with server.sessions() as session:
        assert session.get_one(Case, number).status == "closed"
    assert marker not in head.get("/cases").text
    closed = head.get("/cases", params={"closed": "true"}).text
    assert "Đã gặp công dân" in closed and "Đã xử lý kỷ luật" in closed


def test_in_a_real_browser_the_head_closes_a_case_and_the_pages_fit_a_phone(
    server: RunningServer, reported: dict[str, object]
) -> None:
    username, password = make_user(server.sessions, "supervisor", reported["parent"])
    with Chromium() as browser:
        browser.goto(f"{server.base_url}/cases")
        browser.type_into("input[name=username]", username)
        browser.type_into("input[name=password]", password)
        browser.expect_navigation()
        browser.click("form.login button[type=submit]")
        browser.wait_for("Page.loadEventFired")
        assert browser.evaluate("location.pathname") == "/cases"
        number = case_id(browser.evaluate("document.body.innerHTML"), str(reported["marker"]))
        card = f"#case-{number}"
        browser.type_into(f"{card} textarea[name=text]", "Đã xác minh, chuyển thanh tra")
        browser.expect_navigation()
        browser.click(f"{card} button[value=close]")
        browser.wait_for("Page.loadEventFired")
        assert browser.evaluate(f"document.querySelector('{card}')") is None
        with server.sessions() as session:
            assert session.get_one(Case, number).status == "closed"

        browser.send("Emulation.setDeviceMetricsOverride", width=PHONE_WIDTH, height=800,
                     deviceScaleFactor=1, mobile=True)
        for path in ("/trends", "/heatmap", "/reasons", "/comments", "/cases?closed=true",
                     "/alerts", "/report"):
            browser.goto(f"{server.base_url}{path}")
            width = browser.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE_WIDTH, (path, width)
