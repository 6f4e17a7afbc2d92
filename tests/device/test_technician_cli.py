"""`hailong device test`, `set` and the errors every port command shares."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import tty

import pytest
from test_device_cli import ENV, JsonLines, hailong

from hailong.cli import main
from hailong.device.driver import open_port
from hailong.device.protocol import BoxSettings
from hailong.device.simulator import Simulator


@pytest.fixture
def sim(tmp_path):
    simulator = Simulator(link=tmp_path / "box", serial="CLIBOX", buttons=4)
    simulator.start()
    yield simulator
    simulator.close()


def technician(sim: Simulator, presses: dict[int, list[int]]) -> threading.Thread:
    """Waits for each button's light to come on, then presses what `presses` says."""

    def play() -> None:
        mark = 0
        for button, buttons in presses.items():
            lit = {"event": "led", "button": button, "pattern": "on"}
            sim.wait_for(lambda e, lit=lit: e == lit, 10.0, since=mark)
            mark = sim.mark()
            for b in buttons:
                sim.press(b)

    thread = threading.Thread(target=play, daemon=True)
    thread.start()
    return thread


def spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        hailong(*args),
        stdin=subprocess.DEVNULL,  # the command reads nothing: a closed input is fine
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )


def test_device_test_passes_a_box_whose_buttons_all_answer(sim):
    proc = spawn("device", "test", str(sim.link), "--timeout-s", "5")
    technician(sim, {1: [1], 2: [2], 3: [3], 4: [4]})
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("Testing rating box CLIBOX (4 buttons)")
    assert "Press button 1 now (its light is on)." in lines
    assert [line.split(":")[0].strip() for line in lines if ": pass" in line] == [
        f"button {b}" for b in (1, 2, 3, 4)
    ]
    assert lines[-1] == "Every button passed."


def test_device_test_reports_each_button_and_fails_on_a_silent_one(sim):
    proc = spawn("device", "test", str(sim.link), "--timeout-s", "2", "--json")
    technician(sim, {1: [1], 2: [3, 2], 3: [3]})  # button 4 is never pressed
    out = JsonLines(proc)
    result = out.wait_for(lambda e: e["event"] == "result", 20.0)
    assert proc.wait(10) == 1
    assert result == {"event": "result", "passed": False, "failed": [4]}
    verdicts = [(e["event"], e["button"]) for e in out.lines if e["event"] in ("pass", "fail")]
    assert verdicts == [("pass", 1), ("pass", 2), ("pass", 3), ("fail", 4)]
    second = next(e for e in out.lines if e["event"] == "pass" and e["button"] == 2)
    assert second["others"] == [3]
    assert {"event": "other", "button": 3, "expected": 2} in out.lines


def test_device_set_writes_reads_back_and_prints(sim):
    result = subprocess.run(
        hailong("device", "set", str(sim.link), "label=Quầy 5", "led_brightness=80", "--json"),
        capture_output=True,
        text=True,
        env=ENV,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed == {
        "port": str(sim.link),
        "label": "Quầy 5",
        "debounce_ms": 20,
        "led_brightness": 80,
    }
    assert sim.box.settings == BoxSettings("Quầy 5", 20, 80)
    human = subprocess.run(
        hailong("device", "set", str(sim.link), "debounce_ms=45"),
        capture_output=True,
        text=True,
        env=ENV,
        timeout=30,
    )
    assert human.returncode == 0, human.stderr
    assert human.stdout.splitlines()[1:] == [
        "  label: Quầy 5",
        "  debounce_ms: 45",
        "  led_brightness: 80",
    ]


def test_device_set_refuses_bad_values_before_touching_the_port(sim, capsys):
    assert main(["device", "set", str(sim.link), "label=Bộ phận một cửa tầng 1"]) == 2
    assert "the box keeps at most 24" in capsys.readouterr().err
    assert main(["device", "set", str(sim.link), "debounce_ms=0", "label=x"]) == 2
    assert main(["device", "set", str(sim.link), "brightness=3"]) == 2
    assert "keys: label, debounce_ms, led_brightness" in capsys.readouterr().err
    assert not any(e["event"] == "hello_request" for e in sim.events)


# -- one helper, every port command: the same clear errors ------------------------------

COMMANDS = {
    "probe": ["probe", "{port}", "--timeout", "0.4"],
    "test": ["test", "{port}", "--connect-timeout-s", "0.4"],
    "set": ["set", "{port}", "label=x", "--connect-timeout-s", "0.4"],
}


@pytest.fixture
def not_a_box():
    master, slave = os.openpty()
    tty.setraw(slave)
    yield os.ttyname(slave)
    os.close(master)
    os.close(slave)


@pytest.fixture
def old_box(tmp_path):
    sim = Simulator(link=tmp_path / "old-box", protocol=2)
    sim.start()
    yield str(tmp_path / "old-box")
    sim.close()


@pytest.fixture
def busy_box(sim):
    holder = open_port(str(sim.link))
    yield str(sim.link)
    holder.close()


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("missing", "There is no serial port at"),
        ("busy_box", "is in use by another program"),
        ("not_a_box", "No rating box answered on"),
        ("old_box", "speaks protocol version 2, this program speaks version 1"),
    ],
)
def test_every_port_command_names_the_problem(command, where, message, request, tmp_path, capsys):
    port = str(tmp_path / "absent") if where == "missing" else request.getfixturevalue(where)
    argv = ["device", *(word.format(port=port) for word in COMMANDS[command])]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.err.count("\n") == 1  # one line, no traceback
    assert captured.out == ""
