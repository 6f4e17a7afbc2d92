"""The load shedder at its ASGI boundary: kiosk requests beyond the limit are turned
away at once with 429 and a spread Retry-After; pages are never turned away."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from hailong.sync.server.overload import KioskLoadShedder
from hailong.sync.wire import API_PREFIX


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


def test_requests_beyond_the_limit_are_refused_at_once_and_pages_never() -> None:
    async def scenario() -> None:
        release = asyncio.Event()

        async def slow(scope: Any, receive: Any, send: Any) -> None:
            await release.wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        shedder = KioskLoadShedder(slow, max_in_flight=2, retry_after_s=(2, 30),
                                   rng=random.Random(1))
        batches = f"{API_PREFIX}/ratings/batches"
        taken = [asyncio.create_task(call(shedder, batches)) for _ in range(2)]
        page = asyncio.create_task(call(shedder, "/officers/1"))
        await asyncio.sleep(0.05)
        assert shedder.in_flight == 2
        refused = [await call(shedder, batches),
                   await call(shedder, f"{API_PREFIX}/kiosk/heartbeat")]
        for status, headers in refused:
            assert status == 429 and 2 <= int(headers["retry-after"]) <= 30
        assert len({int(h["retry-after"]) for _s, h in refused}) == 2, "waits are spread"
        assert not page.done(), "a page waits its turn; it is never refused"
        release.set()
        assert [status for status, _h in await asyncio.gather(*taken, page)] == [200] * 3
        assert shedder.in_flight == 0
        assert (await call(shedder, batches))[0] == 200

    run(scenario())
