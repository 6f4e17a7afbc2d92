"""The technician tools: the pure button test and settings words, then the same
driven over a real pseudo-terminal against the simulator."""

from __future__ import annotations

import os
import select
import threading
import time
import tty

import pytest

from hailong.device.box_link import BoxLink
from hailong.device.driver import LinkLostError
from hailong.device.protocol import (
    BoxSettings,
    FrameDecoder,
    Hello,
    HelloRequest,
    Ping,
    Pong,
    encode_frame,
)
from hailong.device.session import BoxPress
from hailong.device.simulator import Simulator
from hailong.device.technician import (
    ButtonResult,
    ButtonTest,
    SettingsInputError,
    Verdict,
    parse_settings,
    run_button_test,
    write_settings,
)


def press(seq: int, button: int, nonce: int = 7) -> BoxPress:
    return BoxPress("BOX1", nonce, seq, button)


# -- ButtonTest, table-driven in time ---------------------------------------------------


def test_buttons_are_asked_in_turn_and_pass_on_their_own_press():
    test = ButtonTest(buttons=3, timeout_s=10)
    assert test.begin(now=0.0) == 1
    assert test.press(press(1, 1), 1.5) is Verdict.PASSED
    assert test.current == 2
    assert test.press(press(2, 3), 2.0) is Verdict.OTHER
    assert test.press(press(3, 2), 4.0) is Verdict.PASSED
    assert test.press(press(4, 3), 4.5) is Verdict.PASSED
    assert test.done and test.passed
    assert test.results == [
        ButtonResult(1, True, 1.5, ()),
        ButtonResult(2, True, 2.5, (3,)),
        ButtonResult(3, True, 0.5, ()),
    ]


def test_a_button_not_pressed_in_time_fails_and_the_next_is_asked():
    test = ButtonTest(buttons=2, timeout_s=5)
    test.begin(0.0)
    assert test.press(press(1, 2), 1.0) is Verdict.OTHER  # a miswired box says 2 for 1
    assert test.poll(4.9) is None
    assert test.poll(5.0) == ButtonResult(1, False, None, (2,))
    assert test.current == 2
    assert test.poll(9.9) is None  # the second button's time counts from its request
    assert test.press(press(2, 2), 9.9) is Verdict.PASSED
    assert test.done and not test.passed


def test_a_resent_press_counts_once_and_not_for_the_next_button():
    test = ButtonTest(buttons=2, timeout_s=5)
    test.begin(0.0)
    assert test.press(press(1, 1), 1.0) is Verdict.PASSED
    assert test.press(press(1, 1), 1.5) is Verdict.REPEAT
    assert test.current == 2
    assert test.press(press(1, 2, nonce=8), 1.6) is Verdict.PASSED  # same seq, new boot


def test_presses_from_before_the_test_stay_stale_for_ever():
    test = ButtonTest(buttons=1, timeout_s=5)
    assert test.press(press(1, 1), 0.0) is Verdict.STALE
    test.begin(0.1)
    assert test.press(press(1, 1), 0.6) is Verdict.STALE  # resent: still not a test press
    assert test.press(press(2, 1), 0.7) is Verdict.PASSED
    assert test.press(press(3, 1), 0.8) is Verdict.LATE


def test_impossible_tests_are_refused():
    with pytest.raises(ValueError):
        ButtonTest(buttons=0, timeout_s=5)
    with pytest.raises(ValueError):
        ButtonTest(buttons=4, timeout_s=0)


# -- settings words ---------------------------------------------------------------------


def test_settings_words_are_parsed_and_the_label_normalised_to_nfc():
    decomposed = "Quầy 1".replace("ầ", "a\u0302\u0300")
    assert parse_settings([f"label={decomposed}", "debounce_ms=35", "led_brightness=0"]) == {
        "label": "Quầy 1",
        "debounce_ms": 35,
        "led_brightness": 0,
    }
    assert parse_settings(["label="]) == {"label": ""}
    assert parse_settings(["label=a=b"]) == {"label": "a=b"}


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ([], "at least one setting"),
        (["label"], "not KEY=VALUE"),
        (["colour=red"], "keys: label, debounce_ms, led_brightness"),
        (["debounce_ms=0"], "debounce_ms must be a whole number from 1 to 200, got '0'"),
        (["debounce_ms=201"], "from 1 to 200"),
        (["debounce_ms=2.5"], "whole number"),
        (["led_brightness=256"], "from 0 to 255"),
        (["led_brightness=-1"], "from 0 to 255"),
        (["label=Bộ phận một cửa tầng 1"], "bytes in UTF-8; the box keeps at most 24"),
        (["label=a\0b"], "NUL"),
        (["label=a", "label=b"], "given twice"),
    ],
)
def test_bad_settings_words_are_refused_with_the_reason(words, message):
    with pytest.raises(SettingsInputError, match=message):
        parse_settings(words)


