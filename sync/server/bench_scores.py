"""The officer scoreboard of one unit over a year, read from a `ratings` table of
millions of rows in PostgreSQL, beside its ceiling measured in the same run.

A throwaway PostgreSQL cluster (`pg_cluster`), migrated to the newest schema, holds a
province (one parent unit) of 20 units, each with 5 counters, one kiosk per
counter and 4 officers per counter. N ratings over one year are loaded with `COPY`
in chunks, day after day in time order as kiosks would send them: working days
only, in office hours (Vietnam time), each officer with their own mix of SIPAS
levels, ~3 % flagged, a reason on most low ratings. Then `VACUUM ANALYZE`.

Timed, warm (one untimed run first): what the server does for a supervisor of one
unit, with a new SQLAlchemy session each time as a request gets —
`visible_subjects`, `tallies` and `scoreboard` for the officers (the
`GET /api/v1/scores` board) and the same plus the units' board (the officers page
at `/`). The ceiling: the bare aggregate over the same officers and year with
psycopg, no ORM.

Ratings' ids are random in their low half but increase with time (as UUIDv7 does),
so the load is not slowed down by the primary key's random inserts; the query
timed never looks at the id.

Run with `python -m hailong.sync.server.bench_scores`; `--update
docs/benchmarks.md` rewrites its section there.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from hailong.benchmarking import (
    Machine,
    machine,
    machine_line,
    percentile,
    update_section,
    utc_stamp,
)
from hailong.i18n import _

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from hailong.sync.server.scores import Level

SECTION = "## Dashboard: officer scoreboard over 10 million ratings (PostgreSQL)"
GOAL_P95_MS = 200.0  # issue #6, item 12
UNITS = 20
COUNTERS_PER_UNIT = 5
OFFICERS_PER_COUNTER = 4
YEAR = 2025
CHUNK_ROWS = 200_000
FLAGGED_SHARE = 0.03
FLAGS = ('["too_soon"]', '["no_officer"]', '["outside_hours"]')
LOW_REASONS = ("waited_too_long", "came_back_several_times", "unclear_guidance",
               "staff_attitude", "late_result", "other")
# Shares of SIPAS levels 5, 4, 3, 2, 1: officers differ, most are liked.
PROFILES = ((0.50, 0.35, 0.09, 0.04, 0.02), (0.40, 0.38, 0.12, 0.06, 0.04),
            (0.30, 0.35, 0.18, 0.10, 0.07), (0.20, 0.30, 0.22, 0.16, 0.12))
# Vietnam office hours, local minutes after midnight: 7:30-11:30 and 13:30-17:00.
OFFICE_MINUTES = (*range(7 * 60 + 30, 11 * 60 + 30), *range(13 * 60 + 30, 17 * 60))
COLUMNS = ("id", "kiosk_id", "kiosk_seq", "counter_id", "officer_id", "button", "scale_size",
           "sipas_level", "source", "flags", "flagged", "boot_id", "monotonic_ms", "wall_time",
           "clock_trusted", "server_received_at", "corrected_time", "time_verified",
           "content_hash", "reason", "phone_consent")
CEILING_SQL = (
    "SELECT officer_id, sipas_level, flagged, count(*) FROM ratings"
    " WHERE officer_id = ANY(%s) AND corrected_time >= %s AND corrected_time < %s"
    " GROUP BY officer_id, sipas_level, flagged"
)


# -- the synthetic year (pure) -------------------------------------------------------


@dataclass(frozen=True)
class Desk:
    """One counter with its kiosk and the officers who serve there."""

    counter_id: int
    kiosk_id: int
    boot_id: str
    officer_ids: tuple[int, ...]


def working_days(year: int) -> list[date]:
    """Monday to Friday of `year` (public holidays are ignored)."""
    day, days = date(year, 1, 1), []
    while day.year == year:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def per_day(total: int, days: int) -> list[int]:
    """`total` split over `days` as evenly as whole numbers allow."""
    base, extra = divmod(total, days)
    return [base + (1 if n < extra else 0) for n in range(days)]


def _uuid(high: int, low: int) -> str:
    text = f"{high:016x}{low:016x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


class RatingRows:
    """Ratings as lines of `COPY … FROM STDIN` text, in time order, from a seed:
    the same arguments give the same rows."""

    def __init__(self, desks: Sequence[Desk], total: int, year: int, seed: int = 12):
        self.desks, self.total, self.year = list(desks), total, year
        self.rng = random.Random(seed)
        officers = [o for desk in self.desks for o in desk.officer_ids]
        self.profile = {o: PROFILES[self.rng.randrange(len(PROFILES))] for o in officers}
        self.seq = {desk.kiosk_id: 0 for desk in self.desks}
        self.made = 0

    def lines(self) -> Iterator[str]:
        days = working_days(self.year)
        for day, count in zip(days, per_day(self.total, len(days)), strict=True):
            yield from self._day(day, count)

    def _day(self, day: date, count: int) -> Iterator[str]:
        rng = self.rng
        seconds = sorted(rng.choice(OFFICE_MINUTES) * 60 + rng.randrange(60)
                         for _ in range(count))
        stamp = day.isoformat()
        for second in seconds:
            desk = self.desks[rng.randrange(len(self.desks))]
            officer = desk.officer_ids[rng.randrange(len(desk.officer_ids))]
            level = 5 - _pick(rng.random(), self.profile[officer])
            flagged = rng.random() < FLAGGED_SHARE
            self.seq[desk.kiosk_id] += 1
            self.made += 1
            at = f"{stamp} {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}+07"
            reason = rng.choice(LOW_REASONS) if level <= 2 and rng.random() < 0.7 else "\\N"
            yield (
                f"{_uuid(self.made, rng.getrandbits(64))}\t{desk.kiosk_id}\t"
                f"{self.seq[desk.kiosk_id]}\t{desk.counter_id}\t{officer}\t{level}\t5\t{level}\t"
                f"touch\t{FLAGS[self.made % 3] if flagged else '[]'}\t{'t' if flagged else 'f'}\t"
                f"{desk.boot_id}\t{self.made * 1000}\t{at}\tt\t{at}\t{at}\tt\t"
                f"{rng.getrandbits(256):064x}\t{reason}\tf\n"
            )


def _pick(draw: float, shares: Sequence[float]) -> int:
    """The index of the share `draw` (in [0, 1)) falls in."""
    for index, share in enumerate(shares):
        draw -= share
        if draw < 0:
            return index
    return len(shares) - 1


def summary(values_s: Sequence[float]) -> dict[str, float]:
    """Median, p95 and max of timings in seconds, as milliseconds."""
    return {
        "p50": statistics.median(values_s) * 1000,
        "p95": percentile(values_s, 95) * 1000,
        "max": max(values_s) * 1000,
    }


# -- the database --------------------------------------------------------------------


@dataclass(frozen=True)
class Province:
    desks: list[Desk]
    unit_id: int  # the unit whose supervisor is timed
    officer_ids: list[int]  # that unit's officers
    supervisor_id: int


def make_province(session_factory: sessionmaker[Session]) -> Province:
    """The units, counters, kiosks, officers and one supervisor, through `org`."""
    import uuid

    from hailong.sync.server import org
    from hailong.sync.server.models import Kiosk

    with session_factory() as session:
        province = org.add_unit(session, "Tỉnh Hài Lòng")
        desks, first_unit = [], None
        for u in range(1, UNITS + 1):
            unit = org.add_unit(session, f"Bộ phận một cửa số {u}", province.id)
            first_unit = first_unit or unit
            for c in range(1, COUNTERS_PER_UNIT + 1):
                counter = org.add_counter(session, unit.id, f"Quầy {c}")
                kiosk = Kiosk(counter_id=counter.id, token_hash=uuid.uuid4().hex * 2,
                              enrolled_at=datetime(YEAR - 1, 12, 1, tzinfo=UTC))
                session.add(kiosk)
                officers = [
                    org.add_officer(session, unit.id, f"Cán bộ {u}-{c}-{o}", "Chuyên viên")
                    for o in range(1, OFFICERS_PER_COUNTER + 1)
                ]
                desks.append(Desk(counter.id, kiosk.id, str(uuid.uuid4()),
                                  tuple(o.id for o in officers)))
        assert first_unit is not None
        supervisor = org.add_user(session, "giam-sat-1", "mat-khau-dai-du", "supervisor",
                                  first_unit.id)
        officers_of_unit = [o for d in desks[:COUNTERS_PER_UNIT] for o in d.officer_ids]
        return Province(desks, first_unit.id, officers_of_unit, supervisor.id)


def plain_dsn(database_url: str) -> str:
    """A libpq connection string from the server's SQLAlchemy URL."""
    from sqlalchemy import make_url

    url = make_url(database_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True)
