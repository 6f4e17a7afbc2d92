"""`hailong device ...` as real processes."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest
from serial.tools.list_ports_common import ListPortInfo

from hailong.device import driver as driver_module
from hailong.device.driver import BoxState, find_box_port
from hailong.device.simulator import Simulator

ENV = {**os.environ, "HAILONG_LANG": "en", "PYTHONUNBUFFERED": "1"}


def hailong(*args: str) -> list[str]:
    return [sys.executable, "-m", "hailong", *args]


class JsonLines:
    """Reads a process's stdout on a thread, one JSON object per line."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.lines: list[dict] = []
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(json.loads(line))
        self._queue.put(None)

    def wait_for(self, predicate, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        for line in self.lines:
            if predicate(line):
                return line
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"no matching line within {timeout} s; got {self.lines[-5:]}")
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                pytest.fail(f"the process ended; last lines {self.lines[-5:]}")
            self.lines.append(line)
            if predicate(line):
                return line

    def drain(self, timeout: float) -> list[dict]:
        """Every line until the process closes its stdout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=deadline - time.monotonic())
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
        return self.lines


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(hailong(*args), capture_output=True, text=True, env=ENV, timeout=30)


def is_event(name, **fields):
    return lambda e: e["event"] == name and all(e.get(k) == v for k, v in fields.items())


@pytest.fixture
def spawn():
    procs: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        proc = subprocess.Popen(
            hailong(*args),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_simulate_prints_ready_first_serves_a_driver_and_cleans_up(tmp_path, spawn, host_factory):
    link = tmp_path / "box"
    sim = spawn("device", "simulate", "--link", str(link), "--seed", "4", "--serial", "CLI01")
    out = JsonLines(sim)
    ready = out.wait_for(lambda e: True, 10.0)
    assert ready["event"] == "ready" and ready["link"] == str(link)
    assert os.path.realpath(link) == ready["path"]

    host = host_factory(str(link))
    host.wait_state(BoxState.CONNECTED, 3.0)
    assert host.driver.info.serial == "CLI01"
    sim.stdin.write("press 2\n")
    sim.stdin.flush()
    pressed = out.wait_for(is_event("press"), 3.0)
    assert (pressed["button"], pressed["seq"]) == (2, 1)
    host.wait_press(2)
    out.wait_for(is_event("ack", seq=1), 3.0)

    sim.stdin.write("unplug\n")
    sim.stdin.flush()
    out.wait_for(is_event("unplugged"), 3.0)
    assert not link.exists() and not link.is_symlink()
    host.wait_state(BoxState.DISCONNECTED, 2.0)
    sim.stdin.write("replug\nquit\n")
    sim.stdin.flush()
    assert sim.wait(5) == 0
    assert not link.is_symlink()


def test_simulate_reports_bad_commands_and_keeps_running(tmp_path, spawn):
    sim = spawn("device", "simulate", "--link", str(tmp_path / "box"))
    out = JsonLines(sim)
    out.wait_for(is_event("ready"), 10.0)
    sim.stdin.write("press 9\nbogus\nhold 1\npress 1\n")
    sim.stdin.flush()
    errors = [
        out.wait_for(is_event("command_error", line=line), 3.0)
        for line in ("press 9", "bogus", "hold 1")
    ]
    assert "from 1 to 4, got 9" in errors[0]["message"]
    assert "unknown command" in errors[1]["message"]
    out.wait_for(is_event("press", button=1), 3.0)
    sim.stdin.close()  # end of input stops the simulator
    assert sim.wait(5) == 0


def test_simulate_removes_its_link_when_terminated(tmp_path, spawn):
    link = tmp_path / "box"
    sim = spawn("device", "simulate", "--link", str(link))
    JsonLines(sim).wait_for(is_event("ready"), 10.0)
    assert link.is_symlink()
    sim.terminate()
    assert sim.wait(5) == 0
    assert not link.is_symlink()


def test_simulate_refuses_impossible_options(spawn):
    proc = spawn("device", "simulate", "--drop", "150")
    assert proc.wait(10) == 2
    assert "drop" in proc.stderr.read()


def test_noisy_line_between_simulate_and_monitor_delivers_every_press_once(tmp_path, spawn):
    """The acceptance check: garbage, split and dropped frames, every press once."""
    link = tmp_path / "box"
    sim = spawn(
        "device", "simulate", "--link", str(link), "--drop", "15", "--corrupt", "15", "--seed", "5"
    )
    sim_out = JsonLines(sim)
    sim_out.wait_for(is_event("ready"), 10.0)
    monitor = spawn("device", "monitor", str(link), "--json")
    mon_out = JsonLines(monitor)
    mon_out.wait_for(is_event("state", state="connected"), 10.0)

    buttons = [1 + (n * 3) % 4 for n in range(15)]
    for n, button in enumerate(buttons):
        sim.stdin.write(f"press {button}\n")
        if n % 4 == 0:
            sim.stdin.write("garbage 30\n")
    sim.stdin.flush()
    for seq in range(1, len(buttons) + 1):
        sim_out.wait_for(is_event("ack", seq=seq), 20.0)
    mon_out.wait_for(lambda e: e["event"] == "press" and e["seq"] == len(buttons), 5.0)
    monitor.send_signal(signal.SIGINT)
    assert monitor.wait(5) == 0
    lines = mon_out.drain(5.0)
    presses = sorted((e["seq"], e["button"]) for e in lines if e["event"] == "press")
    assert presses == list(enumerate(buttons, start=1))
    assert any(e["event"] == "dropped" for e in sim_out.lines)
    assert any(e["event"] == "corrupted" for e in sim_out.lines)


def test_probe_prints_the_hello(tmp_path):
    sim = Simulator(link=tmp_path / "box", serial="PROBE7", buttons=5)
    sim.start()
    try:
        result = run("device", "probe", str(tmp_path / "box"), "--json")
        assert result.returncode == 0, result.stderr
        info = json.loads(result.stdout)
        assert (info["serial"], info["buttons"], info["protocol"]) == ("PROBE7", 5, 1)
        assert info["boot_nonce"] == sim.box.boot_nonce
        human = run("device", "probe", str(tmp_path / "box"))
        assert "serial number: PROBE7" in human.stdout
    finally:
        sim.close()


def test_probe_of_a_missing_port_fails_clearly(tmp_path):
    result = run("device", "probe", str(tmp_path / "absent"))
    assert result.returncode == 1
    assert "There is no serial port at" in result.stderr


def test_list_runs_without_touching_ports():
    result = run("device", "list", "--json", "--no-probe")
    assert result.returncode == 0, result.stderr
    for line in result.stdout.splitlines():
        row = json.loads(line)
        assert {"port", "usb_id", "serial_number", "by_id", "box"} <= set(row)


def _usb_port(device: str, vid: int, pid: int, serial: str) -> ListPortInfo:
    port = ListPortInfo(device, skip_link_detection=True)
    port.vid, port.pid, port.serial_number = vid, pid, serial
    return port


def test_find_box_port_matches_usb_id_and_serial_number(monkeypatch, tmp_path):
    ports = [
        _usb_port("/dev/ttyACM1", 0x2341, 0x0043, "BBB"),
        _usb_port("/dev/ttyACM0", 0x2341, 0x0043, "AAA"),
        _usb_port("/dev/ttyUSB0", 0x1A86, 0x7523, "AAA"),
    ]
    monkeypatch.setattr(driver_module.list_ports, "comports", lambda: ports)
    monkeypatch.setattr(driver_module, "BY_ID_DIR", tmp_path)
    (tmp_path / "usb-Arduino_Uno_BBB-if00").symlink_to("/dev/ttyACM1")
    assert find_box_port("2341:0043", "AAA") == "/dev/ttyACM0"
    assert find_box_port("2341:0043", "BBB") == str(tmp_path / "usb-Arduino_Uno_BBB-if00")
    assert find_box_port("2341:0043") == "/dev/ttyACM0"
    assert find_box_port("2341:0043", "CCC") is None
    with pytest.raises(ValueError, match="USB id"):
        find_box_port("uno")
