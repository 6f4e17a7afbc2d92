"""Kiosk requests beyond what a worker can answer promptly are turned away at once
with 429 and a `Retry-After`, instead of queueing.

When a thousand kiosks come back online together (after a power cut or a network
outage), queueing them all makes every answer slow, and a slow answer is a timeout
and a retry on the kiosk: the crowd never thins. Refusing the excess at once, with
waits spread so the retries do not arrive together again, lets each worker answer
the requests it takes in well under a second. The kiosks' uploader already honours
`Retry-After`, and nothing is lost: a refused batch stays in the kiosk's outbox.

The waits are spread over as many seconds as the crowd needs to come back at about
`RETRY_PER_S` requests a second to this worker: a handful of kiosks are told to come
back in a second or two, a fleet of thousands in up to half a minute.

Only the kiosk API is limited; supervisors' pages are not turned away. The refusal
is pure ASGI and outermost among the app's own middleware: no body decoding, no
metrics, no database.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import deque
from collections.abc import Callable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from hailong.i18n import _
from hailong.sync.wire import API_PREFIX

KIOSK_PATHS = (f"{API_PREFIX}/ratings/batches", f"{API_PREFIX}/kiosk/")
# Kiosk requests one worker works on at once (see KioskLoadShedder).
RUNNING_PER_WORKER = 4
# A request still waiting in line after this long is refused after all: answering it
# too would make it late, and the ones behind it later still.
LINE_WAIT_S = 0.3
# Retries a worker is asked to take back each second. A worker on a core of its own
# answers some 200 uploads of 20 ratings a second (about 5 ms of CPU each, SQLite);
# half of that leaves room for the kiosks that were not refused, for pages and for
# the database on the same machine. With 1,000 kiosks on two workers, the last ones
# are told to come back after about 10 s (at 50, twice as long, for no p99
# gain that a busy shared machine could show).
RETRY_PER_S = 100.0
# How long a refusal still counts towards the crowd (its weight halves every
# CROWD_HALF_LIFE_S seconds): about the time a burst of reconnections takes to pass.
CROWD_HALF_LIFE_S = 5.0


class RetrySpread:
    """How long a refused request is told to wait: a whole number of seconds drawn
    uniformly from `shortest_s` to the span its crowd needs (at least one second
    more, at most `longest_s`). Pure: times are passed in."""

    def __init__(
        self,
        shortest_s: int = 1,
        longest_s: int = 30,
        per_s: float = RETRY_PER_S,
        rng: random.Random | None = None,
    ) -> None:
        if not 1 <= shortest_s <= longest_s or per_s <= 0:
            raise ValueError("a retry spread needs 1 <= shortest <= longest and a positive rate")
        self.shortest_s = shortest_s
        self.longest_s = longest_s
        self.per_s = per_s
        self._rng = rng or random.Random()
        self._crowd = 0.0  # refusals lately, each weighed by how recent it is
        self._at = 0.0

    def wait_s(self, now: float) -> int:
        elapsed = max(0.0, now - self._at)
        self._crowd = self._crowd * 0.5 ** (elapsed / CROWD_HALF_LIFE_S) + 1.0
        self._at = now
        span = min(self.longest_s, max(self.shortest_s + 1, math.ceil(self._crowd / self.per_s)))
        return self._rng.randint(self.shortest_s, span)


class KioskLoadShedder:
    """At most `max_in_flight` kiosk requests admitted per worker, of which `running`
    at once; the others admitted wait their turn in order (for at most `line_wait_s`),
    and the rest are refused.

    A worker runs Python under one lock, so requests worked on together only slow
    each other down, and on SQLite they also take turns at its single write lock,
    whose waiters sleep and poll: in sync/bench_reconnect.py, with 32 at once some
    uploads took 5 s; with four, the median was 15 ms. Waiting in line instead evens
    out the clumps of retries that arrive when kiosks told the same `Retry-After`
    come back in the same instant.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_in_flight: int,
        running: int = RUNNING_PER_WORKER,
        line_wait_s: float = LINE_WAIT_S,
        spread: RetrySpread | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.running = max(1, min(running, max_in_flight))
        self.line_wait_s = line_wait_s
        self.spread = spread or RetrySpread()
        self._clock = clock
        # One event loop per worker process: plain counters are enough.
        self.in_flight = 0
        self._busy = 0
        self._line: deque[asyncio.Future[bool]] = deque()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(KIOSK_PATHS):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            await self._refuse(scope, receive, send)
            return
        self.in_flight += 1
        try:
            if not await self._take_turn():
                await self._refuse(scope, receive, send)
                return
            try:
                await self.app(scope, receive, send)
            finally:
                self._end_turn()
        finally:
            self.in_flight -= 1

    async def _take_turn(self) -> bool:
        """Wait for a turn; False when none came within `line_wait_s`."""
        if self._busy < self.running:
            self._busy += 1
            return True
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[bool] = loop.create_future()
        self._line.append(turn)
        timer = loop.call_later(self.line_wait_s, self._too_late, turn)
        try:
            return await turn
        except asyncio.CancelledError:
            if not turn.cancelled() and turn.result():
                self._end_turn()  # handed a turn just as it was cancelled: pass it on
            elif turn in self._line:
                self._line.remove(turn)
            raise
        finally:
            timer.cancel()

    def _too_late(self, turn: asyncio.Future[bool]) -> None:
        if not turn.done():
            self._line.remove(turn)
            turn.set_result(False)

    def _end_turn(self) -> None:
        # The turn goes straight to the next in line, so a newcomer cannot jump it.
        while self._line:
            turn = self._line.popleft()
            if not turn.done():
                turn.set_result(True)
                return
        self._busy -= 1

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Read the body to its end, so the kiosk reads this answer rather than a reset.
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        wait = self.spread.wait_s(self._clock())
        answer = JSONResponse(
            {"detail": _("the server is busy; try again in {seconds} s").format(seconds=wait)},
            status_code=429,
            headers={"Retry-After": str(wait)},
        )
        await answer(scope, receive, send)
