"""kiosk/watchdog.py against real unix datagram sockets, as systemd's notify socket
is: a path in the file system, or a name in the abstract namespace ("@...")."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hailong.kiosk.watchdog import Watchdog

RECEIVE_TIMEOUT_S = 5.0


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    """($NOTIFY_SOCKET, the receiving socket) for a socket file."""
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind(str(path))
        receiver.settimeout(RECEIVE_TIMEOUT_S)
        yield str(path), receiver


def test_ready_ping_and_stopping_reach_the_socket(
    notify_socket: tuple[str, socket.socket],
) -> None:
    address, receiver = notify_socket
    watchdog = Watchdog({"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "20000000"})
    assert watchdog.ready() and watchdog.ping() and watchdog.stopping()
    assert [receiver.recv(4096) for _n in range(3)] == [b"READY=1", b"WATCHDOG=1",
                                                         b"STOPPING=1"]


def test_an_abstract_namespace_socket_is_reached() -> None:
    name = f"hailong-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind("\0" + name)
        receiver.settimeout(RECEIVE_TIMEOUT_S)
        assert Watchdog({"NOTIFY_SOCKET": "@" + name}).ping()
        assert receiver.recv(4096) == b"WATCHDOG=1"


def test_the_interval_is_half_of_systemds_watchdog_time() -> None:
    assert Watchdog({"WATCHDOG_USEC": "30000000"}).interval_s == 15.0
    assert Watchdog({"WATCHDOG_USEC": "30000000",
                     "WATCHDOG_PID": str(os.getpid())}).interval_s == 15.0
    # The app is cage's child: systemd names cage, the unit's main process.
    assert Watchdog({"WATCHDOG_USEC": "30000000",
                     "WATCHDOG_PID": str(os.getppid())}).interval_s == 15.0


@pytest.mark.parametrize("environ", [
    {},
    {"WATCHDOG_USEC": "0"},
    {"WATCHDOG_USEC": "soon"},
    {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"},  # meant for another process
])
def test_no_interval_when_the_watchdog_is_not_ours(environ: dict[str, str]) -> None:
    if environ.get("WATCHDOG_PID") == "1":
        assert os.getppid() != 1 and os.getpid() != 1
    assert Watchdog(environ).interval_s is None


def test_without_a_socket_nothing_is_sent_and_nothing_fails() -> None:
    watchdog = Watchdog({})
    assert watchdog.ready() is False
    assert watchdog.ping() is False
    assert watchdog.stopping() is False


def test_a_missing_socket_is_logged_once_and_never_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    watchdog = Watchdog({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    with caplog.at_level(logging.WARNING, logger="hailong.kiosk.watchdog"):
        assert [watchdog.ping() for _n in range(3)] == [False, False, False]
    assert len(caplog.records) == 1
    assert "cannot notify systemd" in caplog.records[0].getMessage()
