"""Press-to-commit latency: from the last byte of a press frame on the line to the
rating committed in the kiosk's database, beside a plain SQLite commit.

What runs is the kiosk's own path: `KioskController` with its `BoxDriver` on a real
pseudo-terminal, its `RatingSession` and its `KioskStore` (SQLite, WAL,
synchronous=FULL) in a fresh folder. The box side of the terminal is played here, by
`BoxModel` (the behaviour the simulator and the firmware follow) in this thread, so
the clock can be read right where each press frame is written: the start is taken
when the write of the frame's last byte to the terminal has returned, the end when
the controller announces the rating (it does so right after `KioskStore.record`
returns, before the box is acknowledged). Both are `time.perf_counter_ns()`, one
clock for both threads. The next press waits for the acknowledgement, as a citizen
waits for the light.

The raw commit is one row per transaction (`BEGIN IMMEDIATE`, `INSERT`, `COMMIT`) with
Python's sqlite3 under the same settings, in the same folder, one after each press, so
both see the same disk at the same time.

Run with `make bench`, `hailong device bench` or `python -m hailong.device.bench`;
`--update docs/benchmarks.md` rewrites this benchmark's section there.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import queue
import select
import sys
import tempfile
import time
import tty
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
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
    from hailong.kiosk.controller import KioskController

SECTION = "## Rating box: press to commit"
WARMUP = 20  # presses and commits run before measuring, not counted
GOAL_P99_MS = 3.0  # issue #3, on a development machine
_STEP_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Stats:
    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float


@dataclass(frozen=True)
class BenchResult:
    date: str
    machine: Machine
    press_to_commit: Stats
    raw_commit: Stats

    @property
    def ratio_p50(self) -> float:
        return self.press_to_commit.p50_ms / self.raw_commit.p50_ms

    @property
    def ratio_p99(self) -> float:
        return self.press_to_commit.p99_ms / self.raw_commit.p99_ms


def stats(durations_ns: Sequence[int]) -> Stats:
    ms = [d / 1e6 for d in durations_ns]
    return Stats(len(ms), percentile(ms, 50), percentile(ms, 99), max(ms))


class LineBox:
    """The box's end of a real pseudo-terminal, served from the calling thread."""

    def __init__(self, *, buttons: int = 4, serial: str = "HLBENCH01") -> None:
        from hailong.device.box_model import BoxModel
        from hailong.device.protocol import FrameDecoder

        self.box = BoxModel(serial=serial, buttons=buttons)
        self._decoder = FrameDecoder()
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self._send(self.box.boot(int.from_bytes(os.urandom(4), "little"), _now_ms()).send)

    def press(self, button: int) -> int:
        """Press `button`; the clock (ns) once its frame's last byte is on the line."""
        from hailong.device.protocol import encode_frame

        (event,) = self.box.press(button, _now_ms()).send
        os.write(self._master, encode_frame(event))
        return time.perf_counter_ns()

    def serve_until(self, condition: Callable[[], bool], timeout_s: float) -> None:
        """Answer the host (HELLO, PONG, SETTINGS; take ACKs) until `condition()`."""
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() >= deadline:
                raise TimeoutError(_("the kiosk did not answer within {s} s").format(s=timeout_s))
            ready, _w, _x = select.select([self._master], [], [], 0.005)
            if ready:
                for item in self._decoder.feed(os.read(self._master, 4096)):
                    self._send(self.box.receive(item, _now_ms()).send)
            self._send(self.box.tick(_now_ms()).send)

    def close(self) -> None:
        for fd in (self._master, self._slave):
            os.close(fd)

    def _send(self, msgs: list) -> None:
        from hailong.device.protocol import encode_frame

        for msg in msgs:
            os.write(self._master, encode_frame(msg))


def _now_ms() -> int:
    return int(time.monotonic() * 1000)


class RawCommits:
    """A plain SQLite table under the kiosk store's settings, one row per commit."""

    def __init__(self, path: Path) -> None:
        import sqlite3

        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")
        self._db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, button INTEGER)")

    def commit_one(self, button: int) -> int:
        """ns from BEGIN to the end of COMMIT."""
        start = time.perf_counter_ns()
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute("INSERT INTO t (button) VALUES (?)", (button,))
        self._db.execute("COMMIT")
        return time.perf_counter_ns() - start

    def close(self) -> None:
        self._db.close()


def offline_kiosk(folder: Path, port: str) -> KioskController:
    """A kiosk as it runs at a counter with its box on `port` and no server reachable:
    enrolled with a one-officer roster (officer 1 signed in), its database in
    `folder`. Call `start()` to start its driver."""
    from hailong.config.settings import DeviceSettings, KioskFile, KioskSettings, SyncSettings
    from hailong.kiosk.controller import KioskController
    from hailong.kiosk.enrollment import save_config
    from hailong.sync.store import KioskStore
    from hailong.sync.wire import Counter, KioskConfig, Officer

    # Nothing listens there; the kiosk has no server credential, so it never uploads.
    server = "http://127.0.0.1:9"
    store = KioskStore(folder / "kiosk.db")
    roster = KioskConfig(
        kiosk_id=1,
        counter=Counter(id=1, name="Quầy 1", unit_name="Bộ phận một cửa"),
        officers=[Officer(id=1, name="Nguyễn Văn A", title="Chuyên viên")],
    )
    save_config(store, server, roster, folder / "photos", timeout=1.0)
    settings = KioskFile(
        kiosk=KioskSettings(data_dir=folder),
        device=DeviceSettings(port=port),
        sync=SyncSettings(server_url=server, interval_s=3600),
    )
    controller = KioskController(settings, store)
    controller.sign_in(1)
    return controller