class Load:
    ratings: int
    seconds: float
    vacuum_s: float
    table_bytes: int
    total_bytes: int  # with its indexes and TOAST


def load_ratings(dsn: str, rows: RatingRows, progress: Callable[[str], None]) -> Load:
    """The rows in through `COPY`, one transaction per chunk; then VACUUM ANALYZE."""
    import psycopg

    copy_sql = f"COPY ratings ({', '.join(COLUMNS)}) FROM STDIN"
    started = time.perf_counter()
    with psycopg.connect(dsn, connect_timeout=10) as connection:
        lines = rows.lines()
        done = False
        while not done:
            with connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
                buffer: list[str] = []
                for n, line in enumerate(lines, 1):
                    buffer.append(line)
                    if len(buffer) == 10_000:
                        copy.write("".join(buffer))
                        buffer.clear()
                    if n == CHUNK_ROWS:
                        break
                else:
                    done = True
                copy.write("".join(buffer))
            connection.commit()
            elapsed = time.perf_counter() - started
            progress(_("loaded {n:,} of {total:,} ratings ({rate:,.0f}/s)").format(
                n=rows.made, total=rows.total, rate=rows.made / elapsed))
    seconds = time.perf_counter() - started
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as connection:
        vacuum_started = time.perf_counter()
        connection.execute("VACUUM ANALYZE ratings")
        vacuum_s = time.perf_counter() - vacuum_started
        sizes = connection.execute(
            "SELECT pg_relation_size('ratings'), pg_total_relation_size('ratings')"
        ).fetchone()
    assert sizes is not None
    return Load(rows.made, seconds, vacuum_s, int(sizes[0]), int(sizes[1]))


