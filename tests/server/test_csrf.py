"""Cross-site request forgery: every form post of the web pages needs the token of
a form this server rendered for this browser and this session; the kiosk API,
authenticated by bearer tokens, does not."""

from __future__ import annotations

from datetime import UTC, datetime

from itsdangerous import URLSafeSerializer
from server_harness import RunningServer, enroll, make_org, make_user

from hailong.sync.server import csrf
from hailong.sync.server.auth import SESSION_COOKIE
from hailong.sync.wire import API_PREFIX


def test_a_token_holds_only_for_its_nonce_and_session_and_signer() -> None:
    signer = URLSafeSerializer("k" * 40, salt="hailong-csrf")
    token = csrf.make_token(signer, "nonce-1", "session-a")
    assert csrf.token_matches(signer, token, "nonce-1", "session-a")
    assert not csrf.token_matches(signer, token, "nonce-2", "session-a")
    assert not csrf.token_matches(signer, token, "nonce-1", "session-b")
    assert not csrf.token_matches(signer, token, "nonce-1", None)
    assert not csrf.token_matches(signer, token, None, "session-a")
    assert not csrf.token_matches(signer, None, "nonce-1", "session-a")
    other = URLSafeSerializer("x" * 40, salt="hailong-csrf")
    assert not csrf.token_matches(other, token, "nonce-1", "session-a")
    assert not csrf.token_matches(signer, signer.dumps("nonce-1"), "nonce-1", "session-a")
    no_session = csrf.make_token(signer, "nonce-1", None)
    assert csrf.token_matches(signer, no_session, "nonce-1", None)
    assert not csrf.token_matches(signer, no_session, "nonce-1", "session-a")


def test_login_without_or_with_a_wrong_token_is_refused(server: RunningServer) -> None:
    place = make_org(server.sessions, officers=1)
    username, password = make_user(server.sessions, "supervisor", place.unit_id)
    form = {"username": username, "password": password, "next": "/"}
    http = server.http()

    missing = http.post("/login", data=form, allow_redirects=False)
    assert missing.status_code == 403
    assert "reload the page" in missing.text
    assert SESSION_COOKIE not in missing.headers.get("set-cookie", "")

    token = http.form_token("/login")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert http.post("/login", data={**form, "csrf_token": forged},
                     allow_redirects=False).status_code == 403

    # a token is worthless with another browser's nonce cookie
    elsewhere = server.http()
    assert elsewhere.post("/login", data={**form, "csrf_token": token},
                          allow_redirects=False).status_code == 403

    answer = http.post("/login", data={**form, "csrf_token": token}, allow_redirects=False)
    assert answer.status_code == 303, answer.text
    assert http.get("/").status_code == 200


def test_logout_needs_a_token_of_the_session(server: RunningServer) -> None:
    place = make_org(server.sessions, officers=1)
    http = server.http()
    before_login = http.form_token("/login")
    assert http.login(*make_user(server.sessions, "supervisor", place.unit_id)).status_code == 303
    assert http.post("/logout", allow_redirects=False).status_code == 403
    assert http.post("/logout", data={"csrf_token": before_login},
                     allow_redirects=False).status_code == 403
    assert http.get("/", allow_redirects=False).status_code == 200  # still logged in
    assert http.logout().status_code == 303
    assert http.get("/", allow_redirects=False).status_code == 303


def test_the_nonce_cookie_is_protected_and_secure_over_https(server: RunningServer) -> None:
    plain = server.http().get("/login")
    cookie = plain.headers["set-cookie"].lower()
    assert cookie.startswith(csrf.CSRF_COOKIE + "=")
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    # behind a TLS proxy on this host (uvicorn trusts X-Forwarded-Proto from 127.0.0.1)
    https = server.http().get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "; secure" in https.headers["set-cookie"].lower()


def test_the_kiosk_api_needs_no_form_token(server: RunningServer) -> None:
    place = make_org(server.sessions, officers=1)
    kiosk = enroll(server, place.counter_ids[0])
    answer = server.http().post(
        f"{API_PREFIX}/kiosk/heartbeat",
        json={"sent_wall_time": datetime.now(UTC).isoformat(), "app_version": "1",
              "box_status": "connected", "box_firmware": "f", "backlog": 0},
        headers=kiosk.headers,
    )
    assert answer.status_code == 200, answer.text
