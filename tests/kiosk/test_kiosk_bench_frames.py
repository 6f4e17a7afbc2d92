"""What keeps a press cheap to show: one frame per screen change, no multisampling,
a clock that wakes at once, and a trace that notes each stage of a press."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hailong.config.settings import KioskSettings
from hailong.kiosk.trace import FrameTrace


def test_a_screen_change_is_complete_when_current_is_set() -> None:
    from kivy.uix.screenmanager import Screen, ScreenManager

    from hailong.kiosk.app import InstantTransition

    manager = ScreenManager(transition=InstantTransition())
    idle, thanks = Screen(name="idle"), Screen(name="thanks")
    events: list[str] = []
    idle.bind(on_pre_leave=lambda _s: events.append("idle pre-leave"),
              on_leave=lambda _s: events.append("idle left"))
    thanks.bind(on_pre_enter=lambda _s: events.append("thanks pre-enter"),
                on_enter=lambda _s: events.append("thanks entered"))
    manager.add_widget(idle)
    manager.add_widget(thanks)

    manager.current = "thanks"

    # Nothing waits for a later frame: the next frame draws the thank-you alone.
    assert manager.children == [thanks]
    assert events == ["thanks pre-enter", "idle pre-leave", "thanks entered", "idle left"]
    assert not manager.transition.is_active
    manager.current = "idle"
    assert manager.children == [idle]


def test_the_kiosk_window_is_not_multisampled() -> None:
    from kivy.config import Config

    from hailong.kiosk.app import configure_kivy

    Config.set("graphics", "multisamples", "2")
    configure_kivy(KioskSettings(fullscreen=False))
    assert Config.getint("graphics", "multisamples") == 0


def test_kivy_wakes_at_once_for_another_thread_and_leaves_pillow_out(tmp_path: Path) -> None:
    # A fresh interpreter: Kivy reads its environment once, at its first import.
    script = (
        "import sys, pathlib, threading, time\n"
        "from hailong.kiosk.kivy_env import prepare_kivy_environment\n"
        "prepare_kivy_environment(pathlib.Path(sys.argv[1]))\n"
        "from kivy.clock import Clock\n"
        "import kivy.core.image\n"
        "assert 'PIL' not in sys.modules, 'Pillow was imported'\n"
        "Clock.tick()\n"
        "woke = []\n"
        "trigger = Clock.create_trigger(lambda _dt: woke.append(time.monotonic()))\n"
        "Clock._max_fps = 1.0  # a frame a second: a sleeping clock would be seen\n"
        "def later():\n"
        "    time.sleep(0.05)\n"
        "    sent.append(time.monotonic())\n"
        "    trigger()\n"
        "sent = []\n"
        "threading.Thread(target=later).start()\n"
        "while not woke:\n"
        "    Clock.tick()\n"
        "print(round(woke[0] - sent[0], 3))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "kivy")],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "HOME": str(tmp_path)}, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # The default clock would have slept out its one-second frame.
    assert float(result.stdout) < 0.3


def test_the_trace_is_silent_unless_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HAILONG_KIOSK_TRACE", raising=False)
    silent = FrameTrace.from_environment()
    assert not silent.enabled
    silent.mark("rated")

    path = tmp_path / "trace.txt"
    monkeypatch.setenv("HAILONG_KIOSK_TRACE", str(path))
    trace = FrameTrace.from_environment()
    trace.mark("box press")
    trace.mark("rated")
    trace.close()
    lines = [line.split(" ", 1) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [event for _stamp, event in lines] == ["box press", "rated"]
    stamps = [int(stamp) for stamp, _event in lines]
    assert stamps == sorted(stamps)


def test_a_round_stroke_puts_a_disc_of_its_width_on_the_asked_vertices() -> None:
    from kivy.uix.widget import Widget

    from hailong.kiosk.screens.widgets import RoundStroke

    widget = Widget()
    with widget.canvas:
        tick = RoundStroke(discs_at=(0, 1, 2))
        mouth = RoundStroke()
    points = [10.0, 50.0, 30.0, 20.0, 80.0, 90.0]
    tick.draw(points, 4.0)
    mouth.draw(points, 2.0)
    centres = [
        (disc.pos[0] + disc.size[0] / 2, disc.pos[1] + disc.size[1] / 2)
        for _index, disc in tick._discs
    ]
    assert centres == [(10.0, 50.0), (30.0, 20.0), (80.0, 90.0)]
    assert all(tuple(disc.size) == (8.0, 8.0) for _index, disc in tick._discs)
    assert [tuple(disc.pos) for _index, disc in mouth._discs] == [(8.0, 48.0), (78.0, 88.0)]
