"""Sync throughput: a kiosk's backlog drained to the server, and the server's ingest
into PostgreSQL, each beside its ceiling measured in the same run.

Backlog drain. A real kiosk store (`KioskStore`, SQLite, WAL, synchronous=FULL),
enrolled with a real server (`hailong server` in a subprocess on 127.0.0.1, SQLite
by default, `--database-url` for another database), holding N pending ratings, is
drained by the real uploader (`Uploader.push_all`, batches of 1,000 as the server
takes them). The ceiling it is compared with is the naive design: one POST per
rating, the same ratings through the same client and the same server, one item per
batch. That one is slow, so only a sample is timed and the figure for N is
extrapolated from it (and said so).

Server ingest. A throwaway PostgreSQL cluster (`pg_cluster`), the server in a
subprocess on it, and several enrolled kiosks uploading ready-made gzip'd batches
of 1,000 ratings at once, one connection each; the clock runs from the first
request to the last answer. The ceiling: the very same rows, taken back out of the
table with `COPY … TO`, the table emptied, and put back with one `COPY … FROM` in
one transaction, indexes and constraints in place.

The filling of the kiosk store is not timed: one rating is stored through
`KioskStore.record`, the others are copies of it with their own id, sequence number
and times inserted in one transaction with the store's own tables (what `record`
writes), as tests/faults/test_backlog.py does.

Run with `make bench` or `python -m hailong.sync.bench`; `--update
docs/benchmarks.md` rewrites the two sections there.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from hailong.benchmarking import Machine, machine, machine_line, update_section, utc_stamp
from hailong.i18n import _
from hailong.sync.ids import new_rating_id

if TYPE_CHECKING:
    from hailong.sync.store import KioskStore, StoredRating

SECTION_DRAIN = "## Sync: a backlog drained to the server"
SECTION_INGEST = "## Sync: server ingest into PostgreSQL over HTTP"
GOAL_DRAIN_S = 10.0  # issue #5, for 100,000 ratings
GOAL_DRAIN_RATINGS = 100_000
GOAL_INGEST_PER_S = 30_000.0  # issue #5, on 2 cores
BATCH_ITEMS = 1000  # the server's default max_batch_items
BATCH_BYTES = 900_000  # under the server's default 1 MB body limit
INGEST_CLIENTS = 4
STARTUP_S = 60.0
HTTP_TIMEOUT_S = 60.0
_LISTENING = re.compile(r"listening on (http://\S+)")


@dataclass(frozen=True)
class Timed:
    ratings: int
    seconds: float

    @property
    def per_s(self) -> float:
        return self.ratings / self.seconds


@dataclass(frozen=True)
class DrainResult:
    date: str
    machine: Machine
    database: str
    workers: int
    batched: Timed
    one_by_one: Timed  # the sample actually timed

    @property
    def one_by_one_extrapolated_s(self) -> float:
        return self.batched.ratings / self.one_by_one.per_s

    @property
    def speedup(self) -> float:
        return self.batched.per_s / self.one_by_one.per_s

    @property
    def goal_met(self) -> bool:
        return self.batched.seconds * GOAL_DRAIN_RATINGS / self.batched.ratings <= GOAL_DRAIN_S


@dataclass(frozen=True)
class IngestRound:
    http: Timed
    batch_median_ms: float
    copy: Timed


@dataclass(frozen=True)
class IngestResult:
    date: str
    machine: Machine
    clients: int
    workers: int
    rounds: list[IngestRound]

    @property
    def http_per_s(self) -> float:
        """The median round's rate over HTTP: one round is at the mercy of the machine."""
        return statistics.median(r.http.per_s for r in self.rounds)

    @property
    def copy_per_s(self) -> float:
        return statistics.median(r.copy.per_s for r in self.rounds)

    @property
    def ratio(self) -> float:
        return self.copy_per_s / self.http_per_s

    @property
    def goal_met(self) -> bool:
        return self.http_per_s >= GOAL_INGEST_PER_S


# -- the server ---------------------------------------------------------------------


