"""Prometheus metrics at `GET /metrics`, in the text exposition format 0.0.4.

Counters (HTTP requests, ratings ingested) live in each process's memory. With
several worker processes a scrape reaches only one of them (they share one
listening socket), so per-process series labelled by pid would come and go from
scrape to scrape. Instead every worker writes a snapshot of its counters to its own
file in a directory shared by the workers of one server (`share_through`, about once
a second when something changed, and when it exits), and the worker that answers a
scrape adds the other workers' files to its own live counters. Files of workers that
died stay and keep counting, so the sums never go down while the server runs; each
start of the server makes a new, empty directory (and removes it when it stops),
which Prometheus sees as a counter reset. Gauges (kiosks by state, ratings stored)
are read from the database at scrape time, so every worker gives the same answer.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hailong.sync.server.heartbeat import kiosk_state
from hailong.sync.server.models import Kiosk, Rating

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds; from a fast cached page to a batch of 1,000 ratings on a busy server.
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
FLUSH_EVERY_S = 1.0
# Answers of no API route (static files, paths that exist nowhere) share one label
# value, so scanners probing paths cannot create a new series each.
OTHER = "<other>"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
INGEST_STATUSES = ("accepted", "duplicate", "conflict", "rejected")
KIOSK_STATES = ("new", "online", "late", "offline", "revoked")

REQUESTS = "hailong_http_requests_total"
LATENCY = "hailong_http_request_duration_seconds"
INGESTED = "hailong_ratings_ingested_total"
HELP = {
    REQUESTS: "HTTP requests answered, by route template, method and status code.",
    LATENCY: "Time from the request's arrival to the end of the answer, by route template "
             "and method.",
    INGESTED: "Rating items received in upload batches, by the server's verdict.",
    "hailong_worker_http_requests_total": "HTTP requests answered by each live worker process.",
    "hailong_workers": "Worker processes of this server that are running.",
    "hailong_kiosks": "Enrolled kiosks by state (from the time of their last heartbeat).",
    "hailong_ratings_stored": "Ratings stored in the database.",
    "hailong_database_up": "1 when the database answered this scrape, else 0 (and no "
                           "database gauges).",
}

Labels = tuple[tuple[str, str], ...]


class HasStatus(Protocol):
    status: str


@dataclass(frozen=True)
class DatabaseGauges:
    kiosks: dict[str, int]
    ratings_stored: int


@dataclass
class Histogram:
    buckets: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS_S))
    sum: float = 0.0
    count: int = 0

    def observe(self, value: float) -> None:
        for index, bound in enumerate(LATENCY_BUCKETS_S):
            if value <= bound:
                self.buckets[index] += 1
        self.sum += value
        self.count += 1

    def add(self, other: Histogram) -> None:
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets, strict=True)]
        self.sum += other.sum
        self.count += other.count


@dataclass
class Snapshot:
    """One process's counters and histograms, or several added together."""

    counters: dict[str, dict[Labels, float]] = field(default_factory=dict)
    histograms: dict[str, dict[Labels, Histogram]] = field(default_factory=dict)

    def add(self, other: Snapshot) -> None:
        for name, series in other.counters.items():
            mine = self.counters.setdefault(name, {})
            for labels, value in series.items():
                mine[labels] = mine.get(labels, 0.0) + value
        for name, hseries in other.histograms.items():
            hmine = self.histograms.setdefault(name, {})
            for labels, histogram in hseries.items():
                hmine.setdefault(labels, Histogram()).add(histogram)

    def total(self, name: str) -> float:
        return sum(self.counters.get(name, {}).values())

    def to_json(self) -> dict[str, Any]:
        return {
            "counters": {
                name: [[list(map(list, labels)), value] for labels, value in series.items()]
                for name, series in self.counters.items()
            },
            "histograms": {
                name: [
                    [list(map(list, labels)), h.buckets, h.sum, h.count]
                    for labels, h in series.items()
                ]
                for name, series in self.histograms.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Snapshot:
        snapshot = cls()
        for name, rows in data["counters"].items():
            snapshot.counters[name] = {_labels(labels): float(value) for labels, value in rows}
        for name, rows in data["histograms"].items():
            snapshot.histograms[name] = {
                _labels(labels): Histogram(list(buckets), float(total), int(count))
                for labels, buckets, total, count in rows
            }
        return snapshot


def _labels(pairs: Iterable[Sequence[str]]) -> Labels:
    return tuple((str(key), str(value)) for key, value in pairs)


class Registry:
    """This process's counters; thread-safe (sync endpoints run in a thread pool)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot = Snapshot()
        self.changes = 0
        for status in INGEST_STATUSES:
            self._snapshot.counters.setdefault(INGESTED, {})[(("status", status),)] = 0.0

    def inc(self, name: str, labels: Labels, amount: float = 1.0) -> None:
        with self._lock:
            series = self._snapshot.counters.setdefault(name, {})
            series[labels] = series.get(labels, 0.0) + amount
            self.changes += 1

    def observe(self, name: str, labels: Labels, value: float) -> None:
        with self._lock:
            self._snapshot.histograms.setdefault(name, {}).setdefault(
                labels, Histogram()
            ).observe(value)
            self.changes += 1

    def snapshot(self) -> Snapshot:
        copy = Snapshot()
        with self._lock:
            copy.add(self._snapshot)
        return copy


REGISTRY = Registry()


def count_request(route: str, method: str, status: int, duration_s: float) -> None:
    method = method if method in METHODS else "other"
    REGISTRY.inc(REQUESTS, (("route", route), ("method", method), ("status", str(status))))
    REGISTRY.observe(LATENCY, (("route", route), ("method", method)), duration_s)


def count_ingest(results: Iterable[HasStatus]) -> None:
    """Count the verdicts of one upload batch (`BatchResult.results`)."""
    # Tallied first: the registry's lock is taken once per status, not once per item.
    for status_, count in Counter(result.status for result in results).items():
        REGISTRY.inc(INGESTED, (("status", status_),), count)


class SharedDirectory:
    """The snapshot files of one server's worker processes, one `PID.json` each."""

    def __init__(self, path: Path, pid: int):
        self.path = path
        self.pid = pid

    def write(self, snapshot: Snapshot) -> None:
        # Written aside and renamed: a reader sees the old file or the new one, whole.
        scratch = self.path / f".{self.pid}.json.tmp"
        scratch.write_text(json.dumps(snapshot.to_json()), encoding="utf-8")
        os.replace(scratch, self.path / f"{self.pid}.json")

    def others(self) -> Iterator[tuple[int, Snapshot]]:
        for file in self.path.glob("*.json"):
            if not file.stem.isdigit() or int(file.stem) == self.pid:
                continue
            pid = int(file.stem)
            try:
                data = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError):  # removed or half-written by hand: skip this scrape
                continue
            yield pid, Snapshot.from_json(data)


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Sharing:
    """This process's part in a shared directory: a thread that writes the snapshot
    when it changed, at most every FLUSH_EVERY_S, and once more at exit."""

    def __init__(self, directory: SharedDirectory):
        self.directory = directory
        self._written = -1
        self._failing = False
        self._lock = threading.Lock()
        self.flush()
        threading.Thread(target=self._run, name="metrics-flush", daemon=True).start()
        atexit.register(self.flush)

    def flush(self) -> None:
        with self._lock:
            changes = REGISTRY.changes
            if changes == self._written:
                return
            try:
                self.directory.write(REGISTRY.snapshot())
            except OSError as error:  # tried again at the next change, logged once
                if not self._failing:
                    log.warning("metrics: cannot write %s: %s", self.directory.path, error)
                self._failing = True
                return
            self._written = changes
            self._failing = False

    def _run(self) -> None:
        while True:
            time.sleep(FLUSH_EVERY_S)
            self.flush()


_sharing: _Sharing | None = None


def share_through(path: Path) -> None:
    """Share this process's counters with the other workers through `path` (made by
    the server before it starts the workers). Once per process."""
    global _sharing
    if _sharing is None:
        _sharing = _Sharing(SharedDirectory(path, os.getpid()))


# --- the text format -------------------------------------------------------------

def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _sample(name: str, labels: Labels, value: float) -> str:
    text = ",".join(f'{key}="{_escape(val)}"' for key, val in labels)
    return f"{name}{{{text}}} {_number(value)}" if text else f"{name} {_number(value)}"


def _number(value: float) -> str:
    if value == float("inf"):
        return "+Inf"
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _header(name: str, kind: str) -> list[str]:
    return [f"# HELP {name} {HELP[name]}", f"# TYPE {name} {kind}"]


def render(
    total: Snapshot,
    per_worker: dict[int, float],
    database: DatabaseGauges | None,
) -> str:
    """The exposition text: `total` added over the workers, requests of each live worker
    by pid, and the gauges read from the database (None: it did not answer)."""
    lines: list[str] = []
    for name in (REQUESTS, INGESTED):
        lines += _header(name, "counter")
        for labels, value in sorted(total.counters.get(name, {}).items()):
            lines.append(_sample(name, labels, value))
    lines += _header(LATENCY, "histogram")
    for labels, histogram in sorted(total.histograms.get(LATENCY, {}).items()):
        for bound, count in zip(LATENCY_BUCKETS_S, histogram.buckets, strict=True):
            lines.append(_sample(f"{LATENCY}_bucket", (*labels, ("le", repr(bound))), count))
        lines.append(_sample(f"{LATENCY}_bucket", (*labels, ("le", "+Inf")), histogram.count))
        lines.append(_sample(f"{LATENCY}_sum", labels, histogram.sum))
        lines.append(_sample(f"{LATENCY}_count", labels, histogram.count))
    name = "hailong_worker_http_requests_total"
    lines += _header(name, "counter")
    for pid, value in sorted(per_worker.items()):
        lines.append(_sample(name, (("pid", str(pid)),), value))
    lines += _header("hailong_workers", "gauge")
    lines.append(_sample("hailong_workers", (), len(per_worker)))
    lines += _header("hailong_database_up", "gauge")
    lines.append(_sample("hailong_database_up", (), 0 if database is None else 1))
    if database is not None:
        lines += _header("hailong_kiosks", "gauge")
        for state in KIOSK_STATES:
            count = database.kiosks.get(state, 0)
            lines.append(_sample("hailong_kiosks", (("state", state),), count))
        lines += _header("hailong_ratings_stored", "gauge")
        lines.append(_sample("hailong_ratings_stored", (), database.ratings_stored))
    return "\n".join(lines) + "\n"


def gather() -> tuple[Snapshot, dict[int, float]]:
    """This process's counters plus the other workers' files; requests per live worker."""
    own = REGISTRY.snapshot()
    total = Snapshot()
    total.add(own)
    per_worker = {os.getpid(): own.total(REQUESTS)}
    if _sharing is not None:
        for pid, snapshot in _sharing.directory.others():
            total.add(snapshot)
            if is_running(pid):
                per_worker[pid] = snapshot.total(REQUESTS)
    return total, per_worker


# --- the ASGI parts ----------------------------------------------------------------

def route_template(scope: Scope) -> str:
    """The path template of the route that answered (`/api/v1/kiosks/{kiosk_id}/gaps`),
    read after the app ran, so ids in paths do not make a series each. The router
    leaves the route in the scope; its `path` lacks the prefix it was included under,
    which is the literal start of the request path that the route's pattern does not
    cover."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    pattern = getattr(route, "path_regex", None)
    if not isinstance(template, str) or not isinstance(pattern, re.Pattern):
        return OTHER
    path = scope["path"]
    for start, char in enumerate(path):
        if char == "/" and pattern.match(path[start:]):
            return path[:start] + template
    return OTHER


class MetricsMiddleware:
    """Counts every HTTP answer that reaches the app and its latency. Installed inside
    the body limit, which may hand the app a new scope (gzip bodies): the route is
    read from the scope the router saw."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the app raises before answering

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            count_request(
                route_template(scope), scope["method"], status,
                time.perf_counter() - started,
            )


router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    total, per_worker = gather()
    try:
        database: DatabaseGauges | None = read_database(request.app.state.sessions,
                                                        datetime.now(UTC))
    except SQLAlchemyError as error:  # the counters are still worth a scrape
        log.warning("metrics: the database did not answer: %s", error)
        database = None
    return Response(render(total, per_worker, database), media_type=CONTENT_TYPE)


def read_database(sessions: sessionmaker[Session], now: datetime) -> DatabaseGauges:
    with sessions() as session:
        kiosks = dict.fromkeys(KIOSK_STATES, 0)
        for last_heartbeat_at, revoked_at in session.execute(
            select(Kiosk.last_heartbeat_at, Kiosk.revoked_at)
        ):
            kiosks[kiosk_state(last_heartbeat_at, revoked_at, now)] += 1
        stored = session.scalar(select(func.count()).select_from(Rating)) or 0
    return DatabaseGauges(kiosks, stored)
