"""Kiosk app benchmarks (issue #4): cold start to ready for a rating, press to
thank-you drawn, resident memory over 10,000 ratings and after a technician's visits.

Everything runs for real: `hailong kiosk run` as a child process with a window on a
private Xvfb, a simulated rating box on a real pseudo-terminal, the kiosk's SQLite
store in a fresh folder. Times come from the app's frame trace (`kiosk/trace.py`):
the app notes CLOCK_MONOTONIC when a frame showing a new screen has been flipped,
and this process notes the same clock when it starts the app or presses a button.

Ceilings, measured in the same run on the same display: for the start, a bare Kivy
app that shows one label (what Python, Kivy and SDL cost before any of ours); for a
press, the kiosk's own press-to-commit time (the durable write every rating waits for).
Each timed press is also split into the stages the trace notes on its way, from the
box's bytes to the swap that puts the thank-you on the display.

Run with `python -m hailong.kiosk.bench` (`--update docs/benchmarks.md` rewrites this
benchmark's section there).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hailong.benchmarking import machine, machine_line, percentile, update_section, utc_stamp
from hailong.kiosk.trace import ENVIRONMENT as TRACE_ENVIRONMENT

SECTION = "## Kiosk app: start, press to thank-you, memory"
GOAL_START_S = 3.0
GOAL_P99_MS = 50.0
GOAL_RSS_MB = 150.0
GOAL_GROWTH_MB = 5.0
STEP_TIMEOUT_S = 30.0
# A press's way to the screen, as the app's trace notes it (`kiosk/trace.py`).
STAGES = (
    ("press", "box press", "the box's bytes read and parsed"),
    ("box press", "rated", "the rating committed (durable)"),
    ("rated", "ui woke", "Kivy's thread takes it"),
    ("ui woke", "switched thanks", "the screen switched"),
    ("switched thanks", "draw thanks", "laid out, the frame begins"),
    ("draw thanks", "flip thanks", "the frame's canvas issued"),
    ("flip thanks", "drawn thanks", "rasterised and swapped to the display"),
)
NOTE = """
The window is drawn by Mesa's software renderer (llvmpipe) here: every frame of the
1280×800 screen is rasterised on the CPU, and the renderer's libraries (LLVM above
all) are the largest part of the resident memory; the bare Kivy app pays them too (it
has the kiosk's window: the whole screen, without multisampling). The kiosk checks
its settings and the server's answers with pydantic, whose import and the machinery
its first model builds are measured above: the bare app plus that is as low as such a
kiosk can go on this renderer, before any module, screen or data of its own. On a
kiosk with a GPU driver (a Raspberry Pi's V3D) the figures should differ; that has not
been measured.
A technician's visit loads the staff screens' code and rules, and the renderer
compiles what their drawing needs; the screens themselves are dropped when the menu
closes, the rest stays for the kiosk's run and levels off after a few visits.
"Drawn" is when the buffer swap that shows the frame has returned. Of the
press-to-thank-you time, the durable commit is the part the citizen's rating needs;
the rest is the Kivy frame that shows it.
"""

_BARE_APP = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from hailong.kiosk.kivy_env import prepare_kivy_environment
    from hailong.kiosk.trace import FrameTrace
    from hailong.kiosk.xdisplay import screen_size
    prepare_kivy_environment(Path(sys.argv[1]))
    from kivy.config import Config
    # The kiosk's window (hailong.kiosk.app.configure_kivy): the whole screen, at its
    # top-left corner, without multisampling.
    width, height = screen_size()
    for option, value in (("multisamples", 0), ("fullscreen", "auto"), ("width", width),
                          ("height", height), ("position", "custom"), ("left", 0), ("top", 0)):
        Config.set("graphics", option, str(value))
    from kivy.app import App
    from kivy.uix.label import Label

    class Bare(App):
        def build(self):
            return Label(text="Hài Lòng", font_size="40sp")

        def on_start(self):
            FrameTrace(Path(sys.argv[2])).after_next_frame("idle")

    Bare().run()
    """
)


# What the kiosk loads whatever its validation: Kivy's app and widgets, TLS and HTTP
# for the uploader, SQLite for the store. Pydantic is measured on top of them, so that
# libraries both use (OpenSSL's libcrypto, for one) are not counted against it.
_PYDANTIC_COST = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from hailong.kiosk.kivy_env import prepare_kivy_environment
    prepare_kivy_environment(Path(sys.argv[1]))
    import http.client, sqlite3, ssl
    import kivy.app, kivy.uix.label, kivy.uix.screenmanager

    def rss_mb():
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) / 1024 for line in status
                        if line.startswith("VmRSS:"))
    before = rss_mb()
    import pydantic
    class Probe(pydantic.BaseModel):
        value: int
    Probe(value=1)
    print(rss_mb() - before)
    """
)


def pydantic_cost_mb(folder: Path, runs: int = 3) -> float:
    """MB that importing pydantic and building one model add to an interpreter that
    has what the kiosk loads anyway (median of `runs`): a fixed cost of the kiosk."""
    costs = [
        float(subprocess.run([sys.executable, "-c", _PYDANTIC_COST, str(folder / "kivy")],
                             check=True, capture_output=True, text=True).stdout)
        for _run in range(runs)
    ]
    return statistics.median(costs)


class Trace:
    """Follows the app's trace file: `wait(event, after_ns)` is the time of the first
    `event` noted after `after_ns`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.touch()
        self._seen: list[tuple[int, str]] = []
        self._offset = 0

    def _read(self) -> None:
        with self.path.open("rb") as file:
            file.seek(self._offset)
            data = file.read()
        end = data.rfind(b"\n") + 1
        self._offset += end
        for line in data[:end].decode().splitlines():
            stamp, _, event = line.partition(" ")
            self._seen.append((int(stamp), event))

    def wait(self, event: str, after_ns: int, process: subprocess.Popen[bytes]) -> int:
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while True:
            self._read()
            for stamp, seen in self._seen:
                if seen == event and stamp >= after_ns:
                    return stamp
            if process.poll() is not None:
                raise RuntimeError(f"the app exited ({process.returncode}) before {event!r}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no {event!r} within {STEP_TIMEOUT_S} s")
            time.sleep(0.002)