@contextmanager
def server_process(
    folder: Path, database_url: str, workers: int = 1, *, lift_rate_limit: bool = True
) -> Iterator[str]:
    """`hailong server` (`workers` processes) on a free port of 127.0.0.1 until the
    block ends; its URL. The per-kiosk upload rate limit is lifted unless told: the
    throughput benchmarks do not measure it."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "server.toml"
    lifted = "upload_batches_per_s = 100000\nupload_burst = 1000000\n"
    config.write_text(
        "[server]\n"
        f'data_dir = "{folder}"\n'
        f'database_url = "{database_url}"\n'
        f"max_batch_items = {BATCH_ITEMS}\n"
        f"{lifted if lift_rate_limit else ''}"
        f"workers = {workers}\n"
        'language = "en"\n',
        encoding="utf-8",
    )
    out, err = folder / "server.out", folder / "server.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "hailong", "server", "--config", str(config), "--port", "0"],
            stdout=stdout,
            stderr=stderr,
            # Its own process group: the worker processes go with the supervisor even
            # when it has to be killed.
            start_new_session=True,
        )
    try:
        yield _wait_listening(process, out, err)
    finally:
        _stop_group(process)


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(15)
    # Workers still finishing requests after the supervisor left are not waited for.
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(15)


def _wait_listening(process: subprocess.Popen[bytes], out: Path, err: Path) -> str:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        found = _LISTENING.search(out.read_text(encoding="utf-8", errors="replace"))
        if found:
            return found.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError(
        _("the server did not start: {log}").format(
            log=err.read_text(encoding="utf-8", errors="replace")[-2000:]
        )
    )


@dataclass(frozen=True)
class Organisation:
    counter_id: int
    officer_id: int


def make_organisation(database_url: str) -> Organisation:
    """A unit with one counter and one officer, written straight into the server's
    (already migrated) database."""
    from hailong.sync.server import org
    from hailong.sync.server.db import make_engine, make_session_factory

    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            unit = org.add_unit(session, f"Bộ phận một cửa {uuid.uuid4().hex[:6]}")
            counter = org.add_counter(session, unit.id, "Quầy 1")
            officer = org.add_officer(session, unit.id, "Nguyễn Văn A", "Chuyên viên", None)
            return Organisation(counter.id, officer.id)
    finally:
        engine.dispose()


def enrollment_code(database_url: str, counter_id: int) -> str:
    from hailong.sync.server import fleet
    from hailong.sync.server.db import make_engine, make_session_factory

    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            now = datetime.now(UTC)
            return fleet.issue_enrollment_code(session, counter_id, timedelta(hours=1), now)
    finally:
        engine.dispose()


# -- the kiosk ----------------------------------------------------------------------


def enrolled_kiosk(
    folder: Path, server_url: str, database_url: str, counter_id: int
) -> KioskStore:
    """A fresh kiosk store in `folder`, enrolled with the server."""
    from hailong.kiosk.enrollment import enroll
    from hailong.sync.store import KioskStore

    store = KioskStore(folder / "kiosk.db")
    code = enrollment_code(database_url, counter_id)
    enroll(store, server_url, code, folder / "photos", timeout=HTTP_TIMEOUT_S)
    return store


def fill_backlog(store: KioskStore, organisation: Organisation, count: int) -> None:
    """`count` pending ratings: one through `record`, the rest copies of it written
    in one transaction with the store's own tables."""

    from hailong.kiosk.session import NewRating
    from hailong.sync.boot import current_boot_id

    template = store.record(
        NewRating(organisation.counter_id, organisation.officer_id, 1, 4, 5, "touch", (), None),
        wall_time=datetime.now(UTC),
        monotonic_ms=int(time.monotonic() * 1000),
        clock_trusted=True,
        boot_id=current_boot_id(),
    )
    copy_pending(store, template, count - 1)


