"""1,000 kiosks reconnecting at once: every one sends a heartbeat and then its backlog.

The server is `hailong server` in a subprocess on 127.0.0.1 (its default rate
limits in force, `server.workers` processes), on SQLite or on a throwaway PostgreSQL
cluster. The kiosks are enrolled before the clock starts, each with its own token,
and their requests (a heartbeat and a gzip'd batch of the backlog) are made into
bytes before it starts. Then they all start together, each over its own new
connection: a heartbeat, then the batch, again after `Retry-After` whenever the
answer is 429, and after a second on any other failure. Every request's status (or
the error when none came back) and latency are recorded, from just before it is
written (or its connection opened, when it needs a new one) to the last byte of its
answer; the clock stops when the last kiosk's backlog is accepted.

The thousand kiosks are one process with one event loop on the same cores as the
server, so they are a minimal HTTP/1.1 client on asyncio streams rather than httpx,
which cost about five times the CPU per request; the CPU time of both sides is
measured and reported.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from hailong.i18n import _

GOAL_P99_S = 1.0  # issue #5
HTTP_TIMEOUT_S = 60.0
GIVE_UP_S = 300.0  # a kiosk that is still not through after this is a failure
FAILURE_PAUSE_S = 1.0
# A kiosk's connection is used again only this soon after its last answer: well
# below uvicorn's keep-alive timeout (5 s), after which the server closes it.
REUSE_IDLE_S = 2.0


@dataclass(frozen=True)
class Call:
    kind: str  # "heartbeat" or "batch"
    status: int | None  # None: no HTTP answer (refused, reset, timed out)
    seconds: float
    error: str = ""
    sent_at: float = 0.0  # `perf_counter` time when it was sent


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
    stored: int  # ratings in the server's database afterwards
    client_cpu_s: float  # CPU time of the load generator from the start to the end
    server_cpu_s: float  # ... and of the server's processes (not PostgreSQL's)

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
            and self.stored == self.kiosks * self.ratings_each
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


# -- a minimal HTTP/1.1 client --------------------------------------------------------
# With httpx the load generator spent about 1.6 ms of CPU per request (a client made
# per kiosk included); a thousand kiosks in one process then competed with the server
# for the same two cores, and the latencies measured were partly its own queue. Requests here are
# bytes made before the start and answers are parsed no further than the status,
# the headers and a Content-Length body.


class ProtocolError(Exception):
    """An answer this client cannot read."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


