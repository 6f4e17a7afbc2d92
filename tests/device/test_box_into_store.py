"""Presses from the simulated box through the real driver into the real kiosk: the
`KioskController` with its `KioskStore` on a SQLite file in tmp_path (the kiosk a
counter runs, minus the screens; see `bench.offline_kiosk`)."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time

import pytest

from hailong.device import driver as driver_module
from hailong.device.bench import offline_kiosk
from hailong.device.simulator import Simulator
from hailong.kiosk.controller import Event

RETRANSMIT_S = 0.5


def is_event(name, **fields):
    return lambda e: e["event"] == name and all(e.get(k) == v for k, v in fields.items())


class Kiosk:
    """The controller, and a way to wait for what it announces."""

    def __init__(self, folder, port: str) -> None:
        folder.mkdir()
        self.controller = offline_kiosk(folder, port)
        self.rated = 0
        self._cond = threading.Condition()
        self.controller.add_listener(self._on_event)
        self.controller.start()

    def _on_event(self, event: Event) -> None:
        with self._cond:
            if event is Event.RATED:
                self.rated += 1
            self._cond.notify_all()

    def wait(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"{what}: not within {timeout} s")
                self._cond.wait(left)

    def wait_status(self, status: str, timeout: float) -> None:
        self.wait(lambda: self.controller.box_status == status, timeout, f"box {status}")

    def stored(self) -> dict[tuple[str, int, int], int]:
        """Every rating in the database, by its box key, with its button."""
        items = self.controller.store.pending(max_items=5000, max_bytes=10_000_000)
        keys = [(i.box_serial, i.box_boot_nonce, i.box_seq) for i in items]
        assert len(set(keys)) == len(keys)
        return {k: i.button for k, i in zip(keys, items, strict=True)}


@pytest.fixture
def make(tmp_path):
    made: list = []

    def build(**sim_options) -> tuple[Simulator, Kiosk]:
        sim = Simulator(link=tmp_path / "box", **sim_options)
        sim.start()
        made.append(sim)
        kiosk = Kiosk(tmp_path / "kiosk", str(tmp_path / "box"))
        made.append(kiosk)
        kiosk.wait_status("connected", 3.0)
        return sim, kiosk

    yield build
    for thing in reversed(made):
        if isinstance(thing, Kiosk):
            thing.controller.stop()
            thing.controller.store.close()
        else:
            thing.close()


def test_lost_acknowledgements_bring_retransmissions_and_one_stored_rating_each(make, caplog):
    """A quarter of the frames are lost both ways: presses, ACKs, pings. Presses go on
    until three ACKs were lost (a few presses at this rate; at most 60)."""
    caplog.set_level(logging.INFO, logger="hailong.sync.store")
    sim, kiosk = make(drop=25, seed=11)
    nonce = sim.box.boot_nonce
    pressed: dict[tuple[str, int, int], int] = {}
    seq = 0
    while seq < 60 and sum(1 for e in sim.events if is_event("dropped", type="ack")(e)) < 3:
        seq += 1
        button = 1 + seq % sim.buttons
        sim.press(button)
        pressed[(sim.serial, nonce, seq)] = button
        sim.wait_for(is_event("ack", seq=seq), 15.0)
    assert sum(1 for e in sim.events if is_event("dropped", direction="rx", type="ack")(e)) >= 3
    assert any(e["event"] == "retransmit" for e in sim.events)
    assert kiosk.stored() == pressed  # each press exactly once, nothing invented
    assert kiosk.rated == len(pressed)  # and the citizen thanked once for each
    resent = [r for r in caplog.records if "already stored" in r.getMessage()]
    assert resent, "no retransmission of a stored press reached the store"


def test_100_unplug_replug_cycles_lose_no_acknowledged_press_and_invent_none(make, monkeypatch):
    """Each cycle: a press, then the cable out — at once on even cycles (the press is on
    its way, or stored but not yet acknowledged), after its acknowledgement on odd ones —
    a press while the cable is out (the box keeps it), the cable back, and both presses
    acknowledged before the next cycle: a cable is not pulled faster than a kiosk stores
    two presses (without that wait the box's ring of 32 fills and it drops new presses
    unconfirmed, as designed). The driver's reopen interval is cut from 250 ms to 10 ms
    so the 100 cycles take seconds; every other timing is the product's."""
    monkeypatch.setattr(driver_module, "RETRY_S", 0.01)
    sim, kiosk = make()
    nonce = sim.box.boot_nonce
    pressed: dict[tuple[str, int, int], int] = {}
    for cycle in range(100):
        first, second = 2 * cycle + 1, 2 * cycle + 2
        for seq in (first, second):
            button = 1 + seq % sim.buttons
            sim.press(button)
            pressed[(sim.serial, nonce, seq)] = button
            if seq == first:
                if cycle % 2:
                    sim.wait_for(is_event("ack", seq=seq), 3.0)
                sim.unplug()
                kiosk.wait_status("disconnected", 2.0)
        sim.replug()
        kiosk.wait_status("connected", 3.0)
        for seq in (first, second):
            sim.wait_for(is_event("ack", seq=seq), 3.0)
    acknowledged = {(sim.serial, nonce, e["seq"]) for e in sim.events if e["event"] == "ack"}
    stored = kiosk.stored()
    assert acknowledged <= stored.keys()  # no acknowledged press lost
    assert stored == pressed  # no phantom, no duplicate, every button right
    assert kiosk.rated == 200
    assert sum(1 for e in sim.events if e["event"] == "unplugged") == 100


SECOND_PROCESS = """
import sys, time
from hailong.device.driver import PortBusyError, open_port
started = time.monotonic()
try:
    open_port(sys.argv[1])
except PortBusyError as exc:
    print(f"{time.monotonic() - started:.3f}")
    print(exc)
"""


def test_a_second_process_opening_the_kiosks_port_gets_a_clear_error_within_1s(make):
    sim, _kiosk = make()
    port = str(sim.link)
    timed = subprocess.run(
        [sys.executable, "-c", SECOND_PROCESS, port], capture_output=True, text=True, timeout=30
    )
    seconds, message = timed.stdout.splitlines()
    assert float(seconds) < 1.0
    assert "in use by another program" in message
    started = time.monotonic()
    cli = subprocess.run(
        [sys.executable, "-m", "hailong", "device", "probe", port],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert cli.returncode == 1
    assert cli.stderr.strip() == message  # one clear line, nothing else
    assert time.monotonic() - started < 5.0  # including the interpreter's start
