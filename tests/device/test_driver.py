"""The real driver against a real box behind a real pseudo-terminal (see conftest)."""

import os
import time
import tty

import pytest

from hailong.device.driver import (
    BoxDriver,
    BoxSettings,
    BoxState,
    NotABoxError,
    PortBusyError,
    PortMissingError,
    UnsupportedProtocolError,
    probe,
)
from hailong.device.protocol import FrameDecoder, Hello, HelloRequest, encode_frame
from hailong.device.protocol_constants import RETRANSMIT_MS
from hailong.device.simulator import Simulator

RETRANSMIT_S = RETRANSMIT_MS / 1000


def is_event(name, **fields):
    return lambda e: e["event"] == name and all(e.get(k) == v for k, v in fields.items())


def test_handshake_reports_the_box(box, host):
    info = host.driver.info
    assert info.serial == box.serial
    assert info.buttons == box.buttons
    assert info.protocol == 1
    assert [s for _t, s, _i in host.states][:2] == [BoxState.CONNECTING, BoxState.CONNECTED]


def test_start_returns_at_once_and_stop_is_bounded_even_without_a_box(tmp_path):
    driver = BoxDriver(str(tmp_path / "nothing"), on_press=lambda p: None)
    started = time.monotonic()
    driver.start()
    assert time.monotonic() - started < 0.1
    assert driver.state is BoxState.DISCONNECTED
    stopping = time.monotonic()
    driver.stop()
    assert time.monotonic() - stopping < 1.0


def test_a_press_is_delivered_acknowledged_confirmed_and_no_longer_sent(box, host):
    box.press(2)
    press = host.wait_press(2)
    assert (press.serial, press.boot_nonce, press.seq) == (
        box.serial,
        host.driver.info.boot_nonce,
        1,
    )
    box.wait_for(is_event("ack", seq=1), 2.0)
    box.wait_for(is_event("led", button=2, pattern="confirm"), 2.0)
    after_ack = box.mark()
    with pytest.raises(TimeoutError):
        box.wait_for(is_event("retransmit", seq=1), 2.5 * RETRANSMIT_S, since=after_ack)


def test_an_unacknowledged_press_is_resent_and_delivered_again_until_acknowledged(
    box, host_factory
):
    host = host_factory(box.path, ack=False)
    host.wait_state(BoxState.CONNECTED, 3.0)
    box.press(3)
    host.wait(lambda: len(host.deliveries) >= 3, 4 * RETRANSMIT_S, "three deliveries")
    assert len(set(host.deliveries)) == 1
    host.ack = True
    box.wait_for(is_event("ack", seq=1), 3 * RETRANSMIT_S)
    settled = len(host.deliveries)
    after_ack = box.mark()
    with pytest.raises(TimeoutError):
        box.wait_for(is_event("retransmit"), 2.5 * RETRANSMIT_S, since=after_ack)
    assert len(host.deliveries) <= settled + 1  # at most one already on the line
    assert len(host.stored) == 1


def test_a_crash_in_on_press_before_storing_loses_nothing(box, host):
    host.fail_next_press = True
    box.press(1)
    box.wait_for(is_event("ack", seq=1), 3 * RETRANSMIT_S)
    assert len(host.deliveries) >= 2
    assert list(host.stored.values()) == [1]


def test_unplug_is_reported_within_2s_and_replug_connects_within_3s(box, host):
    box.unplug()
    assert host.wait_state(BoxState.DISCONNECTED, 2.0) < 2.0
    box.press(4)  # the box keeps it while the line is down
    time_to_replug = time.monotonic()
    box.replug()
    host.wait_state(BoxState.CONNECTED, 3.0)
    assert time.monotonic() - time_to_replug < 3.0
    host.wait_press(4)
    box.wait_for(is_event("ack", seq=1), 2.0)


