"""Login throttling: per username and per address, growing locks, kept in the
database so every server process sees the same count."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from server_harness import MAX_BODY_BYTES, RunningServer, make_org, make_user, serve

from hailong.config.settings import ServerSettings
from hailong.sync.server import throttle
from hailong.sync.server.db import make_engine, make_session_factory, migrate
from hailong.sync.server.throttle import USER_LIMIT, Limit, locked_until, record_failure

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def test_each_failure_past_the_limit_doubles_the_lock() -> None:
    limit = Limit(5, timedelta(hours=1), MINUTE, 30 * MINUTE)
    assert [limit.lock_for(n) for n in (0, 4)] == [None, None]
    assert [limit.lock_for(n) for n in (5, 6, 7, 9)] == [MINUTE, 2 * MINUTE, 4 * MINUTE,
                                                          16 * MINUTE]
    assert limit.lock_for(10) == limit.lock_for(10_000) == 30 * MINUTE


def test_failures_lock_a_username_for_every_process_until_the_lock_ends(
    database_url: str,
) -> None:
    migrate(database_url)
    # two engines: two server processes sharing the database
    first, second = (make_session_factory(make_engine(database_url)) for _n in (1, 2))
    name = f"user-{uuid.uuid4().hex[:8]}"
    address = f"10.0.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    with first() as one, second() as two:
        for n in range(USER_LIMIT.after - 1):
            record_failure(one if n % 2 else two, name, address, T0 + n * MINUTE)
        last = T0 + (USER_LIMIT.after - 2) * MINUTE
        assert locked_until(two, name, address, last) is None
        last += MINUTE
        record_failure(one, name, address, last)
        assert locked_until(two, name, address, last) == last + MINUTE
        assert locked_until(two, name.upper(), "10.9.9.9", last) == last + MINUTE
        assert locked_until(two, "someone-else", address, last) is None
        assert locked_until(two, name, address, last + MINUTE) is None

        last += 2 * MINUTE
        record_failure(two, name, address, last)
        assert locked_until(one, name, address, last) == last + 2 * MINUTE

        # failures older than the window no longer count
        much_later = last + USER_LIMIT.window + MINUTE
        record_failure(one, name, address, much_later)
        assert locked_until(two, name, address, much_later) is None

        throttle.forget_user(one, name)
        assert locked_until(two, name, None, much_later) is None


def _form(username: str, password: str, token: str) -> dict[str, str]:
    return {"username": username, "password": password, "next": "/", "csrf_token": token}


def test_the_login_page_says_when_to_try_again(server: RunningServer) -> None:
    place = make_org(server.sessions, officers=1)
    username, password = make_user(server.sessions, "supervisor", place.unit_id)
    http = server.http()
    token = http.form_token("/login")
    answers = [
        http.post("/login", data=_form(username, "wrong", token), allow_redirects=False)
        for _n in range(USER_LIMIT.after)
    ]
    assert [a.status_code for a in answers] == [401] * (USER_LIMIT.after - 1) + [429]
    locked = answers[-1]
    assert re.search(r'role="alert">[^<]*\b\d\d:\d\d\b[^<]*\b1 min', locked.text), locked.text
    # the right password does not get through while the lock lasts
    right = http.post("/login", data=_form(username, password, token),
                      allow_redirects=False)
    assert right.status_code == 429
    # someone else from the same address still may
    other = make_user(server.sessions, "supervisor", place.unit_id)
    assert server.http().login(*other).status_code == 303


def test_an_address_with_too_many_failures_is_locked_for_every_username(
    empty_database_url: Callable[[str], str], tmp_path: Path
) -> None:
    # A server of its own: the shared one must stay usable from 127.0.0.1.
    url = empty_database_url("throttled")
    migrate(url)
    settings = ServerSettings(data_dir=tmp_path, database_url=url, max_body_bytes=MAX_BODY_BYTES)
    with serve(settings) as running:
        http = running.http()
        token = http.form_token("/login")
        for n in range(3):
            answer = http.post("/login", data=_form(f"guess-{n}", "x", token),
                               allow_redirects=False)
            assert answer.status_code == 401, n
        # the other guesses, as another server process would have counted them
        now = datetime.now(UTC)
        with running.sessions() as session:
            for n in range(3, throttle.ADDRESS_LIMIT.after - 1):
                record_failure(session, f"guess-{n}", "127.0.0.1", now)
        last = http.post("/login", data=_form("guess-last", "x", token),
                         allow_redirects=False)
        assert last.status_code == 429
        username, password = make_user(running.sessions, "admin", None)
        assert running.http().login(username, password).status_code == 429