def copy_pending(store: KioskStore, template: StoredRating, count: int) -> None:
    """`count` more pending ratings like `template`, written in one transaction with
    the store's own tables (the rows, outbox entries and sequence `record` would
    write): a large backlog in seconds, where `record` commits to disk once each."""
    import sqlalchemy as sa

    from hailong.sync.kiosk_schema import outbox, ratings, sequences

    start = template.kiosk_seq
    rows = []
    for n in range(1, count + 1):
        copy = replace(
            template,
            id=new_rating_id(),
            kiosk_seq=start + n,
            wall_time=template.wall_time + timedelta(milliseconds=n),
            monotonic_ms=template.monotonic_ms + n,
        )
        rows.append({
            "kiosk_seq": copy.kiosk_seq, "id": copy.id, "counter_id": copy.counter_id,
            "officer_id": copy.officer_id, "button": copy.button,
            "scale_size": copy.scale_size, "sipas_level": copy.sipas_level,
            "source": copy.source, "flags": list(copy.flags), "box_serial": None,
            "box_boot_nonce": None, "box_seq": None, "wall_time": copy.wall_time,
            "monotonic_ms": copy.monotonic_ms, "clock_trusted": copy.clock_trusted,
            "boot_id": copy.boot_id,
        })
    if not rows:
        return
    engine = sa.create_engine(sa.URL.create("sqlite", database=str(store.path)))
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(ratings), rows)
            connection.execute(
                sa.insert(outbox), [{"kiosk_seq": r["kiosk_seq"], "state": "pending"} for r in rows]
            )
            connection.execute(
                sa.update(sequences)
                .where(sequences.c.name == "kiosk_seq")
                .values(last_value=start + count)
            )
    finally:
        engine.dispose()


def timed_drain(store: KioskStore, server_url: str, batch_items: int, batch_bytes: int) -> Timed:
    """The store's whole backlog through `Uploader.push_all`, timed."""
    from hailong.config.settings import SyncSettings
    from hailong.sync.uploader import Uploader

    settings = SyncSettings.model_validate({
        "server_url": server_url,
        "timeout_s": HTTP_TIMEOUT_S,
        "batch_max_items": batch_items,
        "batch_max_bytes": batch_bytes,
    })
    backlog = store.backlog()
    uploader = Uploader(store, settings, lambda: store.get_state("token"))
    try:
        started = time.perf_counter()
        report = uploader.push_all()
        seconds = time.perf_counter() - started
    finally:
        uploader.stop()
    if not report.ok or report.sent != backlog or store.backlog():
        raise RuntimeError(
            _("the drain failed: {sent} of {backlog} sent ({error})").format(
                sent=report.sent, backlog=backlog, error=report.error
            )
        )
    return Timed(backlog, seconds)


def run_drain(
    ratings: int, sample: int, folder: Path, database_url: str | None, workers: int
) -> DrainResult:
    date, host = utc_stamp(), machine(folder)
    url = database_url or f"sqlite:///{folder / 'server' / 'server.db'}"
    with server_process(folder / "server", url, workers) as server_url:
        organisation = make_organisation(url)
        results = []
        for name, count, items in (("batched", ratings, BATCH_ITEMS), ("one", sample, 1)):
            kiosk_dir = folder / f"kiosk-{name}"
            store = enrolled_kiosk(kiosk_dir, server_url, url, organisation.counter_id)
            with closing(store):
                fill_backlog(store, organisation, count)
                results.append(timed_drain(store, server_url, items, BATCH_BYTES))
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    return DrainResult(date, host, backend, workers, results[0], results[1])


# -- server ingest into PostgreSQL ---------------------------------------------------


def gzip_batches(organisation: Organisation, count: int) -> list[bytes]:
    """`count` ratings of one kiosk boot as upload bodies of `BATCH_ITEMS`, ready to
    send (serialising them is the kiosk's work, not the server's)."""
    from hailong.sync.client import batch_body
    from hailong.sync.wire import Batch, RatingItem

    boot_id, now, bodies = uuid.uuid4(), datetime.now(UTC), []
    for first in range(1, count + 1, BATCH_ITEMS):
        last = min(count, first + BATCH_ITEMS - 1)
        items = [
            RatingItem(
                id=new_rating_id(), kiosk_seq=seq, counter_id=organisation.counter_id,
                officer_id=organisation.officer_id, button=1 + seq % 4, scale_size=4,
                sipas_level=5 - seq % 4, source="touch", boot_id=boot_id,
                monotonic_ms=1_000_000 + seq, wall_time=now + timedelta(milliseconds=seq),
                clock_trusted=True,
            )
            for seq in range(first, last + 1)
        ]
        batch = Batch(
            sent_wall_time=now, sent_monotonic_ms=1_000_000 + count + 1, boot_id=boot_id,
            items=items,
        )
        bodies.append(gzip.compress(batch_body(batch), compresslevel=6))
    return bodies


