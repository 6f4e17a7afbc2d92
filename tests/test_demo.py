"""`hailong demo`: the kiosk settings it writes (a file the kiosk accepts, whose staff
screens open with the PIN it prints), and how it watches the processes it started."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hailong.config.loader import load_kiosk
from hailong.demo import _forward_keys, write_kiosk_settings
from hailong.kiosk.staff.pins import pin_matches


def test_the_demo_kiosk_opens_its_staff_screens_with_the_printed_pin(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    write_kiosk_settings(path, tmp_path / "kiosk", tmp_path / "box", "http://127.0.0.1:8080",
                         "314159")
    kiosk = load_kiosk(path).kiosk
    assert pin_matches(kiosk.supervisor_pin_hash, "314159")
    assert pin_matches(kiosk.technician_pin_hash, "314159")
    assert not pin_matches(kiosk.supervisor_pin_hash, "271828")


def test_the_demo_starts_again_what_stops_to_be_started_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Real processes: a box that never speaks, and processes that stop at once.
    read_end, write_end = os.pipe()
    monkeypatch.setattr(sys, "stdin", os.fdopen(read_end))
    box = subprocess.Popen(["sleep", "30"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           text=True)

    def stops_with(code: int) -> subprocess.Popen:
        # Named in the demo's message by its 4th and 5th words, as `hailong kiosk run` is.
        return subprocess.Popen([sys.executable, "-c", f"raise SystemExit({code})", "kiosk", "run"])

    first = stops_with(0)
    procs = [box, first]
    started: list[subprocess.Popen] = []

    def start_again(stopped: subprocess.Popen) -> subprocess.Popen | None:
        if stopped.returncode != 0:
            return None
        started.append(stops_with(3))
        return started[-1]

    try:
        with pytest.raises(RuntimeError, match=r"exit 3"):
            _forward_keys(box, procs, start_again)
    finally:
        box.kill()
        box.wait()
        os.close(write_end)
    assert first.returncode == 0
    assert procs == [box, started[0]] and len(started) == 1