# -- the measurements ----------------------------------------------------------------


def year_period(year: int) -> tuple[datetime, datetime]:
    from hailong.sync.server.scores import LOCAL_TZ

    return (datetime(year, 1, 1, tzinfo=LOCAL_TZ).astimezone(UTC),
            datetime(year + 1, 1, 1, tzinfo=LOCAL_TZ).astimezone(UTC))


def timed(action: Callable[[], object], runs: int) -> list[float]:
    """`runs` timings of `action` in seconds, after one untimed run."""
    action()
    times = []
    for _run in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return times


def board_action(session_factory: sessionmaker[Session], supervisor_id: int,
                 levels: Sequence[Level], year: int) -> Callable[[], object]:
    """What a request does for the supervisor: its own session, the user, then the
    board of each level as `api_scores`/`web` compute it."""
    from hailong.sync.server.models import User
    from hailong.sync.server.scores import (
        Period,
        Targets,
        scoreboard,
        tallies,
        visible_subjects,
    )

    start, end = year_period(year)
    # The settings' defaults: the target and minimum the server starts with.
    period, goals = Period(start, end), Targets()

    def action() -> object:
        with session_factory() as session:
            user = session.get(User, supervisor_id)
            assert user is not None
            boards = []
            for level in levels:
                subjects = visible_subjects(session, user, level)
                counts = tallies(session, level, [s.id for s in subjects], period)
                boards.append(scoreboard(subjects, counts, goals.min_valid, goals.target))
            return boards

    return action


