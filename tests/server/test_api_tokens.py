"""API tokens as an integration uses them: issued with `hailong admin token add`,
sent as `Authorization: Bearer hlt_…`, and holding exactly their user's scope on
the JSON API, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from server_harness import (
    Http,
    RatingMaker,
    RunningServer,
    enroll,
    make_org,
    statuses,
    upload,
)
from sqlalchemy import select

from hailong.cli import main
from hailong.sync.server.api_tokens import user_by_api_token
from hailong.sync.server.models import User
from hailong.sync.server.models_oversight import ApiToken, AuditEntry
from hailong.sync.wire import API_PREFIX

TOKEN_LINE = re.compile(r"^hlt_[A-Za-z0-9_-]{40,}$", re.MULTILINE)


def admin(capsys: pytest.CaptureFixture[str], server: RunningServer,
          *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["admin", "--data-dir", str(server.settings.data_dir),
                 "--database-url", server.settings.effective_database_url, *args])
    out, err = capsys.readouterr()
    return code, out, err


def new_user(server: RunningServer, role: str, unit_id: int | None) -> str:
    username = f"api-{role}-{uuid.uuid4().hex[:8]}"
    with server.sessions() as session:
        session.add(User(username=username, password_hash="!", role=role, unit_id=unit_id,
                         active=True))
        session.commit()
    return username


def issue(capsys: pytest.CaptureFixture[str], server: RunningServer, username: str,
          name: str = "cổng tỉnh") -> tuple[int, str]:
    code, out, err = admin(capsys, server, "token", "add", "--user", username, "--name", name)
    assert code == 0, err
    found = TOKEN_LINE.search(out)
    token_id = re.search(r"(\d+)", out)
    assert found and token_id, out
    return int(token_id.group(1)), found.group(0)


def bearer(server: RunningServer, token: str) -> Http:
    http = server.http()
    http.session.headers["Authorization"] = f"Bearer {token}"
    return http


def test_a_token_reads_its_users_scope_and_nothing_more(
    server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    unit_a, unit_b = make_org(server.sessions, officers=1), make_org(server.sessions, officers=1)
    kiosk = enroll(server, unit_a.counter_ids[0])
    maker = RatingMaker(kiosk.counter_id)
    batch = maker.batch([maker.item(unit_a.officer_ids[0], level) for level in (5, 3)])
    assert set(statuses(upload(server, kiosk, batch))) == {"accepted"}
    officer_a, officer_b = unit_a.officer_ids[0], unit_b.officer_ids[0]

    _id, supervisor_token = issue(capsys, server, new_user(server, "supervisor", unit_a.unit_id))
    supervisor = bearer(server, supervisor_token)
    score = supervisor.get(f"{API_PREFIX}/officers/{officer_a}/score")
    assert score.status_code == 200 and score.json()["ratings"] == 2, score.text
    ratings = supervisor.get(f"{API_PREFIX}/ratings", params={"officer_id": officer_a})
    assert ratings.status_code == 200, ratings.text
    export = supervisor.get(f"{API_PREFIX}/scores", params={"format": "xlsx"})
    assert export.status_code == 200 and export.content[:2] == b"PK"
    assert supervisor.get(f"{API_PREFIX}/officers/{officer_b}/score").status_code == 404
    assert supervisor.get(f"{API_PREFIX}/ratings",
                          params={"officer_id": officer_b}).status_code == 404

    _id, technician_token = issue(capsys, server, new_user(server, "technician", unit_a.unit_id))
    technician = bearer(server, technician_token)
    fleet = technician.get(f"{API_PREFIX}/kiosks")
    assert fleet.status_code == 200 and kiosk.kiosk_id in [k["id"] for k in fleet.json()]
    assert technician.get(f"{API_PREFIX}/kiosks/{kiosk.kiosk_id}/gaps").status_code == 200
    assert technician.get(f"{API_PREFIX}/officers/{officer_a}/score").status_code == 403
    assert technician.get(f"{API_PREFIX}/scores").status_code == 403


def test_a_token_is_only_a_token_where_it_belongs(
    server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    unit = make_org(server.sessions, officers=1)
    kiosk = enroll(server, unit.counter_ids[0])
    token_id, token = issue(capsys, server, new_user(server, "admin", None))
    user_caller = bearer(server, token)
    assert user_caller.get(f"{API_PREFIX}/kiosks").status_code == 200

    # pages are for people with a session: a token opens none of them
    page = user_caller.get("/", allow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    assert user_caller.get("/fleet", allow_redirects=False).status_code == 303
    # a user token is no kiosk token, and a kiosk token no user token
    maker = RatingMaker(kiosk.counter_id)
    batch = maker.batch([maker.item(unit.officer_ids[0], 5)])
    assert user_caller.post(f"{API_PREFIX}/ratings/batches", json=batch).status_code == 401
    assert user_caller.get(f"{API_PREFIX}/kiosk/config").status_code == 401
    kiosk_caller = bearer(server, kiosk.token)
    assert kiosk_caller.get(f"{API_PREFIX}/kiosks").status_code == 401
    assert kiosk_caller.get(f"{API_PREFIX}/scores").status_code == 401
    # a kiosk token dressed as an API token is still nobody
    assert bearer(server, "hlt_" + kiosk.token).get(f"{API_PREFIX}/kiosks").status_code == 401

    code, _out, err = admin(capsys, server, "token", "revoke", str(token_id))
    assert code == 0, err
    refused = user_caller.get(f"{API_PREFIX}/kiosks")
    assert refused.status_code == 401, refused.text


def test_a_disabled_users_token_is_refused(
    server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    username = new_user(server, "admin", None)
    _id, token = issue(capsys, server, username)
    assert bearer(server, token).get(f"{API_PREFIX}/kiosks").status_code == 200
    with server.sessions() as session:
        session.scalars(select(User).where(User.username == username)).one().active = False
        session.commit()
    assert bearer(server, token).get(f"{API_PREFIX}/kiosks").status_code == 401


def test_only_the_hash_is_kept_and_the_log_never_holds_the_token(
    server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    username = new_user(server, "supervisor", make_org(server.sessions, officers=0).unit_id)
    token_id, token = issue(capsys, server, username, name="báo cáo tháng")
    code, out, err = admin(capsys, server, "token", "list")
    assert code == 0, err
    line = next(row for row in out.splitlines() if row.startswith(f"{token_id}\t"))
    assert username in line and "báo cáo tháng" in line and token not in out
    assert "hlt_" not in out

    with server.sessions() as session:
        stored = session.get(ApiToken, token_id)
        assert stored is not None and token not in stored.token_hash
        entries = session.scalars(select(AuditEntry).where(AuditEntry.detail.contains(username))
                                  ).all()
    assert any("token add" in entry.object for entry in entries)
    assert all(token not in f"{entry.object} {entry.detail}" for entry in entries)

    assert admin(capsys, server, "token", "revoke", str(token_id))[0] == 0
    code, out, _err = admin(capsys, server, "token", "list")
    line = next(row for row in out.splitlines() if row.startswith(f"{token_id}\t"))
    assert "revoked" in line or "thu hồi" in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["token", "add", "--user", "nobody-at-all", "--name", "x"], "no user named nobody-at-all"),
        (["token", "add", "--user", "x", "--name", "  "], "--name"),
        (["token", "revoke", "999999"], "no API token 999999"),
    ],
)
def test_admin_token_explains_what_is_wrong(
    server: RunningServer, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = admin(capsys, server, *args)
    assert code == 1 and out == ""
    assert message in err


def test_last_use_is_written_at_most_once_a_minute(
    server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    token_id, token = issue(capsys, server, new_user(server, "admin", None))
    start = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    with server.sessions() as session:
        assert user_by_api_token(session, token, start) is not None
        session.commit()
        for later in (timedelta(seconds=30), timedelta(seconds=59)):
            assert user_by_api_token(session, token, start + later) is not None
            session.commit()
            assert session.get(ApiToken, token_id).last_used_at == start
        assert user_by_api_token(session, token, start + timedelta(minutes=1)) is not None
        session.commit()
        assert session.get(ApiToken, token_id).last_used_at == start + timedelta(minutes=1)
        assert user_by_api_token(session, token + "x", start) is None
        assert user_by_api_token(session, token.removeprefix("hlt_"), start) is None