def _send_all(server_url: str, token: str, bodies: Sequence[bytes], latencies: list[float],
              errors: list[str]) -> None:
    import requests

    from hailong.sync.client import BATCHES_PATH

    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
    }
    with requests.Session() as http:
        for body in bodies:
            started = time.perf_counter()
            answer = http.post(
                server_url + BATCHES_PATH, data=body, headers=headers, timeout=HTTP_TIMEOUT_S
            )
            latencies.append(time.perf_counter() - started)
            accepted = answer.status_code == 200 and all(
                r["status"] == "accepted" for r in answer.json()["results"]
            )
            if not accepted:
                errors.append(f"{answer.status_code}: {answer.text[:300]}")
                return


def timed_http_ingest(
    server_url: str, database_url: str, organisation: Organisation, ratings: int, clients: int
) -> tuple[Timed, float]:
    """`ratings` split among `clients` enrolled kiosks uploading at once; the time
    and the median batch latency (ms)."""
    from hailong.sync import client

    tokens = [
        client.enroll(
            server_url, enrollment_code(database_url, organisation.counter_id), "bench",
            HTTP_TIMEOUT_S,
        ).token
        for _n in range(clients)
    ]
    shares = [ratings // clients + (n < ratings % clients) for n in range(clients)]
    bodies = [gzip_batches(organisation, share) for share in shares if share]
    latencies: list[float] = []
    errors: list[str] = []
    threads = [
        threading.Thread(target=_send_all, args=(server_url, token, own, latencies, errors))
        for token, own in zip(tokens, bodies, strict=False)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if errors:
        raise RuntimeError(_("an upload failed: {error}").format(error=errors[0]))
    return Timed(ratings, seconds), statistics.median(latencies) * 1000


def timed_copy(database_url: str, ratings: int) -> Timed:
    """The rows now in `ratings`, copied out, the table emptied, and the same rows
    copied back in one transaction: the time of the copy in and its commit."""
    import psycopg

    conninfo = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, connect_timeout=10) as connection:
        with connection.cursor() as cursor:
            data = bytearray()
            with cursor.copy("COPY ratings TO STDOUT (FORMAT BINARY)") as copy:
                for chunk in copy:
                    data += chunk
            cursor.execute("TRUNCATE ratings CASCADE")
        connection.commit()
        started = time.perf_counter()
        with (
            connection.cursor() as cursor,
            cursor.copy("COPY ratings FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.write(data)
        connection.commit()
        seconds = time.perf_counter() - started
        count = connection.execute("SELECT count(*) FROM ratings").fetchone()
    if count is None or count[0] != ratings:
        raise RuntimeError(f"COPY put back {count} rows, not {ratings}")
    return Timed(ratings, seconds)


def run_ingest(
    ratings: int, folder: Path, workers: int, clients: int = INGEST_CLIENTS, rounds: int = 5
) -> IngestResult:
    """`rounds` times, each into a new database on one throwaway cluster: `ratings`
    over HTTP, then the same rows again by `COPY`."""
    from hailong.sync.server.pg_cluster import start_cluster

    date, host = utc_stamp(), machine(folder)
    cluster = start_cluster()
    done: list[IngestRound] = []
    try:
        for number in range(1, rounds + 1):
            url = cluster.create_database(f"bench{number}")
            with server_process(folder / f"server-pg-{number}", url, workers) as server_url:
                organisation = make_organisation(url)
                http, median_ms = timed_http_ingest(
                    server_url, url, organisation, ratings, clients)
            done.append(IngestRound(http, median_ms, timed_copy(url, ratings)))
    finally:
        cluster.stop()
    return IngestResult(date, host, clients, workers, done)


# -- reporting ----------------------------------------------------------------------


def drain_markdown(result: DrainResult, command: str) -> str:
    b, o = result.batched, result.one_by_one
    extrapolated = result.one_by_one_extrapolated_s
    verdict = "met" if result.goal_met else "NOT met"
    if b.ratings < GOAL_DRAIN_RATINGS:
        verdict += f" (scaled from {b.ratings:,} ratings)"
    return f"""{SECTION_DRAIN}

A kiosk's backlog of pending ratings in a real `KioskStore` (SQLite, WAL,
`synchronous=FULL`) drained by the real uploader (`Uploader.push_all`, batches of up
to {BATCH_ITEMS:,} ratings and {BATCH_BYTES:,} bytes, gzip'd) to `hailong server` in a
subprocess on 127.0.0.1 ({result.database}, `server.workers = {result.workers}`; the
per-kiosk upload rate limit lifted).
Beside it, what simpler kiosks do, one POST per rating: the same kind of ratings
through the same client and server, one item per batch. Only a sample of
{o.ratings:,} was timed one by one; the figure for {b.ratings:,} is extrapolated from
its rate. Filling the stores is not timed.

- Command: `{command}`
- Date: {result.date}
- Machine: {machine_line(result.machine)}

| upload | ratings timed | time | ratings/s |
|---|---:|---:|---:|
| batched (`Uploader.push_all`) | {b.ratings:,} | {b.seconds:.1f} s | {b.per_s:,.0f} |
| one POST per rating | {o.ratings:,} | {o.seconds:.1f} s | {o.per_s:,.0f} |
| one POST per rating, extrapolated to {b.ratings:,} | | {extrapolated:,.0f} s | |
| batched ÷ one by one | | | {result.speedup:.0f}× |

Goal of issue #5, {GOAL_DRAIN_RATINGS:,} ratings in ≤ {GOAL_DRAIN_S:g} s: **{verdict}**.
"""


def ingest_markdown(result: IngestResult, command: str) -> str:
    verdict = "met" if result.goal_met else "NOT met"
    rows = "\n".join(
        f"| {n} | {r.http.ratings:,} | {r.http.seconds:.2f} s | {r.http.per_s:,.0f} "
        f"| {r.batch_median_ms:.0f} ms | {r.copy.seconds:.2f} s | {r.copy.per_s:,.0f} |"
        for n, r in enumerate(result.rounds, start=1)
    )
    return f"""{SECTION_INGEST}

`hailong server` (`server.workers = {result.workers}`) in a subprocess on a throwaway
PostgreSQL cluster (`fsync=off`, `synchronous_commit=off`: it is thrown away after the run),
{result.clients} enrolled kiosks uploading at once, each over its own kept-alive
connection, ready-made gzip'd batches of {BATCH_ITEMS:,} ratings (the server's
limit); the clock runs from the first request (`POST /api/v1/ratings/batches`) to the last
answer, and every item
must come back "accepted". Beside it, the ceiling: the same rows copied out of the
table, the table emptied, and the rows put back with one `COPY … FROM STDIN`
(binary) in one transaction, indexes and constraints in place. Client, server and
database share the machine's cores. {len(result.rounds)} rounds, each into a new
database; the verdict is on the median round.

- Command: `{command}`
- Date: {result.date}
- Machine: {machine_line(result.machine)}

| round | ratings | over HTTP | ratings/s | per batch (median) | raw `COPY` | ratings/s |
|---:|---:|---:|---:|---:|---:|---:|
{rows}
| **median** | | | **{result.http_per_s:,.0f}** | | | **{result.copy_per_s:,.0f}** |

`COPY` ÷ HTTP (medians): {result.ratio:.1f}×.

Goal of issue #5, ≥ {GOAL_INGEST_PER_S:,.0f} ratings/s on 2 cores: **{verdict}**.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--ratings", type=int, default=100_000,
        help=_("ratings in the backlog and in the ingest run (default: 100000)"),
    )
    p.add_argument(
        "--sample", type=int, default=2000,
        help=_("ratings timed one POST at a time, then extrapolated (default: 2000)"),
    )
    p.add_argument(
        "--only", choices=("drain", "ingest", "reconnect"),
        help=_("run only this benchmark (default: every one)"),
    )
    p.add_argument(
        "--kiosks", type=int, default=1000,
        help=_("kiosks reconnecting at once in the reconnect benchmark (default: 1000)"),
    )
    p.add_argument(
        "--ratings-each", type=int, default=20,
        help=_("backlog of each reconnecting kiosk (default: 20)"),
    )
    p.add_argument(
        "--rounds", type=int, default=5,
        help=_("rounds of the ingest benchmark, each into a new database; the median "
               "counts (default: 5)"),
    )
    p.add_argument(
        "--workers", type=int, default=2,
        help=_(
            "worker processes of the server in the ingest and reconnect benchmarks "
            "(default: 2; the drain, one upload at a time, runs against one)"
        ),
    )
    p.add_argument(
        "--database-url", metavar=_("URL"),
        help=_("drain into this server database instead of a fresh SQLite file"),
    )
    p.add_argument(
        "--dir", metavar=_("PATH"),
        help=_("make the temporary folder for the databases inside PATH (default: /tmp)"),
    )
    p.add_argument(
        "--update", metavar=_("MARKDOWN"),
        help=_("also write the results into this file's sections for these benchmarks"),
    )


def run(args: argparse.Namespace, command: str) -> int:
    sizes = (args.ratings, args.sample, args.workers, args.kiosks, args.ratings_each, args.rounds)
    if min(sizes) < 1:
        print(
            _("--ratings, --sample, --workers, --kiosks, --ratings-each and --rounds must be at "
              "least 1."),
            file=sys.stderr,
        )
        return 2
    sections: list[str] = []
    with tempfile.TemporaryDirectory(prefix="hailong-sync-bench-", dir=args.dir) as folder:
        if args.only in (None, "drain"):
            # One upload at a time: a second worker would only idle (and with more
            # than one, every request currently takes some 45 ms longer).
            drain = run_drain(args.ratings, args.sample, Path(folder), args.database_url, 1)
            sections.append(drain_markdown(drain, command))
            print(sections[-1], flush=True)
        if args.only in (None, "ingest"):
            ingest = run_ingest(args.ratings, Path(folder), args.workers, rounds=args.rounds)
            sections.append(ingest_markdown(ingest, command))
            print(sections[-1], flush=True)
        if args.only in (None, "reconnect"):
            sections.append(reconnect_section(args, Path(folder), command))
            print(sections[-1], flush=True)
    if args.update:
        for section in sections:
            update_section(Path(args.update), section)
    return 0


def reconnect_section(args: argparse.Namespace, folder: Path, command: str) -> str:
    """The reconnect benchmark on SQLite and on a throwaway PostgreSQL cluster."""
    from hailong.sync.bench_reconnect import reconnect_markdown, run_reconnect
    from hailong.sync.server.pg_cluster import start_cluster

    date, host = utc_stamp(), machine(folder)
    sqlite_url = f"sqlite:///{folder / 'reconnect-sqlite' / 'server.db'}"
    results = [
        run_reconnect(
            folder / "reconnect-sqlite", sqlite_url, args.kiosks, args.ratings_each, args.workers
        )
    ]
    cluster = start_cluster()
    try:
        url = cluster.create_database("reconnect")
        results.append(
            run_reconnect(
                folder / "reconnect-pg", url, args.kiosks, args.ratings_each, args.workers
            )
        )
    finally:
        cluster.stop()
    return reconnect_markdown(results, command, date, machine_line(host))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hailong.sync.bench",
        description=_(
            "Measure a kiosk's backlog drained to the server and the server's ingest "
            "into PostgreSQL, each beside its ceiling."
        ),
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    shown = " ".join(["python -m hailong.sync.bench", *(argv or sys.argv[1:])])
    return run(args, shown)


if __name__ == "__main__":
    raise SystemExit(main())