def test_a_label_of_exactly_24_bytes_fits():
    label = "Quầy số 120 tầng 2"  # 24 bytes of UTF-8
    assert len(label.encode()) == 24
    assert parse_settings([f"label={label}"]) == {"label": label}


# -- over a real pseudo-terminal ---------------------------------------------------------


@pytest.fixture
def sim(tmp_path):
    simulator = Simulator(link=tmp_path / "box", serial="TECH01", buttons=3)
    simulator.start()
    yield simulator
    simulator.close()


def test_write_settings_changes_only_the_named_ones_and_reads_them_back(sim):
    sim.box.settings = BoxSettings("cũ", 20, 200)
    with BoxLink(str(sim.link)) as link:
        stored = write_settings(link, {"label": "Quầy 7", "led_brightness": 90})
    assert stored == BoxSettings("Quầy 7", 20, 90)
    assert sim.box.settings == stored
    stored_events = [e for e in sim.events if e["event"] == "settings"]
    assert [e["stored"] for e in stored_events] == [True]  # written once


def test_write_settings_leaves_waiting_presses_to_the_kiosk(sim):
    sim.press(2)
    with BoxLink(str(sim.link)) as link:
        write_settings(link, {"debounce_ms": 40})
    assert sim.box.pending == [1]


def test_a_box_that_never_answers_settings_is_reported():
    """A hand-driven peer on a real pty that answers the handshake and pings only."""
    master, slave = os.openpty()
    tty.setraw(slave)
    stop = threading.Event()

    def peer() -> None:
        decoder = FrameDecoder()
        while not stop.is_set():
            ready, _w, _x = select.select([master], [], [], 0.02)
            for msg in decoder.feed(os.read(master, 4096) if ready else b""):
                if isinstance(msg, HelloRequest):
                    os.write(master, encode_frame(Hello(1, 4, 5, "peer", "0", "NOSET")))
                elif isinstance(msg, Ping):
                    os.write(master, encode_frame(Pong(msg.token, 0)))

    thread = threading.Thread(target=peer)
    thread.start()
    try:
        with BoxLink(os.ttyname(slave)) as link:
            started = time.monotonic()
            with pytest.raises(
                LinkLostError, match=r"did not answer with its settings within 0\.5 s"
            ):
                write_settings(link, {"label": "x"}, timeout_s=0.5)
            assert time.monotonic() - started < 1.0
    finally:
        stop.set()
        thread.join(2)
        os.close(master)
        os.close(slave)


def test_run_button_test_over_the_line(sim):
    """The box's LEDs show which button is awaited; a helper thread plays the technician,
    pressing the wrong button once, then the right ones, and leaving button 3 alone."""
    sim.press(3)  # a press the box kept from before: a citizen's, maybe
    events: list[dict] = []

    def technician() -> None:
        for button, presses in ((1, [2, 1]), (2, [2])):
            sim.wait_for(lambda e, b=button: e == {"event": "led", "button": b, "pattern": "on"}, 5)
            for b in presses:
                sim.press(b)

    helper = threading.Thread(target=technician)
    helper.start()
    with BoxLink(str(sim.link)) as link:
        passed = run_button_test(link, ButtonTest(3, timeout_s=1.5), events.append)
    helper.join(5)
    assert not passed
    kinds = [(e["event"], e.get("button")) for e in events]
    assert kinds == [
        ("start", None),
        ("stale", 3),
        ("waiting", 1),
        ("other", 2),
        ("pass", 1),
        ("waiting", 2),
        ("pass", 2),
        ("waiting", 3),
        ("fail", 3),
        ("result", None),
    ]
    assert events[-1] == {"event": "result", "passed": False, "failed": [3]}
    assert events[0]["serial"] == "TECH01" and events[0]["buttons"] == 3
    acked = {e["seq"] for e in sim.events if e["event"] == "ack"}
    assert acked == {2, 3, 4}  # the technician's presses; not seq 1, kept for the kiosk
    assert sim.box.pending == [1]
    sim.wait_for(lambda e: e == {"event": "led", "button": 3, "pattern": "error"}, 2)
    leds = [(e["button"], e["pattern"]) for e in sim.events if e["event"] == "led"]
    assert leds == [
        (0, "off"),
        (1, "on"),
        (1, "confirm"),
        (2, "on"),
        (2, "confirm"),
        (3, "on"),
        (3, "error"),
    ]


def test_a_box_unplugged_mid_command_is_reported(sim):
    with BoxLink(str(sim.link)) as link:
        sim.unplug()
        with pytest.raises(LinkLostError, match="Lost the connection on"):
            for _ in range(40):  # 40 read timeouts: 2 s
                link.step()