def post_request(host: str, path: str, token: str, body: bytes, gzipped: bool) -> bytes:
    """The bytes of an HTTP/1.1 POST of a JSON `body` on a kept-alive connection."""
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}",
        f"Authorization: Bearer {token}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    if gzipped:
        head.append("Content-Encoding: gzip")
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + body


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    """The status and headers of an answer's head (up to and without the blank line)."""
    status_line, *lines = head.decode("latin-1").split("\r\n")
    version, _sp, rest = status_line.partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise ProtocolError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
    headers = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon:
            raise ProtocolError(f"not a header line: {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    return int(code), headers


async def read_answer(reader: asyncio.StreamReader) -> Answer:
    head = await reader.readuntil(b"\r\n\r\n")
    status, headers = parse_head(head[:-4])
    length = headers.get("content-length")
    if length is None or not length.isdigit():
        raise ProtocolError("an answer without Content-Length")
    return Answer(status, headers, await reader.readexactly(int(length)))


class KioskConnection:
    """One kiosk's connection to the server, opened when a request needs it and
    given up after a spell of idleness (below the server's keep-alive timeout, so a
    request never races the server closing it)."""

    def __init__(self, host: str, port: int):
        self.host = host
        self.port = port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._idle_since = 0.0

    async def exchange(self, request: bytes) -> Answer:
        if self._streams is not None and time.perf_counter() - self._idle_since > REUSE_IDLE_S:
            await self.close()
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        try:
            writer.write(request)
            await writer.drain()
            answer = await read_answer(reader)
        except BaseException:
            await self.close()
            raise
        if answer.headers.get("connection", "").lower() == "close":
            await self.close()
        self._idle_since = time.perf_counter()
        return answer

    async def close(self) -> None:
        if self._streams is None:
            return
        writer = self._streams[1]
        self._streams = None
        writer.close()
        with suppress(OSError):
            await writer.wait_closed()


@dataclass(frozen=True)
class KioskRequests:
    heartbeat: bytes
    batch: bytes


def kiosk_requests(host: str, fleet: Fleet) -> list[KioskRequests]:
    """Every kiosk's heartbeat and batch upload, as bytes ready to send."""
    from hailong.sync.client import BATCHES_PATH, HEARTBEAT_PATH
    from hailong.sync.wire import Heartbeat

    requests = []
    for token, body in zip(fleet.tokens, fleet.bodies, strict=True):
        beat = Heartbeat(
            sent_wall_time=datetime.now(UTC), app_version="bench", box_status="connected",
            backlog=1,
        )
        requests.append(KioskRequests(
            post_request(host, HEARTBEAT_PATH, token, beat.model_dump_json().encode(), False),
            post_request(host, BATCHES_PATH, token, body, True),
        ))
    return requests


async def _one_kiosk(
    host: str, port: int, requests: KioskRequests, start: asyncio.Event, calls: list[Call]
) -> float | None:
    """A kiosk back on the network: heartbeat, then its backlog until accepted. The
    `perf_counter` time when its backlog was accepted, or None when it gave up."""
    connection = KioskConnection(host, port)
    await start.wait()
    began = time.perf_counter()

    async def post(kind: str, request: bytes) -> Answer | None:
        # From just before connecting (when a new connection is needed) or writing,
        # to the answer's last byte.
        sent = time.perf_counter()
        try:
            async with asyncio.timeout(HTTP_TIMEOUT_S):
                answer = await connection.exchange(request)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ProtocolError) as exc:
            calls.append(Call(kind, None, time.perf_counter() - sent, repr(exc), sent))
            return None
        error = "" if answer.status < 400 else answer.body[:200].decode("utf-8", "replace")
        calls.append(Call(kind, answer.status, time.perf_counter() - sent, error, sent))
        return answer

    try:
        await post("heartbeat", requests.heartbeat)
        while time.perf_counter() - began < GIVE_UP_S:
            answer = await post("batch", requests.batch)
            if answer is not None and answer.status == 200:
                verdicts = {r["status"] for r in json.loads(answer.body)["results"]}
                if verdicts <= {"accepted", "duplicate"}:
                    return time.perf_counter()
            wait = _retry_after(answer.headers.get("retry-after") if answer is not None else None)
            await asyncio.sleep(wait)
        return None
    finally:
        await connection.close()


async def _reconnect_all(
    server_url: str, fleet: Fleet
) -> tuple[list[Call], list[float | None], float, float]:
    """Every kiosk's calls, when each was through (seconds from the start), and the
    CPU seconds this process and the server's processes spent meanwhile."""
    address = urlsplit(server_url)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    prepared = kiosk_requests(address.netloc, fleet)
    calls: list[Call] = []
    start = asyncio.Event()
    tasks = [
        asyncio.create_task(_one_kiosk(host, port, requests, start, calls))
        for requests in prepared
    ]
    # One turn of the loop: every task is waiting at the gate before it opens.
    await asyncio.sleep(0)
    server_cpu, client_cpu = server_cpu_s(), time.process_time()
    began = time.perf_counter()
    start.set()
    done = await asyncio.gather(*tasks)
    client_cpu = time.process_time() - client_cpu
    server_cpu = server_cpu_s() - server_cpu
    return calls, [None if t is None else t - began for t in done], client_cpu, server_cpu


# -- CPU time of the server's processes -----------------------------------------------


