"""kiosk/screen_power.py: the real xset against a real Xvfb, and failures of the
commands (real programs that fail or hang, put first on PATH) logged once and never
raised."""

from __future__ import annotations

import logging
import os
import re
import subprocess
from pathlib import Path

import pytest

from hailong.kiosk.screen_power import ScreenPower, session_of, wayland_commands, x_commands
from hailong.xvfb import Xvfb


def xset_q(display: str) -> str:
    return subprocess.run(["xset", "-display", display, "q"], capture_output=True, text=True,
                          timeout=10, check=True).stdout


def saver_timeout(report: str) -> int:
    found = re.search(r"timeout:\s+(\d+)", report)
    assert found, report
    return int(found.group(1))


def test_under_x_the_screensaver_and_dpms_are_switched_off() -> None:
    with Xvfb(640, 480) as x:
        subprocess.run(["xset", "-display", x.display, "s", "on"], check=True, timeout=10)
        assert saver_timeout(xset_q(x.display)) > 0
        screen = ScreenPower({"DISPLAY": x.display, "PATH": os.environ["PATH"]})
        assert screen.session == "x11"
        assert screen.set(True) is True
        report = xset_q(x.display)
        assert saver_timeout(report) == 0
        # Debian's Xvfb is built without DPMS; a real X server shows "DPMS is Disabled".
        assert "DPMS is Disabled" in report or "does not have the DPMS Extension" in report
        assert "DPMS is Enabled" not in report
        assert screen.set(False) is True


def test_the_commands_for_each_session() -> None:
    assert session_of({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}) == "wayland"
    assert session_of({"DISPLAY": ":0"}) == "x11"
    assert session_of({}) is None
    assert wayland_commands(True) == [["wlopm", "--on", "*"]]
    assert wayland_commands(False) == [["wlopm", "--off", "*"]]
    on = x_commands(True, has_dpms=True)
    assert on.index(["xset", "dpms", "force", "on"]) < on.index(["xset", "-dpms"])
    assert ["xset", "s", "off"] in on
    assert not any("dpms" in " ".join(command) for command in x_commands(True, has_dpms=False))
    assert ["xset", "dpms", "force", "off"] in x_commands(False, has_dpms=True)


def fake_tool(folder: Path, name: str, body: str) -> dict[str, str]:
    folder.mkdir(exist_ok=True)
    tool = folder / name
    tool.write_text(f"#!/bin/sh\n{body}\n")
    tool.chmod(0o755)
    return {"PATH": f"{folder}:{os.environ['PATH']}"}


def test_a_failing_xset_is_logged_once_and_never_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    env = fake_tool(tmp_path / "bin", "xset", 'echo "unable to open display" >&2; exit 1')
    screen = ScreenPower({"DISPLAY": ":999", **env})
    with caplog.at_level(logging.WARNING, logger="hailong.kiosk.screen_power"):
        assert [screen.set(True) for _n in range(3)] == [False, False, False]
    assert len(caplog.records) == 1
    assert "unable to open display" in caplog.records[0].getMessage()


def test_a_hanging_command_is_cut_off_by_its_timeout(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    env = fake_tool(tmp_path / "bin", "wlopm", "exec sleep 30")
    screen = ScreenPower({"WAYLAND_DISPLAY": "wayland-0", **env}, timeout_s=0.5)
    with caplog.at_level(logging.WARNING, logger="hailong.kiosk.screen_power"):
        assert screen.set(False) is False
    assert "timed out" in caplog.text


def test_wayland_without_wlopm_and_no_display_at_all_are_reported_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    wayland = ScreenPower({"WAYLAND_DISPLAY": "wayland-0", "PATH": str(empty)})
    nothing = ScreenPower({"PATH": str(empty)})
    with caplog.at_level(logging.WARNING, logger="hailong.kiosk.screen_power"):
        for _n in range(2):
            assert wayland.set(True) is False
            assert nothing.set(True) is False
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert "wlopm is not installed" in messages[0]
    assert "no display" in messages[1]


def test_the_schedule_switches_only_when_the_hours_change() -> None:
    import threading

    from hailong.kiosk.screen_power import ScreenSchedule

    class Recorder:
        def __init__(self) -> None:
            self.calls: list[bool] = []
            self.called = threading.Semaphore(0)

        def set(self, on: bool) -> bool:
            self.calls.append(on)
            self.called.release()
            return True

    open_now = [True]
    power = Recorder()
    schedule = ScreenSchedule(power, lambda: open_now[0])  # type: ignore[arg-type]
    schedule.check()
    schedule.check()
    open_now[0] = False
    schedule.check()
    for _ in range(2):
        assert power.called.acquire(timeout=5)
    assert not power.called.acquire(timeout=0.2), "no third switch"
    assert sorted(power.calls) == [False, True]
