"""1,000 kiosks reconnecting at once: every one sends a heartbeat and then its backlog.

The server is `hailong server` in a subprocess on 127.0.0.1 (its default rate
limits in force, `server.workers` processes), on SQLite or on a throwaway PostgreSQL
cluster. The kiosks are enrolled before the clock starts, each with its own token
and a ready gzip'd batch of its backlog. Then they all start together, each over its
own new connection (asyncio + httpx, one client per kiosk): a heartbeat, then the
batch, again after `Retry-After` whenever the answer is 429, and after a second on
any other failure. Every request's status (or the error when none came back) and
latency are recorded; the clock stops when the last kiosk's backlog is accepted.
"""

from __future__ import annotations

import asyncio
import gzip
import ssl
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hailong.i18n import _

GOAL_P99_S = 1.0  # issue #5
HTTP_TIMEOUT_S = 60.0
GIVE_UP_S = 300.0  # a kiosk that is still not through after this is a failure
FAILURE_PAUSE_S = 1.0


@dataclass(frozen=True)
class Call:
    kind: str  # "heartbeat" or "batch"
    status: int | None  # None: no HTTP answer (refused, reset, timed out)
    seconds: float
    error: str = ""


@dataclass(frozen=True)
class ReconnectResult:
    database: str
    kiosks: int
    ratings_each: int
    workers: int
    calls: tuple[Call, ...]
    seconds: float  # from the start until the last kiosk's backlog was accepted
    through: int  # kiosks whose whole backlog was accepted
    enroll_seconds: float

    def latencies(self, kind: str | None = None) -> list[float]:
        return sorted(c.seconds for c in self.calls if kind is None or c.kind == kind)

    def percentile(self, q: float, kind: str | None = None) -> float:
        values = self.latencies(kind)
        if not values:
            return float("nan")
        return values[min(len(values) - 1, max(0, round(q * len(values)) - 1))]

    @property
    def median_s(self) -> float:
        return statistics.median(self.latencies())

    @property
    def statuses(self) -> Counter[str]:
        return Counter(str(c.status) if c.status is not None else "no answer" for c in self.calls)

    @property
    def server_errors(self) -> int:
        return sum(1 for c in self.calls if c.status is not None and c.status >= 500)

    @property
    def failed(self) -> int:
        """Answers that are neither success nor 429, and requests with no answer."""
        return sum(
            1 for c in self.calls if c.status is None or (c.status >= 400 and c.status != 429)
        )

    @property
    def goal_met(self) -> bool:
        return (
            self.failed == 0
            and self.through == self.kiosks
            and self.percentile(0.99) <= GOAL_P99_S
        )


@dataclass(frozen=True)
class Fleet:
    tokens: list[str]
    bodies: list[bytes]


def enroll_fleet(database_url: str, kiosks: int, ratings_each: int) -> Fleet:
    """`kiosks` kiosks enrolled at one counter of a new unit (through the server's
    own enrollment code, in its database), each with a gzip'd batch of its backlog."""
    from hailong.sync.bench import make_organisation
    from hailong.sync.client import batch_body
    from hailong.sync.server import fleet
    from hailong.sync.server.db import make_engine, make_session_factory
    from hailong.sync.wire import Batch, RatingItem

    organisation = make_organisation(database_url)
    engine = make_engine(database_url)
    tokens: list[str] = []
    try:
        with make_session_factory(engine)() as session:
            for _n in range(kiosks):
                now = datetime.now(UTC)
                code = fleet.issue_enrollment_code(
                    session, organisation.counter_id, timedelta(hours=1), now
                )
                tokens.append(fleet.enroll(session, code, "bench", "reconnect", now)[1])
    finally:
        engine.dispose()
    now = datetime.now(UTC)
    bodies = []
    for _token in tokens:
        boot_id = uuid.uuid4()
        items = [
            RatingItem(
                id=uuid.uuid4(), kiosk_seq=seq, counter_id=organisation.counter_id,
                officer_id=organisation.officer_id, button=1 + seq % 4, scale_size=4,
                sipas_level=5 - seq % 4, source="touch", boot_id=boot_id,
                monotonic_ms=1_000_000 + seq, wall_time=now - timedelta(minutes=seq),
                clock_trusted=True,
            )
            for seq in range(1, ratings_each + 1)
        ]
        batch = Batch(
            sent_wall_time=now, sent_monotonic_ms=2_000_000, boot_id=boot_id, items=items
        )
        bodies.append(gzip.compress(batch_body(batch), compresslevel=6))
    return Fleet(tokens, bodies)


