"""Kiosk requests beyond what a worker can answer promptly are turned away at once
with 429 and a `Retry-After`, instead of queueing.

When a thousand kiosks come back online together (after a power cut or a network
outage), queueing them all makes every answer slow, and a slow answer is a timeout
and a retry on the kiosk: the crowd never thins. Refusing the excess at once, with
waits spread over a range so the retries do not arrive together again, lets each
worker answer the requests it takes in well under a second. The kiosks' uploader
already honours `Retry-After`, and nothing is lost: a refused batch stays in the
kiosk's outbox.

Only the kiosk API is limited; supervisors' pages are not turned away.
"""

from __future__ import annotations

import random

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from hailong.i18n import _
from hailong.sync.wire import API_PREFIX

KIOSK_PATHS = (f"{API_PREFIX}/ratings/batches", f"{API_PREFIX}/kiosk/")


class KioskLoadShedder:
    def __init__(
        self,
        app: ASGIApp,
        max_in_flight: int,
        retry_after_s: tuple[int, int] = (2, 30),
        rng: random.Random | None = None,
    ) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.retry_after_s = retry_after_s
        self._rng = rng or random.Random()
        # One event loop per worker process: a plain counter is enough.
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(KIOSK_PATHS):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            await self._refuse(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Read the body to its end, so the kiosk reads this answer rather than a reset.
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        wait = self._rng.randint(*self.retry_after_s)
        answer = JSONResponse(
            {"detail": _("the server is busy; try again in {seconds} s").format(seconds=wait)},
            status_code=429,
            headers={"Retry-After": str(wait)},
        )
        await answer(scope, receive, send)
