"""The audit log: who logged in (or failed to), out, looked at one officer's
scores or exported, and the administrators' page that lists it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from server_harness import RunningServer, make_org, make_user, signed_in
from sqlalchemy import select

from hailong.sync.server import audit
from hailong.sync.server.models_oversight import AuditEntry
from hailong.sync.wire import API_PREFIX


def entries_of(server: RunningServer, actor: str) -> list[tuple[str, str, str, str]]:
    with server.sessions() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.actor == actor).order_by(AuditEntry.id)
        )
        return [(e.action, e.object, e.detail, e.client) for e in rows]


def test_logins_views_exports_and_logouts_are_recorded(server: RunningServer) -> None:
    place = make_org(server.sessions, officers=1)
    username, password = make_user(server.sessions, "supervisor", place.unit_id)
    http = server.http()
    assert http.login(username, "wrong").status_code == 401
    assert http.login(username, password).status_code == 303
    officer = place.officer_ids[0]
    assert http.get(f"/officers/{officer}", params={"from": "2026-03-01"}).status_code == 200
    assert http.get(f"{API_PREFIX}/ratings", params={"format": "csv"}).status_code == 200
    assert http.get(f"{API_PREFIX}/scores", params={"format": "xlsx"}).status_code == 200
    assert http.get(f"{API_PREFIX}/scores").status_code == 200  # reading is not exporting
    assert http.logout().status_code == 303

    logged = entries_of(server, username)
    assert [action for action, *_rest in logged] == [
        "login_failed", "login", "officer_view", "export", "export", "logout"]
    assert {client for *_rest, client in logged} == {"127.0.0.1"}
    view = logged[2]
    assert view[1] == f"officer {officer}"
    assert "2026-02-28T17:00:00+00:00" in view[2]  # 1 March in Hanoi
    assert logged[3][1] == "ratings (csv)" and logged[4][1] == "scores of officers (xlsx)"


def test_a_refused_view_or_export_is_not_recorded_as_done(server: RunningServer) -> None:
    place = make_org(server.sessions, officers=1)
    elsewhere = make_org(server.sessions, officers=1)
    technician = signed_in(server, "technician", place.unit_id)
    supervisor = signed_in(server, "supervisor", elsewhere.unit_id)
    assert technician.get(f"{API_PREFIX}/ratings").status_code == 403
    assert supervisor.get(f"/officers/{place.officer_ids[0]}").status_code == 404
    with server.sessions() as session:
        actions = session.scalars(select(AuditEntry.object).where(
            AuditEntry.object == f"officer {place.officer_ids[0]}")).all()
    assert actions == []


def test_the_audit_page_is_for_admins_paged_and_filtered(server: RunningServer) -> None:
    tag = uuid.uuid4().hex[:8]
    start = datetime.now(UTC) + timedelta(days=3650)  # newest of all: the first pages
    with server.sessions() as session:
        for n in range(audit.PAGE_SIZE + 5):
            audit.record(session, f"cli-{tag}", "config", f"officer {n}", f"renamed {tag}",
                         at=start + timedelta(seconds=n))

    admin = signed_in(server, "admin", None)
    first = admin.get("/audit", params={"action": "config"})
    assert first.status_code == 200
    assert first.text.count('data-action="config"') == audit.PAGE_SIZE
    assert f"officer {audit.PAGE_SIZE + 4}<" in first.text  # newest first
    assert 'rel="next"' in first.text and 'rel="prev"' not in first.text
    second = admin.get("/audit", params={"action": "config", "page": 2})
    assert "officer 4<" in second.text and f"officer {audit.PAGE_SIZE + 4}<" not in second.text
    assert 'rel="prev"' in second.text

    logins = admin.get("/audit", params={"action": "login"})
    assert 'data-action="config"' not in logins.text
    everything = admin.get("/audit")
    assert everything.status_code == 200 and tag in everything.text

    place = make_org(server.sessions, officers=1)
    for role in ("supervisor", "technician"):
        refused = signed_in(server, role, place.unit_id).get("/audit")
        assert refused.status_code == 403 and tag not in refused.text
    anonymous = server.http().get("/audit", allow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=/audit"
