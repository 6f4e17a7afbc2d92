"""schemathesis against the real server's /openapi.json: no request to any
documented operation, well-formed or not, gets a 5xx answer.

The server runs in uvicorn on 127.0.0.1 over its own fresh database, so the
fuzzed uploads and heartbeats touch no other test's data. Every request carries
the credential its operation asks for (the kiosk's bearer token or an admin's
session cookie), so the fuzzing reaches the handlers and not only the 401 answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from server_harness import (
    MAX_BATCH_ITEMS,
    MAX_BODY_BYTES,
    TIMEOUT_S,
    EnrolledKiosk,
    RunningServer,
    enroll,
    make_org,
    serve,
    signed_in,
)

from hailong.config.settings import ServerSettings
from hailong.sync.server.auth import SESSION_COOKIE
from hailong.sync.server.db import migrate
from hailong.sync.server.ratelimit import RateLimit
from hailong.sync.server.seed import demo_photo

# A few examples per operation keep the whole run to seconds; derandomized, so a
# failure found once is found on every run.
MAX_EXAMPLES = 25
# The fuzzer uploads far faster than any kiosk; the 429 answer has its own tests.
NO_RATE_LIMIT = RateLimit(per_s=1e6, burst=1_000_000)


@dataclass(frozen=True)
class Callers:
    """The credentials of the fuzzed requests, by OpenAPI security scheme."""

    kiosk: EnrolledKiosk
    admin_cookie: str

    def ways_in(self, security: list[dict[str, list[str]]]) -> list[dict[str, Any]]:
        """The request arguments to send a case with: one set per credential the
        operation accepts (an operation taking a kiosk or a person gets both), or
        none for an open operation."""
        ways = {
            "HTTPBearer": {"headers": self.kiosk.headers},
            "APIKeyCookie": {"cookies": {SESSION_COOKIE: self.admin_cookie}},
        }
        return [ways[name] for alternative in security for name in alternative] or [{}]


@pytest.fixture
def fuzzed_server(
    empty_database_url: Callable[[str], str], tmp_path: Path
) -> Iterator[RunningServer]:
    url = empty_database_url("fuzzed")
    migrate(url)
    settings = ServerSettings(
        data_dir=tmp_path,
        database_url=url,
        max_body_bytes=MAX_BODY_BYTES,
        max_batch_items=MAX_BATCH_ITEMS,
    )
    with serve(settings, NO_RATE_LIMIT) as running:
        yield running


@pytest.fixture
def callers(fuzzed_server: RunningServer) -> Callers:
    place = make_org(
        fuzzed_server.sessions, officers=2, photo=demo_photo("nguyen-thi-lan.png")
    )
    # Enrolled before any fuzzing, which posts to /enroll too: this code is used
    # up by then, and the fuzzer's made-up codes are refused.
    kiosk = enroll(fuzzed_server, place.counter_ids[0])
    admin = signed_in(fuzzed_server, "admin", None)
    return Callers(kiosk, admin.session.cookies[SESSION_COOKIE])


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_no_request_gets_a_server_error(fuzzed_server: RunningServer, callers: Callers) -> None:
    # Loaded only now: the enrollment above comes first. schemathesis' own
    # `from_fixture(...).parametrize()` needs a pytest item attribute that pytest 9
    # no longer has, so each operation gets its own Hypothesis run here.
    schema = schemathesis.openapi.from_url(
        f"{fuzzed_server.base_url}/openapi.json", timeout=TIMEOUT_S
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    # Issue 5's API has ten operations at least; fewer means the schema lost some.
    assert len(operations) >= 10, [operation.label for operation in operations]
    for operation in operations:
        for mode in GenerationMode:
            fuzz(operation, mode, callers)


def fuzz(operation: APIOperation, mode: GenerationMode, callers: Callers) -> None:
    ways_in = callers.ways_in(operation.definition.raw.get("security", []))

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        # Generation shares two cores with the rest of the suite; slow is not wrong.
        suppress_health_check=[HealthCheck.too_slow],
    )
    def no_server_error(case: Case) -> None:
        for way_in in ways_in:
            case.call_and_validate(checks=[not_a_server_error], timeout=TIMEOUT_S, **way_in)

    try:
        no_server_error()
    except BaseException as failure:
        failure.add_note(f"while fuzzing {operation.label} with {mode.value} cases")
        raise
