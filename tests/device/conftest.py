"""Fixtures for the driver suite: a box behind a real pseudo-terminal, and a host.

The suite is written against `BoxBackend`, so the same tests run against every kind
of box: the simulator, and the real firmware image run in simavr (`firmware`).

A backend reports what the box saw and did as event dicts, with the vocabulary of
`hailong device simulate`'s JSON lines; the suite relies on: `press` (button, seq,
boot_nonce), `retransmit` (seq), `ack` (seq, for an ACK the box accepted), `led`
(button, pattern), `settings` (label, debounce_ms, led_brightness), `hello_sent`
(boot_nonce), `boot` (boot_nonce).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import pytest
from firmware_backend import FirmwareBackend

from hailong.device.driver import BoxDriver, BoxInfo, BoxPress, BoxSettings, BoxState
from hailong.device.simulator import Simulator

Event = dict[str, object]


class BoxBackend(Protocol):
    path: str  # what the host opens; it disappears on unplug and comes back on replug
    serial: str
    buttons: int

    def press(self, button: int) -> None: ...
    def unplug(self) -> None: ...
    def replug(self) -> None: ...
    def reboot(self) -> None: ...
    def garbage(self, count: int) -> None: ...
    def close(self) -> None: ...
    def mark(self) -> int: ...
    def wait_for(
        self, predicate: Callable[[Event], bool], timeout: float, since: int = 0
    ) -> Event: ...


class SimulatorBackend:
    def __init__(self, tmp_path: Path, *, drop: float = 0, corrupt: float = 0, seed: int = 1):
        self.path = str(tmp_path / "box")
        self.sim = Simulator(link=self.path, drop=drop, corrupt=corrupt, seed=seed)
        self.sim.start()
        self.serial = self.sim.serial
        self.buttons = self.sim.buttons
        self.press = self.sim.press
        self.unplug = self.sim.unplug
        self.replug = self.sim.replug
        self.reboot = self.sim.reboot
        self.garbage = self.sim.garbage
        self.close = self.sim.close
        self.mark = self.sim.mark
        self.wait_for = self.sim.wait_for


BACKENDS: dict[str, Callable[..., BoxBackend]] = {
    "simulator": SimulatorBackend,
    "firmware": FirmwareBackend,
}


@pytest.fixture(params=sorted(BACKENDS))
def box_factory(request, tmp_path) -> Iterator[Callable[..., BoxBackend]]:
    made: list[BoxBackend] = []

    def make(**options) -> BoxBackend:
        backend = BACKENDS[request.param](tmp_path / f"box{len(made)}", **options)
        made.append(backend)
        return backend

    for n in range(4):
        (tmp_path / f"box{n}").mkdir()
    yield make
    for backend in made:
        backend.close()


@pytest.fixture
def box(box_factory) -> BoxBackend:
    return box_factory()


class Host:
    """A driver with a stand-in for the kiosk's store: de-duplicates on (serial, boot
    nonce, seq), stores, then acknowledges, and records everything it saw."""

    def __init__(self, port: str, *, settings: BoxSettings | None = None, ack: bool = True):
        self.ack = ack
        self.deliveries: list[BoxPress] = []
        self.stored: dict[tuple[str, int, int], int] = {}
        self.states: list[tuple[float, BoxState, BoxInfo | None]] = []
        self.fail_next_press = False
        self._cond = threading.Condition()
        self.driver = BoxDriver(
            port, on_press=self._on_press, on_state=self._on_state, settings=settings
        )

    def _on_press(self, press: BoxPress) -> None:
        with self._cond:
            self.deliveries.append(press)
            self._cond.notify_all()
            if self.fail_next_press:
                self.fail_next_press = False
                raise RuntimeError("the kiosk crashed before storing the press")
            self.stored.setdefault((press.serial, press.boot_nonce, press.seq), press.button)
        if self.ack:
            self.driver.acknowledge(press)

    def _on_state(self, state: BoxState, info: BoxInfo | None) -> None:
        with self._cond:
            self.states.append((time.monotonic(), state, info))
            self._cond.notify_all()

    def wait(self, condition: Callable[[], bool], timeout: float, what: str) -> float:
        """Seconds until `condition()` held; fails the test after `timeout`."""
        start = time.monotonic()
        deadline = start + timeout
        with self._cond:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"{what}: not within {timeout} s")
                self._cond.wait(left)
        return time.monotonic() - start

    def wait_state(self, state: BoxState, timeout: float) -> float:
        return self.wait(lambda: self.driver.state is state, timeout, f"state {state.value}")

    def wait_press(self, button: int, timeout: float = 3.0, after: int = 0) -> BoxPress:
        def found() -> bool:
            return any(p.button == button for p in self.deliveries[after:])

        self.wait(found, timeout, f"press of button {button}")
        with self._cond:
            return next(p for p in self.deliveries[after:] if p.button == button)


@pytest.fixture
def host_factory() -> Iterator[Callable[..., Host]]:
    hosts: list[Host] = []

    def make(port: str, **options) -> Host:
        host = Host(port, **options)
        hosts.append(host)
        host.driver.start()
        return host

    yield make
    for host in hosts:
        host.driver.stop()


@pytest.fixture
def host(box, host_factory) -> Host:
    made = host_factory(box.path)
    made.wait_state(BoxState.CONNECTED, 3.0)
    return made