def ceiling_action(dsn: str, officer_ids: Sequence[int], year: int
                   ) -> tuple[Callable[[], object], Callable[[], None]]:
    """The bare aggregate on one kept-open psycopg connection; and its closer."""
    import psycopg

    start, end = year_period(year)
    connection = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    ids = list(officer_ids)

    def action() -> object:
        return connection.execute(CEILING_SQL, (ids, start, end)).fetchall()

    return action, connection.close


def ceiling_rows(action: Callable[[], object]) -> list[tuple[int, int, bool, int]]:
    rows = action()
    assert isinstance(rows, list)
    return rows


def explain(dsn: str, officer_ids: Sequence[int], year: int) -> str:
    import psycopg

    start, end = year_period(year)
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as connection:
        plan = connection.execute("EXPLAIN (ANALYZE, BUFFERS) " + CEILING_SQL,
                                  (list(officer_ids), start, end)).fetchall()
    return "\n".join(str(line[0]) for line in plan)


@dataclass(frozen=True)
class Result:
    date: str
    machine: Machine
    command: str
    load: Load
    unit_ratings: int
    runs: int
    officer_board: dict[str, float]
    page_boards: dict[str, float]
    ceiling: dict[str, float]
    plan: str

    @property
    def goal_met(self) -> bool:
        return self.officer_board["p95"] <= GOAL_P95_MS and self.page_boards["p95"] <= GOAL_P95_MS


def run(database_url: str, ratings: int, runs: int, folder: Path, command: str,
        progress: Callable[[str], None]) -> Result:
    from hailong.sync.server.db import make_engine, make_session_factory, migrate

    date_, host = utc_stamp(), machine(folder)
    migrate(database_url)
    engine = make_engine(database_url)
    try:
        factory = make_session_factory(engine)
        province = make_province(factory)
        dsn = plain_dsn(database_url)
        load = load_ratings(dsn, RatingRows(province.desks, ratings, YEAR), progress)
        progress(_("measuring ({runs} runs each)").format(runs=runs))
        officers = timed(board_action(factory, province.supervisor_id, ["officer"], YEAR), runs)
        page = timed(board_action(factory, province.supervisor_id, ["officer", "unit"], YEAR),
                     runs)
        bare, close = ceiling_action(dsn, province.officer_ids, YEAR)
        try:
            ceiling = timed(bare, runs)
            unit_ratings = sum(int(row[3]) for row in ceiling_rows(bare))
        finally:
            close()
        plan = explain(dsn, province.officer_ids, YEAR)
    finally:
        engine.dispose()
    return Result(date_, host, command, load, unit_ratings, runs, summary(officers),
                  summary(page), summary(ceiling), plan)


# -- the report ----------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:.1f} ms"


def _plan_summary(plan: str) -> str:
    """The plan's top node and its scan, for the reader of the section."""
    nodes = [line.strip().lstrip("-> ").split("  (")[0]
             for line in plan.splitlines() if "(cost=" in line]
    return " → ".join(nodes[:4])