def _write_settings(path: Path, data_dir: Path, box: Path | None) -> Path:
    device = (
        f"[device]\nport = {json.dumps(str(box))}\n" if box else "[device]\nenabled = false\n"
    )
    path.write_text(
        "[kiosk]\n"
        f"data_dir = {json.dumps(str(data_dir))}\n"
        "fullscreen = true\n"
        # Short thank-you so presses can follow each other; no follow-up questions,
        # so every press ends on the thank-you.
        "thanks_s = 0.1\n"
        "response_interval_s = 0.0\n"
        "low_rating_max_sipas = 0\n"
        + device
        + "[sync]\nserver_url = \"http://127.0.0.1:9\"\ninterval_s = 3600.0\n"
        "[kiosk.opening_hours]\nenabled = false\n",
        encoding="utf-8",
    )
    return path


@contextmanager
def _kiosk(folder: Path, display: str, box: Path | None) -> Iterator[
    tuple[subprocess.Popen[bytes], Trace, int]
]:
    """A fresh enrolled kiosk started now: the process, its trace, the start time."""
    from hailong.kiosk.harness import seed_demo_store
    from hailong.kiosk.xdisplay import display_env

    data_dir = folder / "kiosk"
    seed_demo_store(data_dir, officer_id=1)
    config = _write_settings(folder / "kiosk.toml", data_dir, box)
    trace = Trace(folder / "trace.txt")
    env = {**display_env(display), TRACE_ENVIRONMENT: str(trace.path)}
    started = time.monotonic_ns()
    process = subprocess.Popen(
        [sys.executable, "-m", "hailong", "kiosk", "--config", str(config), "run"],
        env=env, stdout=(folder / "kiosk.log").open("wb"), stderr=subprocess.STDOUT,
    )
    try:
        yield process, trace, started
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@dataclass(frozen=True)
class Starts:
    kiosk_s: list[float]
    bare_s: list[float]
    # Resident memory of the bare Kivy app once drawn: what the window alone costs.
    bare_rss_mb: float
    # Of the last bare app, by MEMORY_PARTS.
    bare_parts: dict[str, float]