def _stat_fields(pid: str) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            # After the command name, which may hold spaces: state, ppid, pgrp, ...
            return stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def server_cpu_s() -> float:
    """User and system CPU seconds so far of the server (`hailong server`, started by
    this process in a process group of its own, and its worker processes); NaN where
    /proc is not there to tell."""
    if not Path("/proc/self/stat").exists():
        return float("nan")
    me = str(os.getpid())
    stats = {pid: _stat_fields(pid) for pid in os.listdir("/proc") if pid.isdigit()}
    leaders = {pid for pid, f in stats.items() if f is not None and f[1] == me and f[2] == pid}
    ticks = sum(
        int(f[11]) + int(f[12]) for f in stats.values() if f is not None and f[2] in leaders
    )
    return ticks / os.sysconf("SC_CLK_TCK")


def _event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop where it is installed (the server's runs on it too): it takes
    about a third off the load generator's CPU time, spent on the server's cores."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def stored_ratings(database_url: str) -> int:
    """Ratings in the server's database (a fresh one for each run)."""
    from sqlalchemy import func, select

    from hailong.sync.server.db import make_engine
    from hailong.sync.server.models import Rating

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(Rating)) or 0
    finally:
        engine.dispose()


def run_reconnect(
    folder: Path, database_url: str, kiosks: int, ratings_each: int, workers: int
) -> ReconnectResult:
    from hailong.sync.bench import server_process

    with server_process(folder, database_url, workers, lift_rate_limit=False) as server_url:
        began = time.perf_counter()
        fleet = enroll_fleet(database_url, kiosks, ratings_each)
        enroll_seconds = time.perf_counter() - began
        with asyncio.Runner(loop_factory=_event_loop_factory()) as runner:
            calls, done, client_cpu, server_cpu = runner.run(_reconnect_all(server_url, fleet))
    finished = [t for t in done if t is not None]
    backend = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    if not calls:
        raise RuntimeError(_("no request was made"))
    return ReconnectResult(
        database=backend, kiosks=kiosks, ratings_each=ratings_each, workers=workers,
        calls=tuple(calls), seconds=max(finished) if finished else float("nan"),
        through=len(finished), enroll_seconds=enroll_seconds,
        stored=stored_ratings(database_url), client_cpu_s=client_cpu,
        server_cpu_s=server_cpu,
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
            f"| {r.through:,} of {r.kiosks:,}{through_time} | {r.stored:,} "
            f"| {r.client_cpu_s:.1f} s / {r.server_cpu_s:.1f} s "
            f"| {'met' if r.goal_met else 'NOT met'} |"
        )
    table = "\n".join(rows)
    return f"""{SECTION_RECONNECT}

{first.kiosks:,} kiosks enrolled with `hailong server` (`server.workers = {first.workers}`, its
default limits) in a subprocess on 127.0.0.1, each holding a backlog of
{first.ratings_each} ratings, all start at once, each over its own new connection: a
heartbeat, then the backlog in one gzip'd batch, sent again after `Retry-After` on a
429 and after a second on any other failure. Latency is per request, 200 and 429
alike, from just before it is written (or its connection opened) to the last byte
of its answer; "through" is when the last kiosk's backlog was accepted, and
"stored" the ratings the server's database holds afterwards. The goal: no 5xx (429
is allowed), p99 ≤ {GOAL_P99_S:g} s, every backlog stored.

The kiosks are one process on the same cores as the server (a minimal HTTP/1.1
client on asyncio streams and uvloop, requests made into bytes before the start);
"CPU" is the CPU time it and the server's processes spent from the start to the end
(PostgreSQL's own processes not counted).

- Command: `{command}`
- Date: {date}
- Machine: {machine}

| database | answers | 5xx | p50 | p99 | max | through | stored | CPU kiosks / server | goal |
|---|---|---:|---:|---:|---:|---|---:|---|---|
{table}

How the server copes (`sync/server/overload.py`): each worker admits at most
`max_kiosk_requests_in_flight` kiosk requests, works on four of them at once (the
rest of the admitted wait in line, in order) and turns the others away at once with
429, before reading anything but the request's own bytes. `Retry-After` is drawn
from 1 s up to the span the refused crowd needs to come back at about 100 requests
a second per worker (some 10 s for this fleet, at most 30 s). Dependencies that do
no I/O run on the event loop and the others hand their database connection back
before the endpoint runs; uvicorn runs on uvloop with httptools.
"""