def measure(presses: int, folder: Path) -> tuple[list[int], list[int]]:
    """(press-to-commit ns, raw commit ns) for `presses` presses after the warm-up."""
    from hailong.kiosk.controller import Event

    box = LineBox()
    raw = RawCommits(folder / "raw.db")
    controller = offline_kiosk(folder, box.path)
    store = controller.store
    committed: queue.SimpleQueue[int] = queue.SimpleQueue()

    def on_event(event: Event) -> None:
        if event is Event.RATED:
            committed.put(time.perf_counter_ns())

    controller.add_listener(on_event)
    controller.start()
    to_commit: list[int] = []
    raw_ns: list[int] = []
    try:
        box.serve_until(lambda: controller.box_status == "connected", _STEP_TIMEOUT_S)
        for n in range(WARMUP + presses):
            button = 1 + n % box.box.buttons
            written = box.press(button)
            box.serve_until(lambda: not committed.empty() and not box.box.pending, _STEP_TIMEOUT_S)
            latency = committed.get() - written
            raw_commit = raw.commit_one(button)
            if n >= WARMUP:
                to_commit.append(latency)
                raw_ns.append(raw_commit)
    finally:
        controller.stop()
        store.close()
        raw.close()
        box.close()
    return to_commit, raw_ns


def run_bench(presses: int, folder: Path) -> BenchResult:
    date = utc_stamp()
    host = machine(folder)
    to_commit, raw_ns = measure(presses, folder)
    return BenchResult(
        date=date,
        machine=host,
        press_to_commit=stats(to_commit),
        raw_commit=stats(raw_ns),
    )


def markdown(result: BenchResult, command: str) -> str:
    p, r = result.press_to_commit, result.raw_commit
    verdict = "met" if p.p99_ms <= GOAL_P99_MS else "NOT met"
    return f"""{SECTION}

From the last byte of a press frame on the line to the rating committed in the kiosk
database: the kiosk's real `KioskController` (driver, rating session, `KioskStore`)
on a real pseudo-terminal; the box's side is `BoxModel`, played by the benchmark so it
can read the clock right after writing each frame. Beside it, a raw SQLite commit (WAL,
`synchronous=FULL`, one row per transaction) measured in the same run, one after each
press, in the same folder. {WARMUP} warm-up presses are not counted.

- Command: `{command}`
- Date: {result.date}
- Machine: {machine_line(result.machine)}

| measurement | count | median | p99 | max |
|---|---:|---:|---:|---:|
{_row("press on the line → rating committed", p)}
{_row("raw SQLite commit", r)}
| ratio | | {result.ratio_p50:.1f}× | {result.ratio_p99:.1f}× | |

Goal of issue #3, p99 ≤ {GOAL_P99_MS:g} ms on a development machine: **{verdict}**.
"""


def _row(name: str, s: Stats) -> str:
    return f"| {name} | {s.count} | {s.p50_ms:.2f} ms | {s.p99_ms:.2f} ms | {s.max_ms:.2f} ms |"


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """The kiosk logs that it has no server and that the box went away at the end:
    true, and not what a benchmark run is about."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--presses", type=int, default=1000, help=_("number of presses (default: 1000)"))
    p.add_argument(
        "--dir",
        metavar=_("PATH"),
        help=_("make the temporary folder for the databases inside PATH (default: /tmp)"),
    )
    p.add_argument(
        "--update",
        metavar=_("MARKDOWN"),
        help=_("also write the results into this file's section for this benchmark"),
    )
    p.add_argument("--json", action="store_true", help=_("print the results as one JSON object"))


def run(args: argparse.Namespace, command: str) -> int:
    if args.presses < 1:
        print(_("--presses must be at least 1."), file=sys.stderr)
        return 2
    with (
        tempfile.TemporaryDirectory(prefix="hailong-bench-", dir=args.dir) as folder,
        _quiet("hailong"),
    ):
        result = run_bench(args.presses, Path(folder))
    if args.json:
        data = asdict(result) | {"ratio_p50": result.ratio_p50, "ratio_p99": result.ratio_p99}
        print(json.dumps(data, ensure_ascii=False))
    else:
        print(markdown(result, command), end="")
    if args.update:
        update_section(Path(args.update), markdown(result, command))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hailong.device.bench",
        description=_("Measure the time from a press on the line to the rating committed."),
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    shown = " ".join(["python -m hailong.device.bench", *(argv or sys.argv[1:])])
    return run(args, shown)


if __name__ == "__main__":
    raise SystemExit(main())