def test_a_box_that_appears_after_the_driver_started_connects_within_3s(box, host_factory):
    box.unplug()
    host = host_factory(box.path)
    time.sleep(0.5)  # the scenario: the box is plugged in some time after the kiosk started
    assert host.driver.state is BoxState.DISCONNECTED
    plugged = time.monotonic()
    box.replug()
    host.wait_state(BoxState.CONNECTED, 3.0)
    assert time.monotonic() - plugged < 3.0


def test_reboot_brings_a_new_nonce_and_presses_stay_distinct(box, host):
    box.press(1)
    box.wait_for(is_event("ack", seq=1), 2.0)
    old_nonce = host.driver.info.boot_nonce
    box.reboot()
    host.wait(
        lambda: host.driver.info is not None and host.driver.info.boot_nonce != old_nonce,
        2.0,
        "new boot nonce",
    )
    box.press(1)
    host.wait(lambda: len(host.stored) == 2, 2.0, "second stored press")
    keys = sorted(host.stored, key=lambda k: k[1] == old_nonce)
    assert {k[2] for k in keys} == {1}  # both are seq 1, told apart by the nonce
    assert {k[1] for k in keys} == {old_nonce, host.driver.info.boot_nonce}


def test_garbage_on_the_line_loses_no_press(box, host):
    box.garbage(300)
    box.press(1)
    box.garbage(300)
    box.press(2)
    box.garbage(60)
    host.wait(lambda: len(host.stored) == 2, 2.0, "two presses")
    assert sorted(host.stored.values()) == [1, 2]
    for seq in (1, 2):
        box.wait_for(is_event("ack", seq=seq), 2.0)


def test_a_noisy_line_delivers_every_press_exactly_once(box_factory, host_factory):
    box = box_factory(drop=10, corrupt=10, seed=7)
    host = host_factory(box.path)
    host.wait_state(BoxState.CONNECTED, 3.0)
    nonce = host.driver.info.boot_nonce
    # Every kind of damage must really happen: at 10 % each, thirty acks escape being
    # dropped, or being corrupted, in roughly one run in ten (0.9 ** 30 ≈ 4 % each), so
    # the presses go on, five at a time, until each kind has been seen.
    noise = [(name, direction, kind) for name in ("dropped", "corrupted")
             for direction, kind in (("tx", "button_event"), ("rx", "ack"))]

    def seen(name, direction, kind):
        try:
            box.wait_for(is_event(name, direction=direction, type=kind), 0)
        except TimeoutError:
            return False
        return True

    pressed = {}
    seq = 0
    while seq < 30 or not all(seen(*damage) for damage in noise):
        assert seq < 300, "the noise never hit every kind of frame"
        for _press in range(5):
            seq += 1
            button = 1 + seq % box.buttons
            box.press(button)
            pressed[(box.serial, nonce, seq)] = button
        box.garbage(40)
        # Acknowledged before the next five, so the box's ring never fills.
        for acked in range(seq - 4, seq + 1):
            box.wait_for(is_event("ack", seq=acked), 15.0)
    assert host.stored == pressed  # nothing lost, nothing invented, each once
    for name, kind in (("dropped", "button_event"), ("corrupted", "button_event")):
        box.wait_for(is_event(name, direction="tx", type=kind), 0)  # the noise really hit
    for name in ("dropped", "corrupted"):
        box.wait_for(is_event(name, direction="rx", type="ack"), 0)


def test_settings_are_written_to_the_box_on_connect(box, host_factory):
    host = host_factory(box.path, settings=BoxSettings("Quầy 3", 35, 120))
    host.wait_state(BoxState.CONNECTED, 3.0)
    event = box.wait_for(is_event("settings"), 2.0)
    assert (event["label"], event["debounce_ms"], event["led_brightness"]) == ("Quầy 3", 35, 120)


