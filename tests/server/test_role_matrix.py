"""Role × endpoint × object: every route of the app, called by every kind of
caller, about the officer and the kiosk of unit A.

A new route fails `test_every_route_is_classified` until it is given its
expected answers here. Besides the status codes, no answer to a caller who may
not see unit A's officers carries the officer's name or the kiosk's host name,
and technicians never get an officer's name (no scores, no comments).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from server_harness import (
    EnrolledKiosk,
    Http,
    RatingMaker,
    RunningServer,
    enroll,
    make_org,
    signed_in,
    statuses,
    upload,
)
from sqlalchemy import update

from hailong.config.settings import ServerSettings
from hailong.sync.server.api_tokens import issue_api_token
from hailong.sync.server.app import create_app
from hailong.sync.server.models import Kiosk, Officer, User
from hailong.sync.server.seed import demo_photo
from hailong.sync.wire import API_PREFIX

ROLES = ("admin", "supervisor_a", "supervisor_b", "technician_a", "technician_b", "kiosk_b",
         "anonymous")
# An integration with an API token of a user: that user on the JSON API, nobody on pages.
TOKEN_HOLDERS = {"token_supervisor_a": "supervisor_a"}
CALLERS = (*ROLES, *TOKEN_HOLDERS)
# Callers that must learn nothing about unit A's officers and kiosks.
OUTSIDERS = frozenset({"supervisor_b", "technician_b", "kiosk_b", "anonymous"})
# Callers that must never see an officer's name (A's officer is the one checked).
NO_NAMES = OUTSIDERS | {"technician_a", "technician_b"}
LOGIN = 303  # a page redirects a caller who is not logged in to /login


def by_role(default: int, **codes: int) -> dict[str, int]:
    unknown = set(codes) - set(ROLES)
    assert not unknown, unknown
    return {role: codes.get(role, default) for role in ROLES}


def expected_answer(case: Case, caller: str) -> int:
    holder = TOKEN_HOLDERS.get(caller)
    if holder is None:
        return case.expect[caller]
    return case.expect[holder if case.path.startswith(API_PREFIX + "/") else "anonymous"]


@dataclass(frozen=True)
class Case:
    method: str
    # {officer_id}, {kiosk_id}, {unit_id}: unit A's; any other {name}: 1
    path: str
    expect: dict[str, int]
    json: Any = None
    params: dict[str, str] = field(default_factory=dict)


SCORES = dict(admin=200, supervisor_a=200, supervisor_b=404, technician_a=403,
              technician_b=403, kiosk_b=401, anonymous=401)
FLEET_OF_A = dict(admin=200, supervisor_a=200, supervisor_b=404, technician_a=200,
                  technician_b=404, kiosk_b=401, anonymous=401)
PEOPLE_ONLY = dict(kiosk_b=401, anonymous=401)
SCORE_PAGES = {**SCORES, "kiosk_b": LOGIN, "anonymous": LOGIN}

CASES: dict[tuple[str, str], Case] = {
    (c.method, c.path.split("?")[0]): c
    for c in (
        # open to everyone
        Case("GET", "/healthz", by_role(200)),
        Case("GET", "/openapi.json", by_role(200)),
        Case("GET", "/public", by_role(200)),
        Case("GET", "/metrics", by_role(200)),
        Case("MOUNT", "/static", by_role(200)),
        Case("POST", f"{API_PREFIX}/enroll", by_role(403),
             json={"code": "AAAA-BBBB-CCCC", "app_version": "x", "hostname": "x"}),
        # kiosks only (a kiosk speaks for itself; a body of {} is then refused as invalid)
        Case("GET", f"{API_PREFIX}/kiosk/config", by_role(401, kiosk_b=200)),
        Case("POST", f"{API_PREFIX}/kiosk/heartbeat", by_role(401, kiosk_b=422), json={}),
        Case("POST", f"{API_PREFIX}/ratings/batches", by_role(401, kiosk_b=422), json={}),
        # officers and scores of unit A
        Case("GET", f"{API_PREFIX}/officers/{{officer_id}}/photo",
             by_role(200, supervisor_b=404, technician_b=404, kiosk_b=404, anonymous=401)),
        Case("GET", f"{API_PREFIX}/officers/{{officer_id}}/score", by_role(0, **SCORES)),
        Case("GET", f"{API_PREFIX}/ratings?officer_id={{officer_id}}", by_role(0, **SCORES)),
        Case("GET", f"{API_PREFIX}/scores",
             by_role(200, technician_a=403, technician_b=403, **PEOPLE_ONLY),
             params={"format": "xlsx"}),
        # kiosks of unit A
        Case("GET", f"{API_PREFIX}/kiosks", by_role(200, **PEOPLE_ONLY)),
        Case("GET", f"{API_PREFIX}/kiosks/{{kiosk_id}}/gaps", by_role(0, **FLEET_OF_A)),
        # pages
        Case("GET", "/login", by_role(303, kiosk_b=200, anonymous=200)),
        Case("POST", "/login", by_role(403)),  # no form token
        Case("POST", "/logout", by_role(403)),  # no form token
        Case("GET", "/", by_role(200, technician_a=303, technician_b=303, kiosk_b=LOGIN,
                                 anonymous=LOGIN)),
        Case("GET", "/officers/{officer_id}", by_role(0, **SCORE_PAGES)),
        Case("GET", "/fleet", by_role(200, kiosk_b=LOGIN, anonymous=LOGIN)),
        Case("GET", "/audit", by_role(403, admin=200, kiosk_b=LOGIN, anonymous=LOGIN)),
        # analysis pages about unit A or its officer
        *(Case("GET", path, by_role(0, **SCORE_PAGES)) for path in (
            "/trends?officer={officer_id}", "/heatmap?officer={officer_id}",
            "/reasons?unit={unit_id}", "/comments?unit={unit_id}", "/report?unit={unit_id}")),
        # lists of the caller's own alerts and cases
        *(Case("GET", path, by_role(200, technician_a=403, technician_b=403, kiosk_b=LOGIN,
                                    anonymous=LOGIN)) for path in ("/alerts", "/cases")),
        # downloads of the pages' tables (`<page>/export`): scoped like their pages
        Case("GET", "/officers/{officer_id}/export", by_role(0, **SCORE_PAGES)),
        Case("GET", "/fleet/export", by_role(200, kiosk_b=LOGIN, anonymous=LOGIN)),
        Case("GET", "/audit/export", by_role(403, admin=200, kiosk_b=LOGIN, anonymous=LOGIN)),
        *(Case("GET", path, by_role(0, **SCORE_PAGES), params={"format": "xlsx"}) for path in (
            "/trends/export?officer={officer_id}", "/heatmap/export?officer={officer_id}",
            "/reasons/export?unit={unit_id}", "/comments/export?unit={unit_id}",
            "/report/export?unit={unit_id}")),
        *(Case("GET", path, by_role(200, technician_a=403, technician_b=403, kiosk_b=LOGIN,
                                    anonymous=LOGIN))
          for path in ("/alerts/export", "/cases/export")),
        Case("POST", "/alerts/{alert_id}", by_role(403)),  # no form token
        Case("POST", "/cases/{case_id}", by_role(403)),  # no form token
    )
}


def app_routes(settings: ServerSettings) -> set[tuple[str, str]]:
    """(method, path) of every route of the app, routers included at any depth."""
    app = create_app(settings)
    found: set[tuple[str, str]] = set()

    def walk(routes: list[Any], prefix: str) -> None:
        for route in routes:
            included = getattr(route, "original_router", None)
            if included is not None:  # FastAPI keeps included routers as branches
                walk(included.routes, prefix + route.include_context.prefix)
            elif getattr(route, "methods", None):
                for method in set(route.methods) - {"HEAD"}:
                    found.add((method, prefix + route.path))
            else:
                found.add(("MOUNT", prefix + route.path))

    walk(app.routes, "")
    return found


@dataclass
class World:
    server: RunningServer
    unit: int
    officer: int
    kiosk: int
    secrets: tuple[str, str]  # the officer's name, the kiosk's host name
    callers: dict[str, Http]


@pytest.fixture(scope="module")
def world(server: RunningServer) -> Iterator[World]:
    unit_a = make_org(server.sessions, officers=1, photo=demo_photo("nguyen-thi-lan.png"))
    unit_b = make_org(server.sessions, officers=1)
    tag = uuid.uuid4().hex[:10]
    officer_name, host_name = f"Cán bộ mật {tag}", f"kiosk-mat-{tag}"
    kiosk_a = enroll(server, unit_a.counter_ids[0])
    kiosk_b: EnrolledKiosk = enroll(server, unit_b.counter_ids[0])
    with server.sessions() as session:
        session.execute(update(Officer).where(Officer.id == unit_a.officer_ids[0])
                        .values(name=officer_name))
        session.execute(update(Kiosk).where(Kiosk.id == kiosk_a.kiosk_id)
                        .values(hostname=host_name))
        session.commit()
    maker = RatingMaker(kiosk_a.counter_id)
    batch = maker.batch([maker.item(unit_a.officer_ids[0], level) for level in (5, 4, 2)])
    assert set(statuses(upload(server, kiosk_a, batch))) == {"accepted"}

    kiosk_caller = server.http()
    kiosk_caller.session.headers["Authorization"] = f"Bearer {kiosk_b.token}"
    callers = {
        "admin": signed_in(server, "admin", None),
        "supervisor_a": signed_in(server, "supervisor", unit_a.unit_id),
        "supervisor_b": signed_in(server, "supervisor", unit_b.unit_id),
        "technician_a": signed_in(server, "technician", unit_a.unit_id),
        "technician_b": signed_in(server, "technician", unit_b.unit_id),
        "kiosk_b": kiosk_caller,
        "anonymous": server.http(),
        "token_supervisor_a": token_caller(server, unit_a.unit_id),
    }
    yield World(server, unit_a.unit_id, unit_a.officer_ids[0], kiosk_a.kiosk_id,
                (officer_name, host_name), callers)


def token_caller(server: RunningServer, unit_id: int) -> Http:
    with server.sessions() as session:
        user = User(username=f"token-{uuid.uuid4().hex[:8]}", password_hash="!",
                    role="supervisor", unit_id=unit_id, active=True)
        session.add(user)
        session.flush()
        _token, secret = issue_api_token(session, user, "role matrix", datetime.now(UTC))
        session.commit()
    http = server.http()
    http.session.headers["Authorization"] = f"Bearer {secret}"
    return http


def fill(path: str, world: World) -> str:
    known = {"officer_id": world.officer, "kiosk_id": world.kiosk, "unit_id": world.unit}
    return re.sub(r"\{(\w+)\}", lambda m: str(known.get(m.group(1), 1)), path)


def test_every_route_is_classified(world: World) -> None:
    routes = app_routes(world.server.settings)
    unclassified = routes - set(CASES)
    assert not unclassified, f"give these routes their expected answers here: {unclassified}"
    stale = set(CASES) - routes
    assert not stale, f"these routes are gone: {stale}"


@pytest.mark.parametrize("role", CALLERS)
@pytest.mark.parametrize("key", sorted(CASES), ids=lambda key: f"{key[0]} {key[1]}")
def test_role_against_another_units_objects(world: World, role: str, key: tuple[str, str]) -> None:
    case = CASES[key]
    path = fill(case.path, world)
    if case.method == "MOUNT":
        method, path = "GET", path + "/style.css"
    else:
        method = case.method
    answer = world.callers[role].request(method, path, json=case.json, params=case.params,
                                         allow_redirects=False)
    expected = expected_answer(case, role)
    assert answer.status_code == expected, f"{role} {method} {path}: {answer.text[:300]}"
    if expected == LOGIN and role in ("kiosk_b", "anonymous", *TOKEN_HOLDERS):
        assert answer.headers["location"].startswith("/login?next=")
    body = answer.content.decode("utf-8", errors="replace")
    officer_name, host_name = world.secrets
    if role in NO_NAMES:
        assert officer_name not in body, f"{role} {method} {path} shows A's officer"
    if role in OUTSIDERS:
        assert host_name not in body, f"{role} {method} {path} shows A's kiosk"


def test_every_form_post_needs_a_token(world: World) -> None:
    """Whatever page router a post belongs to, an administrator's browser without
    the form's token is refused before anything happens."""
    posts = sorted(path for method, path in app_routes(world.server.settings)
                   if method == "POST" and not path.startswith(API_PREFIX))
    assert "/logout" in posts
    admin = world.callers["admin"]
    for path in posts:
        answer = admin.post(fill(path, world), data={"anything": "1"}, allow_redirects=False)
        assert answer.status_code == 403, f"POST {path} answered {answer.status_code}"
    assert admin.get("/", allow_redirects=False).status_code == 200  # still logged in
