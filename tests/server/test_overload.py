"""The load shedder at its ASGI boundary: kiosk requests beyond the limit are turned
away at once with 429 and a spread Retry-After, admitted ones beyond those running
wait their turn in order (and are turned away when it is long in coming), and pages are
never turned away."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from hailong.sync.server.overload import KioskLoadShedder, RetrySpread
from hailong.sync.wire import API_PREFIX

BATCHES = f"{API_PREFIX}/ratings/batches"


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


async def call(app: Any, path: str) -> tuple[int, dict[str, str]]:
    scope = {"type": "http", "method": "POST", "path": path, "headers": [],
             "query_string": b""}
    parts = [{"type": "http.request", "body": b"{", "more_body": True},
             {"type": "http.request", "body": b"}", "more_body": False}]

    async def receive() -> dict[str, Any]:
        return parts.pop(0) if parts else {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers


class Held:
    """An app whose requests run until released, noting the order they started in."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started: list[int] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.started.append(scope.get("n", 0))
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def test_requests_beyond_the_limit_are_refused_at_once_and_pages_never() -> None:
    async def scenario() -> None:
        app = Held()
        shedder = KioskLoadShedder(app, max_in_flight=2, running=2,
                                   spread=RetrySpread(2, 30, rng=random.Random(1)))
        taken = [asyncio.create_task(call(shedder, BATCHES)) for _ in range(2)]
        page = asyncio.create_task(call(shedder, "/officers/1"))
        await asyncio.sleep(0.05)
        assert shedder.in_flight == 2
        refused = [await call(shedder, BATCHES),
                   await call(shedder, f"{API_PREFIX}/kiosk/heartbeat")]
        for status, headers in refused:
            assert status == 429 and 2 <= int(headers["retry-after"]) <= 30
        assert not page.done(), "a page waits its turn; it is never refused"
        app.release.set()
        assert [status for status, _h in await asyncio.gather(*taken, page)] == [200] * 3
        assert shedder.in_flight == 0
        assert (await call(shedder, BATCHES))[0] == 200

    run(scenario())


def test_admitted_requests_beyond_those_running_wait_in_order() -> None:
    async def scenario() -> None:
        app = Held()
        shedder = KioskLoadShedder(app, max_in_flight=5, running=2)

        async def numbered(n: int) -> int:
            async def tagged(scope: Any, receive: Any, send: Any) -> None:
                await shedder({**scope, "n": n}, receive, send)
            return (await call(tagged, BATCHES))[0]

        tasks = []
        for n in range(6):
            tasks.append(asyncio.create_task(numbered(n)))
            await asyncio.sleep(0.01)  # arrive one after another
        assert app.started == [0, 1], "two run, three wait, the sixth is refused"
        assert tasks[5].done() and tasks[5].result() == 429
        app.release.set()
        assert [await t for t in tasks[:5]] == [200] * 5
        assert app.started == [0, 1, 2, 3, 4], "the waiting ran in the order they came"
        assert shedder.in_flight == 0

    run(scenario())


def test_a_request_waiting_too_long_is_refused_and_leaves_the_line() -> None:
    async def scenario() -> None:
        app = Held()
        shedder = KioskLoadShedder(app, max_in_flight=3, running=1, line_wait_s=0.05)
        first = asyncio.create_task(call(shedder, BATCHES))
        await asyncio.sleep(0.01)
        status, headers = await asyncio.wait_for(call(shedder, BATCHES), 1.0)
        assert status == 429 and int(headers["retry-after"]) >= 1, "refused once it waited"
        assert not first.done()
        timely = asyncio.create_task(call(shedder, BATCHES))
        await asyncio.sleep(0.01)
        app.release.set()
        assert (await first)[0] == 200
        assert (await timely)[0] == 200, "the turn went to the next one still waiting"
        assert shedder.in_flight == 0

    run(scenario())


def test_a_request_cancelled_while_waiting_leaves_the_line() -> None:
    async def scenario() -> None:
        app = Held()
        shedder = KioskLoadShedder(app, max_in_flight=3, running=1)
        first = asyncio.create_task(call(shedder, BATCHES))
        await asyncio.sleep(0.01)
        waiting = asyncio.create_task(call(shedder, BATCHES))
        await asyncio.sleep(0.01)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert shedder.in_flight == 1
        app.release.set()
        assert (await first)[0] == 200
        again = await asyncio.wait_for(call(shedder, BATCHES), 2.0)
        assert again[0] == 200, "the turn was not lost"
        assert shedder.in_flight == 0

    run(scenario())


def test_retry_waits_grow_with_the_crowd_and_shrink_when_it_passes() -> None:
    spread = RetrySpread(1, 30, per_s=100, rng=random.Random(7))
    few = [spread.wait_s(0.0) for _ in range(10)]
    assert set(few) <= {1, 2}, "a handful of kiosks come back within two seconds"
    crowd = [spread.wait_s(0.5) for _ in range(990)]
    assert max(crowd) == 10 and min(crowd) == 1, "a thousand are spread over ten seconds"
    last = crowd[-100:]  # drawn over 1 … 10
    assert 4.5 <= sum(last) / len(last) <= 6.5 and len(set(last)) == 10, "evenly"
    huge = RetrySpread(1, 30, per_s=100, rng=random.Random(7))
    assert max(huge.wait_s(1.0) for _ in range(10_000)) == 30, "never past the longest"
    assert set(spread.wait_s(60.0) for _ in range(10)) <= {1, 2}, "a minute later: short again"


def test_a_retry_spread_needs_sensible_bounds() -> None:
    for shortest, longest, per_s in ((0, 30, 1.0), (5, 4, 1.0), (1, 30, 0.0)):
        with pytest.raises(ValueError):
            RetrySpread(shortest, longest, per_s)