def cold_starts(folder: Path, display: str, runs: int) -> Starts:
    """Seconds from spawning the process to its first frame on screen: the kiosk
    (ready for a rating: idle screen with buttons drawn), and a bare Kivy app."""
    from hailong.kiosk.xdisplay import display_env

    kiosk_s, bare_s, bare_rss = [], [], []
    bare_parts: dict[str, float] = {}
    for run in range(runs):
        run_dir = folder / f"start-{run}"
        run_dir.mkdir()
        with _kiosk(run_dir, display, None) as (process, trace, started):
            kiosk_s.append((trace.wait("drawn idle", started, process) - started) / 1e9)
        bare_trace = Trace(run_dir / "bare.txt")
        # A file, not `-c`: Kivy looks for the app's .kv file beside its source.
        script = run_dir / "bare_app.py"
        script.write_text(_BARE_APP, encoding="utf-8")
        started = time.monotonic_ns()
        bare = subprocess.Popen(
            [sys.executable, str(script), str(run_dir / "kivy"), str(bare_trace.path)],
            env=display_env(display), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            bare_s.append((bare_trace.wait("drawn idle", started, bare) - started) / 1e9)
            bare_rss.append(_rss_mb(bare.pid))
            bare_parts = memory_parts(bare.pid)
        finally:
            bare.terminate()
            bare.wait(15)
    return Starts(kiosk_s, bare_s, statistics.median(bare_rss), bare_parts)


@dataclass(frozen=True)
class PressRun:
    drawn_ms: list[float]
    commit_ms: list[float]
    # For each of STAGES, the milliseconds each timed press spent in it.
    stage_ms: list[list[float]]
    rss_start_mb: float
    rss_1k_mb: float
    rss_end_mb: float
    ratings: int
    # At the end, by MEMORY_PARTS.
    parts_end: dict[str, float]
    pss_end_mb: float


# Resident memory by where it lies, from /proc/PID/smaps: (part, how its mappings
# are recognised by their path), first match wins; anything else is "other files".
MEMORY_PARTS = (
    ("graphics libraries (Mesa, its LLVM, GL)",
     ("libLLVM", "/dri/", "libGL", "libglapi", "libgallium", "libEGL")),
    ("image shared with the X server", ("/SYSV",)),
    ("heap and anonymous (objects, textures, driver buffers)", ("[heap]", "[anon]", "[stack")),
)
OTHER_FILES = "other mapped files (Python, Kivy, SDL, extensions)"


def memory_parts(pid: int) -> dict[str, float]:
    """MB resident in each of MEMORY_PARTS and OTHER_FILES; they add up to VmRSS."""
    parts = dict.fromkeys([*(name for name, _marks in MEMORY_PARTS), OTHER_FILES], 0.0)
    part = OTHER_FILES
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if fields and "-" in fields[0] and len(fields) >= 5 and not fields[0].endswith(":"):
            path = fields[5] if len(fields) > 5 else "[anon]"
            part = next(
                (name for name, marks in MEMORY_PARTS if any(mark in path for mark in marks)),
                OTHER_FILES,
            )
        elif fields and fields[0] == "Rss:":
            parts[part] += int(fields[1]) / 1024
    return parts


def _rss_mb(pid: int) -> float:
    return _kib_field_mb(Path(f"/proc/{pid}/status"), "VmRSS:")


def _pss_mb(pid: int) -> float:
    """Proportional set size: each page shared with other processes counted by share."""
    return _kib_field_mb(Path(f"/proc/{pid}/smaps_rollup"), "Pss:")


def _kib_field_mb(path: Path, field: str) -> float:
    for line in path.read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in {path}")


def presses(folder: Path, display: str, timed: int, total: int) -> PressRun:
    """`timed` presses, each waited for until the thank-you is drawn and the idle
    screen is back; then presses up to `total` ratings at a citizen's fastest, with
    resident memory read at the start, after 1,000 ratings and at the end."""
    from hailong.device.simulator import Simulator

    simulator = Simulator(link=folder / "box", seed=1)
    simulator.start()
    try:
        with _kiosk(folder, display, folder / "box") as (process, trace, started):
            trace.wait("drawn idle", started, process)
            # The box keeps a press until it is acknowledged, so this first, untimed one
            # also waits for the kiosk to find the box.
            warm_up = time.monotonic_ns()
            simulator.press(2)
            trace.wait("drawn thanks", warm_up, process)
            trace.wait("drawn idle", warm_up, process)
            rss_start = _rss_mb(process.pid)
            drawn, commit = [], []
            stages: list[list[float]] = [[] for _stage in STAGES]
            for number in range(timed):
                pressed = time.monotonic_ns()
                simulator.press(1 + number % 3)
                shown = trace.wait("drawn thanks", pressed, process)
                trace.wait("drawn idle", shown, process)
                noted = {"press": pressed}
                for _start, end, _what in STAGES:
                    noted[end] = trace.wait(end, pressed, process)
                for spent, (start, end, _what) in zip(stages, STAGES, strict=True):
                    spent.append((noted[end] - noted[start]) / 1e6)
                drawn.append((shown - pressed) / 1e6)
                commit.append((noted["rated"] - pressed) / 1e6)
            rss_1k = rss_start
            done = timed
            while done < total:
                pressed = time.monotonic_ns()
                simulator.press(1 + done % 4)
                trace.wait("rated", pressed, process)
                done += 1
                if done == 1000:
                    rss_1k = _rss_mb(process.pid)
            return PressRun(
                drawn, commit, stages, rss_start, rss_1k, _rss_mb(process.pid), done,
                memory_parts(process.pid), _pss_mb(process.pid),
            )
    finally:
        simulator.close()


# The technician's PIN in the visits' settings file.
TECHNICIAN_PIN = "246810"
# Long enough for the kiosk's first trim after start (FIRST_TRIM_S) and for the
# release that follows the staff menu's closing.
SETTLE_S = 4.0


@dataclass(frozen=True)
class Visits:
    idle_mb: float
    # Resident memory once the staff menu is closed again, after each visit.
    after_mb: list[float]


def technician_visits(folder: Path, display: str, visits: int) -> Visits:
    """A technician's visits, tapped with real X input: the staff menu opened, the
    technician's PIN typed, the technician's screen shown, and all closed again."""
    from hailong.kiosk.harness import KioskProcess, seed_demo_store, showing, write_settings
    from hailong.kiosk.staff import views
    from hailong.kiosk.staff.drive import enter_pin, open_staff_menu
    from hailong.kiosk.staff.pins import hash_pin

    data_dir = folder / "kiosk"
    seed_demo_store(data_dir, officer_id=1)
    config = write_settings(
        folder / "kiosk.toml", data_dir, window_size=(1280, 800), fullscreen=True,
        technician_pin_hash=hash_pin(TECHNICIAN_PIN),
    )
    with KioskProcess(config, display) as kiosk:
        kiosk.wait_for(showing(views.STAFF_MARK))
        time.sleep(SETTLE_S)
        idle = _rss_mb(kiosk.pid)
        after = []
        for _visit in range(visits):
            open_staff_menu(kiosk)
            kiosk.tap_colour(views.MENU_TECHNICIAN)
            enter_pin(kiosk, TECHNICIAN_PIN)
            kiosk.wait_for(showing(views.SERVER_URL_ROW))
            kiosk.tap_colour(views.MENU_BACK)
            kiosk.wait_for(showing(views.MENU_TECHNICIAN))
            kiosk.tap_colour(views.MENU_BACK)
            kiosk.wait_for(showing(views.STAFF_MARK))
            time.sleep(SETTLE_S)
            after.append(_rss_mb(kiosk.pid))
    return Visits(idle, after)


def report(
    starts: Starts, run: PressRun, visits: Visits | None, folder: Path, pydantic_mb: float
) -> str:
    kiosk_s = starts.kiosk_s
    start = statistics.median(kiosk_s)
    bare = statistics.median(starts.bare_s)
    p50 = percentile(run.drawn_ms, 50)
    p99 = percentile(run.drawn_ms, 99)
    commit50 = percentile(run.commit_ms, 50)
    growth = run.rss_end_mb - run.rss_1k_mb

    def verdict(ok: bool) -> str:
        return "met" if ok else "**not met**"

    return "\n".join([
        SECTION,
        "",
        f"Command: `python -m hailong.kiosk.bench` — {utc_stamp()}, "
        f"{machine_line(machine(folder))}.",
        "Real `hailong kiosk run` on Xvfb (1280×800, Mesa software GL), simulated box on a pty.",
        "",
        "| What | Measured | Ceiling in the same run | Goal |",
        "|---|---|---|---|",
        f"| Cold start to idle screen drawn (median of {len(kiosk_s)}) | {start:.2f} s | "
        f"bare Kivy label app {bare:.2f} s ({start / bare:.1f}×) | ≤ {GOAL_START_S:.0f} s: "
        f"{verdict(start <= GOAL_START_S)} |",
        f"| Press to thank-you drawn ({len(run.drawn_ms)} presses) | p50 {p50:.1f} ms, "
        f"p99 {p99:.1f} ms | press to durable commit p50 {commit50:.1f} ms | p99 ≤ "
        f"{GOAL_P99_MS:.0f} ms: {verdict(p99 <= GOAL_P99_MS)} |",
        f"| Resident memory after {run.ratings:,} ratings | {run.rss_end_mb:.1f} MB "
        f"(start {run.rss_start_mb:.1f} MB, after 1,000: {run.rss_1k_mb:.1f} MB) | "
        f"bare Kivy label app {starts.bare_rss_mb:.1f} MB | "
        f"≤ {GOAL_RSS_MB:.0f} MB: {verdict(run.rss_end_mb <= GOAL_RSS_MB)} |",
        f"| Memory growth from 1,000 to {run.ratings:,} ratings | {growth:+.1f} MB | — | "
        f"≤ {GOAL_GROWTH_MB:.0f} MB: {verdict(growth <= GOAL_GROWTH_MB)} |",
        *(
            [
                f"| Resident memory after a technician's visits | idle {visits.idle_mb:.1f} MB; "
                "once closed after each visit: "
                + ", ".join(f"{mb:.1f}" for mb in visits.after_mb)
                + " MB | — | no goal |"
            ]
            if visits is not None and visits.after_mb
            else []
        ),
        "",
        f"Where a press's time goes (the same {len(run.drawn_ms)} presses):",
        "",
        "| From → to | What happens | p50 | p99 |",
        "|---|---|---|---|",
        *(
            f"| {start} → {end} | {what} | {percentile(spent, 50):.1f} ms | "
            f"{percentile(spent, 99):.1f} ms |"
            for spent, (start, end, what) in zip(run.stage_ms, STAGES, strict=True)
        ),
        "",
        f"Where the resident memory lies (from `/proc/PID/smaps`; the kiosk after "
        f"{run.ratings:,} ratings, the bare app once drawn):",
        "",
        "| Part | Kiosk | Bare Kivy app | Difference |",
        "|---|---|---|---|",
        *(
            f"| {part} | {mb:.1f} MB | {starts.bare_parts.get(part, 0.0):.1f} MB | "
            f"{mb - starts.bare_parts.get(part, 0.0):+.1f} MB |"
            for part, mb in run.parts_end.items()
        ),
        "",
        f"Proportional set size at the end (each page shared with other processes counted "
        f"by share; the X server maps the same Mesa and LLVM libraries): "
        f"{run.pss_end_mb:.1f} MB.",
        "",
        f"Pydantic's import and first model, on top of what the kiosk loads anyway (Kivy, "
        f"TLS and HTTP, SQLite): {pydantic_mb:.1f} MB (the bare Kivy app plus it: "
        f"{starts.bare_rss_mb + pydantic_mb:.1f} MB).",
        NOTE,
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hailong.kiosk.bench",
        description="Measure the kiosk app: cold start, press to thank-you drawn, memory.",
    )
    parser.add_argument("--starts", type=int, default=5, help="cold starts to time (default 5)")
    parser.add_argument("--presses", type=int, default=300,
                        help="presses timed to the thank-you drawn (default 300)")
    parser.add_argument("--ratings", type=int, default=10_000,
                        help="ratings made in all, for the memory figures (default 10000)")
    parser.add_argument("--visits", type=int, default=3,
                        help="technician's visits, for the memory left after them "
                             "(default 3; 0 skips them)")
    parser.add_argument("--update", type=Path, metavar="FILE",
                        help="rewrite this benchmark's section of FILE (docs/benchmarks.md)")
    args = parser.parse_args(argv)
    if args.ratings < max(args.presses, 1000):
        parser.error("--ratings must be at least --presses and at least 1000")

    from hailong.xvfb import Xvfb

    os.environ.setdefault("HAILONG_LANG", "vi")
    with tempfile.TemporaryDirectory(prefix="hailong-kiosk-bench-") as tmp, Xvfb(1280, 800) as x:
        folder = Path(tmp)
        starts = cold_starts(folder, x.display, args.starts)
        run_dir = folder / "presses"
        run_dir.mkdir()
        run = presses(run_dir, x.display, args.presses, args.ratings)
        visits = None
        if args.visits > 0:
            visits_dir = folder / "visits"
            visits_dir.mkdir()
            visits = technician_visits(visits_dir, x.display, args.visits)
        text = report(starts, run, visits, folder, pydantic_cost_mb(folder))
    print(text)
    if args.update:
        update_section(args.update, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