def section(result: Result) -> str:
    load, verdict = result.load, "met" if result.goal_met else "NOT met"
    rows = [
        ("officers' board, as `GET /api/v1/scores` (ORM)", result.officer_board),
        ("officers' and units' boards, as the page `/` (ORM)", result.page_boards),
        ("ceiling: the bare aggregate (psycopg)", result.ceiling),
    ]
    table = "\n".join(
        f"| {name} | {result.runs} | {_ms(s['p50'])} | {_ms(s['p95'])} | {_ms(s['max'])} |"
        for name, s in rows
    )
    return (
        f"{SECTION}\n\n"
        "A throwaway PostgreSQL cluster (`fsync=off`; default memory settings), migrated\n"
        f"to the newest schema: one province of {UNITS} units, {COUNTERS_PER_UNIT} counters "
        f"(one kiosk each) per unit,\n{OFFICERS_PER_COUNTER} officers per counter; "
        f"{load.ratings:,} ratings over the working days of {YEAR} in office\n"
        "hours, each officer with their own mix of levels, ~3 % flagged, loaded with\n"
        "`COPY` in time order, then `VACUUM ANALYZE`. Timed, warm (one untimed run\n"
        "first), with a new SQLAlchemy session per run as a request gets: a supervisor of\n"
        f"one unit ({load.ratings // UNITS:,}-odd ratings; {result.unit_ratings:,} counted) "
        "asks for the whole year —\n`visible_subjects`, `tallies` and `scoreboard` of "
        "`scores.py`, as the API and the page\ncall them. The ceiling, in the same run: "
        "the bare `GROUP BY officer_id, sipas_level,\nflagged` over the same officers and "
        "year with psycopg. The officer and counter indexes\ncover that `GROUP BY` "
        "(migration 0006): the year is read from the index alone;\nwithout them "
        "PostgreSQL reads the whole table (the migration has the figures).\nThe units' "
        "board is counted per counter and added up: joined to the counters,\nthe same "
        "index was walked one counter after another, without parallel workers.\n\n"
        f"- Command: `{result.command}`\n"
        f"- Date: {result.date}\n"
        f"- Machine: {machine_line(result.machine)}\n"
        f"- Load: {load.ratings:,} ratings in {load.seconds:.0f} s "
        f"({load.ratings / load.seconds:,.0f}/s), `VACUUM ANALYZE` {load.vacuum_s:.0f} s;\n"
        f"  table {load.table_bytes / 2**30:.2f} GiB, with its indexes "
        f"{load.total_bytes / 2**30:.2f} GiB\n"
        f"- Plan of the aggregate: {_plan_summary(result.plan)}\n\n"
        "| one unit, one year | runs | median | p95 | max |\n"
        "|---|---:|---:|---:|---:|\n"
        f"{table}\n\n"
        f"Goal of issue #6, p95 ≤ {GOAL_P95_MS:.0f} ms: **{verdict}**.\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hailong.sync.server.bench_scores",
        description=_("Time the officer scoreboard of one unit over a year of ratings in "
                      "a throwaway PostgreSQL cluster, beside the bare SQL aggregate."),
    )
    parser.add_argument("--ratings", type=int, default=10_000_000,
                        help=_("ratings to load (default: %(default)s)"))
    parser.add_argument("--runs", type=int, default=60,
                        help=_("timed runs of each measurement (default: %(default)s)"))
    parser.add_argument("--database-url",
                        help=_("an empty PostgreSQL database to use instead of a new cluster"))
    parser.add_argument("--update", type=Path, metavar="FILE",
                        help=_("rewrite this benchmark's section of FILE (docs/benchmarks.md)"))
    parser.add_argument("--explain", action="store_true",
                        help=_("also print the aggregate's EXPLAIN (ANALYZE, BUFFERS)"))
    args = parser.parse_args(argv)
    if args.ratings < 1 or args.runs < 1:
        parser.error(_("--ratings and --runs must be at least 1"))
    command = "python -m hailong.sync.server.bench_scores " + " ".join(
        a for a in (argv if argv is not None else sys.argv[1:]) if a != "--explain")

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    if args.database_url:
        result = run(args.database_url, args.ratings, args.runs, Path("/tmp"), command.strip(),
                     progress)
    else:
        from hailong.sync.server.pg_cluster import start_cluster

        cluster = start_cluster()
        try:
            url = cluster.create_database("bench_scores")
            result = run(url, args.ratings, args.runs, cluster.root, command.strip(), progress)
        finally:
            cluster.stop()
    text = section(result)
    print(text)
    if args.explain:
        print(result.plan)
    if args.update:
        update_section(args.update, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