def _retry_after(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value is not None else FAILURE_PAUSE_S
    except ValueError:
        return FAILURE_PAUSE_S


async def _one_kiosk(
    server_url: str,
    token: str,
    body: bytes,
    start: asyncio.Event,
    calls: list[Call],
    tls: ssl.SSLContext,
) -> float | None:
    """A kiosk back on the network: heartbeat, then its backlog until accepted. The
    `perf_counter` time when its backlog was accepted, or None when it gave up."""
    import httpx

    from hailong.sync.client import BATCHES_PATH, HEARTBEAT_PATH
    from hailong.sync.wire import Heartbeat

    auth = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=1)
    # One TLS context for all (unused on http://): httpx builds one per client otherwise.
    async with httpx.AsyncClient(
        base_url=server_url, timeout=HTTP_TIMEOUT_S, limits=limits, verify=tls
    ) as http:
        await start.wait()
        began = time.perf_counter()

        async def post(kind: str, path: str, content: bytes, headers: dict[str, str]) -> (
            httpx.Response | None
        ):
            sent = time.perf_counter()
            try:
                answer = await http.post(path, content=content, headers={**auth, **headers})
            except httpx.HTTPError as exc:
                calls.append(Call(kind, None, time.perf_counter() - sent, repr(exc)))
                return None
            calls.append(Call(kind, answer.status_code, time.perf_counter() - sent,
                              "" if answer.status_code < 400 else answer.text[:200]))
            return answer

        beat = Heartbeat(
            sent_wall_time=datetime.now(UTC), app_version="bench", box_status="connected",
            backlog=1,
        )
        await post("heartbeat", HEARTBEAT_PATH, beat.model_dump_json().encode(),
                   {"Content-Type": "application/json"})
        gz = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        while time.perf_counter() - began < GIVE_UP_S:
            answer = await post("batch", BATCHES_PATH, body, gz)
            if answer is not None and answer.status_code == 200:
                verdicts = {r["status"] for r in answer.json()["results"]}
                if verdicts <= {"accepted", "duplicate"}:
                    return time.perf_counter()
            wait = _retry_after(answer.headers.get("Retry-After") if answer is not None else None)
            await asyncio.sleep(wait)
        return None


async def _reconnect_all(server_url: str, fleet: Fleet) -> tuple[list[Call], list[float | None]]:
    """Every kiosk's calls, and when each was through (seconds from the start)."""
    calls: list[Call] = []
    start = asyncio.Event()
    tls = ssl.create_default_context()
    tasks = [
        asyncio.create_task(_one_kiosk(server_url, token, body, start, calls, tls))
        for token, body in zip(fleet.tokens, fleet.bodies, strict=True)
    ]
    # Every client is made and waiting before the gate opens.
    await asyncio.sleep(1.0)
    began = time.perf_counter()
    start.set()
    done = await asyncio.gather(*tasks)
    return calls, [None if t is None else t - began for t in done]


def run_reconnect(
    folder: Path, database_url: str, kiosks: int, ratings_each: int, workers: int
) -> ReconnectResult:
    from hailong.sync.bench import server_process

    with server_process(folder, database_url, workers, lift_rate_limit=False) as server_url:
        began = time.perf_counter()
        fleet = enroll_fleet(database_url, kiosks, ratings_each)
        enroll_seconds = time.perf_counter() - began
        calls, done = asyncio.run(_reconnect_all(server_url, fleet))
    finished = [t for t in done if t is not None]
    backend = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    if not calls:
        raise RuntimeError(_("no request was made"))
    return ReconnectResult(
        database=backend, kiosks=kiosks, ratings_each=ratings_each, workers=workers,
        calls=tuple(calls), seconds=max(finished) if finished else float("nan"),
        through=len(finished), enroll_seconds=enroll_seconds,
    )


SECTION_RECONNECT = "## Sync: 1,000 kiosks reconnecting at once"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def reconnect_markdown(
    results: list[ReconnectResult], command: str, date: str, machine: str
) -> str:
    first = results[0]
    rows = []
    for r in results:
        through_time = f" in {r.seconds:.1f} s" if r.through else ""
        statuses = ", ".join(f"{code}: {n:,}" for code, n in sorted(r.statuses.items()))
        rows.append(
            f"| {r.database} | {statuses} | {r.server_errors:,} | {_ms(r.median_s)} "
            f"| {_ms(r.percentile(0.99))} | {_ms(r.latencies()[-1])} "
            f"| {r.through:,} of {r.kiosks:,}{through_time} "
            f"| {'met' if r.goal_met else 'NOT met'} |"
        )
    table = "\n".join(rows)
    return f"""{SECTION_RECONNECT}

{first.kiosks:,} kiosks enrolled with `hailong server` (`server.workers = {first.workers}`, its
default rate limits) in a subprocess on 127.0.0.1, each holding a backlog of
{first.ratings_each} ratings, all start at once, each over its own new connection
(asyncio + httpx in one process on the same machine): a heartbeat, then the
backlog in one gzip'd batch, sent again after `Retry-After` on a 429 and after a
second on any other failure. Latency is per request, from sending it to its whole
answer; "through" is when the last kiosk's backlog was accepted. The goal: no 5xx
(429 is allowed), p99 ≤ {GOAL_P99_S:g} s. The load generator shares the machine's cores.

- Command: `{command}`
- Date: {date}
- Machine: {machine}

| database | answers (status: count) | 5xx | p50 | p99 | max | through | goal |
|---|---|---:|---:|---:|---:|---|---|
{table}

How the server copes: each worker answers at most `max_kiosk_requests_in_flight`
kiosk requests at once and turns the rest away at once with 429 and a `Retry-After`
spread over 2–30 s (`sync/server/overload.py`); dependencies hand their database
connection back before the endpoint runs, so a burst cannot starve the pool (before
that fix PostgreSQL timed out every request of this benchmark). The latencies include
the load generator's own event loop, which runs the thousand clients on the same two
cores as the server; how much of the p99 is theirs has not been measured (clients on
another machine would tell).
"""
