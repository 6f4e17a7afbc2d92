"""Helpers for the server tests: the real app in uvicorn on 127.0.0.1, an HTTP
client with a timeout on every call, and builders for organisations, kiosks,
users and ratings."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from sqlalchemy.orm import Session, sessionmaker
from stack import Http

from hailong.config.settings import ServerSettings
from hailong.sync.server import fleet, org
from hailong.sync.server.app import create_app
from hailong.sync.server.auth import (
    SESSION_COOKIE,
    SessionSigner,
    hash_password,
    load_or_create_secret,
)
from hailong.sync.server.db import make_engine, make_session_factory
from hailong.sync.server.models import User
from hailong.sync.server.ratelimit import RateLimit
from hailong.sync.server.runner import serving_in_thread
from hailong.sync.wire import API_PREFIX

TIMEOUT_S = 10.0
STARTUP_S = 15.0
# Small limits keep the limit tests fast.
MAX_BODY_BYTES = 64 * 1024
MAX_BATCH_ITEMS = 50


@dataclass
class RunningServer:
    base_url: str
    settings: ServerSettings
    sessions: sessionmaker[Session]

    def http(self) -> Http:
        return Http(self.base_url)


@contextmanager
def serve(settings: ServerSettings, batch_rate: RateLimit | None = None) -> Iterator[RunningServer]:
    """The app on a free port of 127.0.0.1 until the block ends. The database must
    be migrated already (as `hailong server` does before serving)."""
    with serving_in_thread(create_app(settings, batch_rate), STARTUP_S) as base_url:
        engine = make_engine(settings.effective_database_url)
        running = RunningServer(base_url, settings, make_session_factory(engine))
        try:
            health = running.http().get("/healthz")
            assert health.json() == {"status": "ok"}, health.text
            yield running
        finally:
            engine.dispose()


@dataclass(frozen=True)
class Org:
    unit_id: int
    unit_name: str
    counter_ids: tuple[int, ...]
    officer_ids: tuple[int, ...]


def make_org(
    sessions: sessionmaker[Session],
    officers: int = 3,
    parent_id: int | None = None,
    photo: bytes | None = None,
) -> Org:
    """A unit with a unique name, two counters and `officers` officers."""
    with sessions() as session:
        unit = org.add_unit(session, f"Đơn vị thử {uuid.uuid4().hex[:8]}", parent_id)
        counters = tuple(org.add_counter(session, unit.id, f"Quầy {n}").id for n in (1, 2))
        people = tuple(
            org.add_officer(session, unit.id, f"Cán bộ {n}", "Chuyên viên", photo).id
            for n in range(1, officers + 1)
        )
        return Org(unit.id, unit.name, counters, people)


def make_user(
    sessions: sessionmaker[Session], role: str, unit_id: int | None
) -> tuple[str, str]:
    username = f"{role}-{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    with sessions() as session:
        org.add_user(session, username, password, role, unit_id)
    return username, password


@functools.cache
def _unusable_password_hash() -> str:
    return hash_password(uuid.uuid4().hex)


def signed_in(running: RunningServer, role: str, unit_id: int | None) -> Http:
    """A client signed in as a new user of `role`, by a session cookie signed with
    the server's own key. For tests of what a role may do: it skips the password
    hashing of `make_user` and `login` (a few tenths of a second each), which the
    login tests cover."""
    with running.sessions() as session:
        user = User(username=f"{role}-{uuid.uuid4().hex[:8]}",
                    password_hash=_unusable_password_hash(), role=role, unit_id=unit_id,
                    active=True)
        session.add(user)
        session.commit()
        user_id = user.id
    http = running.http()
    signer = SessionSigner(load_or_create_secret(running.settings))
    http.session.cookies.set(SESSION_COOKIE, signer.dumps(user_id))
    return http


def issue_code(
    sessions: sessionmaker[Session], counter_id: int, ttl: timedelta = timedelta(hours=1),
    now: datetime | None = None,
) -> str:
    with sessions() as session:
        return fleet.issue_enrollment_code(session, counter_id, ttl, now or datetime.now(UTC))


@dataclass(frozen=True)
class EnrolledKiosk:
    kiosk_id: int
    token: str
    counter_id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def enroll(running: RunningServer, counter_id: int) -> EnrolledKiosk:
    code = issue_code(running.sessions, counter_id)
    answer = running.http().post(
        f"{API_PREFIX}/enroll", json={"code": code, "app_version": "test", "hostname": "t"}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return EnrolledKiosk(body["kiosk_id"], body["token"], counter_id)


class RatingMaker:
    """Ratings as one kiosk boot would store them: ids, sequence numbers and
    monotonic times move forward."""

    def __init__(self, counter_id: int, boot_id: uuid.UUID | None = None):
        self.counter_id = counter_id
        self.boot_id = boot_id or uuid.uuid4()
        self.seq = 0
        self.monotonic_ms = 1_000_000

    def item(
        self,
        officer_id: int | None,
        sipas_level: int,
        *,
        flags: tuple[str, ...] = (),
        wall_time: datetime | None = None,
        step_ms: int = 1_000,
        **fields: Any,
    ) -> dict[str, Any]:
        self.seq += 1
        self.monotonic_ms += step_ms
        # the default scale of 4 buttons: 1→5, 2→4, 3→3, 4→2
        button = {5: 1, 4: 2, 3: 3, 2: 4, 1: 4}[sipas_level]
        item: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "kiosk_seq": self.seq,
            "counter_id": self.counter_id,
            "officer_id": officer_id,
            "button": button,
            "scale_size": 4,
            "sipas_level": sipas_level,
            "source": "box",
            "flags": list(flags),
            "boot_id": str(self.boot_id),
            "monotonic_ms": self.monotonic_ms,
            "wall_time": (wall_time or datetime.now(UTC)).isoformat(),
            "clock_trusted": True,
        }
        item.update(fields)
        return item

    def batch(self, items: list[dict[str, Any]], *, sent_after_ms: int = 0) -> dict[str, Any]:
        return {
            "sent_wall_time": datetime.now(UTC).isoformat(),
            "sent_monotonic_ms": self.monotonic_ms + sent_after_ms,
            "boot_id": str(self.boot_id),
            "items": items,
        }


def upload(
    running: RunningServer, kiosk: EnrolledKiosk, batch: dict[str, Any], **kwargs: Any
) -> requests.Response:
    return running.http().post(
        f"{API_PREFIX}/ratings/batches", json=batch, headers=kiosk.headers, **kwargs
    )


def statuses(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [result["status"] for result in response.json()["results"]]