def test_led_commands_reach_the_box(box, host):
    host.driver.set_led(None, "idle")
    box.wait_for(is_event("led", button=0, pattern="idle"), 2.0)
    host.driver.set_led(3, "error")
    box.wait_for(is_event("led", button=3, pattern="error"), 2.0)
    with pytest.raises(ValueError, match="unknown LED pattern"):
        host.driver.set_led(1, "sparkle")


def test_many_unplug_replug_cycles_lose_and_invent_nothing(box, host):
    expected = {}
    for cycle in range(20):
        box.press(1 + cycle % box.buttons)
        box.unplug()
        host.wait_state(BoxState.DISCONNECTED, 2.0)
        box.press(1 + (cycle + 1) % box.buttons)
        box.replug()
        host.wait_state(BoxState.CONNECTED, 3.0)
        nonce = host.driver.info.boot_nonce
        expected[(box.serial, nonce, 2 * cycle + 1)] = 1 + cycle % box.buttons
        expected[(box.serial, nonce, 2 * cycle + 2)] = 1 + (cycle + 1) % box.buttons
    host.wait(lambda: len(host.stored) >= len(expected), 5.0, "every press stored")
    for seq in range(1, 41):
        box.wait_for(is_event("ack", seq=seq), 3.0)
    assert host.stored == expected


def test_a_second_program_opening_the_port_gets_a_clear_error_within_1s(box, host):
    started = time.monotonic()
    with pytest.raises(PortBusyError, match="in use by another program"):
        probe(box.path)
    assert time.monotonic() - started < 1.0


def test_probe_reads_the_hello(box):
    info = probe(box.path)
    assert (info.serial, info.buttons) == (box.serial, box.buttons)


def test_probe_of_a_missing_port_says_so(tmp_path):
    with pytest.raises(PortMissingError, match="no serial port"):
        probe(str(tmp_path / "absent"))


def test_probe_of_a_device_that_is_not_a_box_says_so():
    master, slave = os.openpty()
    try:
        tty.setraw(slave)
        started = time.monotonic()
        with pytest.raises(NotABoxError, match="No rating box answered"):
            probe(os.ttyname(slave), timeout=0.5)
        assert time.monotonic() - started < 1.5
    finally:
        os.close(master)
        os.close(slave)


def test_probe_of_a_box_with_another_protocol_version_names_both(tmp_path):
    sim = Simulator(protocol=2, link=tmp_path / "old-box")
    sim.start()
    try:
        with pytest.raises(UnsupportedProtocolError, match="protocol version 2"):
            probe(str(tmp_path / "old-box"))
    finally:
        sim.close()


def test_a_box_that_goes_silent_is_reported_within_2s():
    """A hand-driven peer on a real pty: answers the handshake, then says nothing more."""
    master, slave = os.openpty()
    tty.setraw(slave)
    decoder = FrameDecoder()
    host_states = []
    driver = BoxDriver(
        os.ttyname(slave),
        on_press=lambda p: None,
        on_state=lambda s, i: host_states.append((time.monotonic(), s)),
    )
    driver.start()
    try:
        deadline = time.monotonic() + 3
        while driver.state is not BoxState.CONNECTED and time.monotonic() < deadline:
            data = _read_some(master)
            if any(isinstance(m, HelloRequest) for m in decoder.feed(data)):
                os.write(master, encode_frame(Hello(1, 4, 5, "peer", "0", "SILENT1")))
        assert driver.state is BoxState.CONNECTED
        silent_since = time.monotonic()
        while driver.state is BoxState.CONNECTED and time.monotonic() < silent_since + 3:
            _read_some(master)  # the host keeps pinging; nobody answers
        assert driver.state is not BoxState.CONNECTED
        went_down = next(t for t, s in host_states if s is BoxState.DISCONNECTED)
        assert went_down - silent_since < 2.0
    finally:
        driver.stop()
        os.close(master)
        os.close(slave)


def _read_some(fd: int) -> bytes:
    import select

    ready, _w, _x = select.select([fd], [], [], 0.05)
    return os.read(fd, 4096) if ready else b""
