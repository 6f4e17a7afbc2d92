"""The firmware itself: its CRC and COBS on the target, its answers on the line, its
LEDs, its EEPROM, and its hardware-free logic compiled for the host.

The driver suite (test_driver.py) runs against the emulated firmware too, through
the `firmware` backend in conftest.py; these are the checks only a firmware has.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hailong.device import emulator
from hailong.device import protocol_constants as pc
from hailong.device.driver import open_port
from hailong.device.emulator import (
    FIRMWARE_DIR,
    HARNESS,
    LOGIC_LIBRARY,
    SELFTEST_ELF,
    EmulatedBox,
    FirmwareError,
    build_firmware,
)
from hailong.device.protocol import (
    Error,
    FrameDecoder,
    GetSettings,
    HelloRequest,
    Led,
    Message,
    Ping,
    Pong,
    SetSettings,
    Settings,
    cobs_encode,
    crc16,
    encode_frame,
)
from hailong.device.protocol_constants import ErrorCode, LedPattern, MsgType


@pytest.fixture(scope="module", autouse=True)
def built() -> None:
    build_firmware()


@pytest.fixture
def emu(tmp_path):
    box = EmulatedBox(link=tmp_path / "box", seed=3)
    box.start()
    yield box
    box.close()


class Line:
    """The host's end of the emulated box's serial line, frame by frame."""

    def __init__(self, path: str) -> None:
        self.port = open_port(path)
        self.decoder = FrameDecoder()
        self.pending: list = []

    def send(self, msg: Message | bytes) -> None:
        self.port.write(encode_frame(msg) if not isinstance(msg, bytes) else msg)

    def expect(self, kind: type, timeout: float = 2.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while self.pending:
                item = self.pending.pop(0)
                if isinstance(item, kind):
                    return item
            self.pending += self.decoder.feed(self.port.read(256))
        pytest.fail(f"no {kind.__name__} from the box within {timeout} s")

    def close(self) -> None:
        self.port.close()


@pytest.fixture
def line(emu):
    made = Line(emu.path)
    yield made
    made.close()


def raw_frame(payload: bytes) -> bytes:
    """A well-framed message the Python encoder would refuse to build."""
    return b"\0" + cobs_encode(payload + crc16(payload).to_bytes(2, "big")) + b"\0"


def settings_payload(debounce: int, brightness: int, label: bytes) -> bytes:
    return struct.pack("<BBB24s", MsgType.SET_SETTINGS, debounce, brightness, label)


# -- on the target --------------------------------------------------------------------


def test_crc_check_value_and_cobs_computed_on_the_target(tmp_path):
    """selftest.c runs the firmware's crc16.c, cobs.c and link.c in the emulated AVR."""
    proc = subprocess.Popen(
        [str(HARNESS), str(SELFTEST_ELF), "--link", str(tmp_path / "selftest")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    frames: list[bytes] = []
    try:
        assert proc.stdout is not None
        for text in proc.stdout:
            event = json.loads(text)
            if event["event"] == "tx":
                frames.append(bytes.fromhex(event["data"]))
            if len(frames) == 3:
                break
    finally:
        proc.communicate("quit\n", timeout=5)
    crc_text, cobs_text, frame = frames
    assert crc_text == f"crc {pc.CRC_CHECK:04X}".encode()
    assert cobs_text == b"cobs ok"
    assert b"\0" + frame + b"\0" == encode_frame(HelloRequest()) == bytes.fromhex("000401f1d100")


def test_the_emulated_firmware_answers_hailong_device_probe(emu):
    env = {**os.environ, "HAILONG_LANG": "en"}
    done = subprocess.run(
        [sys.executable, "-m", "hailong", "device", "probe", emu.path, "--json"],
        capture_output=True,
        text=True,
        timeout=20,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert (info["serial"], info["buttons"], info["protocol"]) == ("HLFW0001", 4, 1)
    assert (info["model"], info["firmware"]) == ("hailong-box", "hl-1.0.0")


def test_the_serial_number_comes_from_eeprom(tmp_path):
    box = EmulatedBox(link=tmp_path / "box", serial="HL-0042-QUAY3")
    box.start()
    try:
        hello = box.wait_for(lambda e: e["event"] == "hello_sent", 2.0)
        assert hello["serial"] == "HL-0042-QUAY3"
    finally:
        box.close()


def test_settings_survive_a_reboot_and_each_boot_draws_a_new_nonce(emu, line):
    first = emu.wait_for(lambda e: e["event"] == "boot", 0)["boot_nonce"]
    line.send(GetSettings())
    assert line.expect(Settings).values() == Settings("", 20, 200).values()  # the defaults
    line.send(SetSettings("Quầy 7", 45, 90))
    assert line.expect(Settings) == Settings("Quầy 7", 45, 90)
    second = emu.reboot()["boot_nonce"]
    third = emu.reboot()["boot_nonce"]
    line.send(GetSettings())
    assert line.expect(Settings) == Settings("Quầy 7", 45, 90)
    # the low half counts boots (kept in EEPROM), the high half is ADC noise
    assert [n & 0xFFFF for n in (first, second, third)] == [0, 1, 2]
    assert len({n >> 16 for n in (first, second, third)}) == 3


@pytest.mark.parametrize(
    "payload, code",
    [
        (bytes([0x7F]), ErrorCode.UNKNOWN_TYPE),
        (bytes([MsgType.PONG, 1, 0, 0, 0, 0]), ErrorCode.UNKNOWN_TYPE),  # a box-to-host type
        (bytes([MsgType.PING, 1, 2]), ErrorCode.BAD_LENGTH),
        (bytes([MsgType.LED, 7, LedPattern.ON]), ErrorCode.BAD_VALUE),  # the box has 4 buttons
        (bytes([MsgType.LED, 1, 9]), ErrorCode.BAD_VALUE),
        (settings_payload(0, 10, b"x"), ErrorCode.BAD_VALUE),  # debounce out of range
        (settings_payload(201, 10, b"x"), ErrorCode.BAD_VALUE),
        (settings_payload(20, 10, b"a\0b"), ErrorCode.BAD_VALUE),  # a NUL inside the label
        (settings_payload(20, 10, b"\xc3("), ErrorCode.BAD_VALUE),  # not UTF-8
        (settings_payload(20, 10, b"\xed\xa0\x80"), ErrorCode.BAD_VALUE),  # a surrogate
    ],
)
def test_a_bad_message_is_answered_with_its_error_and_changes_nothing(line, payload, code):
    line.send(raw_frame(payload))
    assert line.expect(Error) == Error(code, payload[0])
    line.send(GetSettings())
    assert line.expect(Settings) == Settings("", 20, 200)


def test_a_damaged_frame_is_a_bad_frame_and_the_next_one_is_read(emu, line):
    frame = bytearray(encode_frame(Ping(7)))
    frame[3] ^= 0x40
    line.send(bytes(frame))
    assert line.expect(Error) == Error(ErrorCode.BAD_FRAME, 0)
    emu.garbage_to_box(300)
    line.send(Ping(8))
    assert line.expect(Pong) == Pong(8, 0)


def test_a_held_and_bouncing_button_makes_one_press(emu):
    since = emu.mark()
    emu.hold(2, 1200)
    emu.wait_for(lambda e: e["event"] == "button" and e["state"] == "up", 3.0, since)
    emu.press(2)  # the next press, once the release has been debounced, is a new one
    presses = [e for e in emu.events[since:] if e["event"] == "press"]
    assert [(p["button"], p["seq"]) for p in presses] == [(2, 1), (2, 2)]


def _faint(duty: list[float]) -> bool:
    return all(0 < d < 10 for d in duty)  # DISABLED: a faint steady glow


def test_leds_show_their_patterns_and_go_disabled_without_a_host(emu, line):
    assert _faint(emu.measure_leds(100))  # from boot until a host says otherwise
    line.send(SetSettings("", 20, 255))
    line.expect(Settings)
    line.send(Led(0, LedPattern.ON))
    line.send(Led(1, LedPattern.OFF))
    line.send(Led(3, LedPattern.CONFIRM))
    line.send(Ping(1))
    line.expect(Pong)
    last_frame = time.monotonic()
    assert emu.measure_leds(200) == [0, 100, 100, 100]
    while time.monotonic() < last_frame + pc.CONFIRM_MS / 1000 + 0.2:
        time.sleep(0.05)
    assert 25 <= emu.measure_leds(300)[2] < 100  # CONFIRM is over: the IDLE glow
    while not _faint(duty := emu.measure_leds(100)):
        assert time.monotonic() - last_frame < pc.HOST_TIMEOUT_MS / 1000 + 0.5, duty
    assert time.monotonic() - last_frame >= pc.HOST_TIMEOUT_MS / 1000


def test_the_harness_refuses_a_bad_command_and_goes_on(emu):
    with pytest.raises(FirmwareError, match="the button must be from 1 to 4"):
        emu._command("press 9", lambda e: e["event"] == "press")
    with pytest.raises(FirmwareError, match="commands: press N"):
        emu._command("dance", lambda e: False)
    assert emu.press(4)["seq"] == 1


def test_missing_build_tools_are_named_with_their_apt_packages(monkeypatch):
    monkeypatch.setattr(emulator.shutil, "which", lambda tool: None)
    with pytest.raises(FirmwareError, match="gcc, gcc-avr, make not installed") as caught:
        build_firmware()
    assert "apt-get install gcc-avr avr-libc simavr libsimavr-dev" in str(caught.value)


# -- the protocol's numbers -----------------------------------------------------------


def _c_sources() -> list[Path]:
    files = sorted(FIRMWARE_DIR.glob("*.[ch]")) + sorted(FIRMWARE_DIR.glob("sim/*.c"))
    return [f for f in files if f.name != "protocol.h"]


def _code(path: Path) -> str:
    text = path.read_text()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return re.sub(r'"(\\.|[^"\\])*"', '""', text)


def test_the_firmware_takes_every_protocol_number_from_the_generated_header():
    # Numbers no firmware code has a reason to write but the protocol's.
    distinctive = {
        pc.BAUDRATE,
        pc.CRC_POLY,
        pc.CRC_CHECK,
        pc.MAX_ENCODED,
        pc.HELLO_RETRY_MS,
        pc.PING_INTERVAL_MS,
        pc.RETRANSMIT_MS,
        pc.CONFIRM_MS,
        pc.HOST_TIMEOUT_MS,
        pc.LINK_TIMEOUT_MS,
        pc.payload_length(MsgType.HELLO),
        pc.payload_length(MsgType.SETTINGS),
        # 0x90 is also a UTF-8 boundary that the label check needs
        *(t.value for t in MsgType if t.value >= 0x80 and t is not MsgType.BUTTON_EVENT),
    }
    header = (FIRMWARE_DIR / "protocol.h").read_text()
    defined = set(re.findall(r"#define (HL_\w+)", header))
    firmware = [f for f in _c_sources() if f.parent == FIRMWARE_DIR]
    for path in firmware:
        code = _code(path)
        for literal in re.findall(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\b", code):
            assert int(literal, 0) not in distinctive, f"{path.name}: {literal}"
        assert not re.search(r"#define\s+HL_", code), f"{path.name} defines a protocol name"
        used = set(re.findall(r"\bHL_\w+", code))
        assert used <= defined, f"{path.name}: {used - defined} not in protocol.h"
        own_header = path.with_suffix(".h")
        includes = path.read_text() + (own_header.read_text() if own_header.exists() else "")
        if used:
            assert '#include "protocol.h"' in includes, path.name
    uses = "".join(_code(f) for f in firmware)
    for name in ("HL_RETRANSMIT_MS", "HL_HOST_TIMEOUT_MS", "HL_CONFIRM_MS", "HL_BAUDRATE"):
        assert name in uses


# -- the hardware-free logic, compiled for the host ----------------------------------


class ButtonState(ctypes.Structure):
    _fields_ = [("down", ctypes.c_uint8), ("last_down", ctypes.c_uint16)]


class PendingEvent(ctypes.Structure):
    _fields_ = [
        ("seq", ctypes.c_uint32),
        ("last_sent_ms", ctypes.c_uint16),
        ("button", ctypes.c_uint8),
    ]


class EventRing(ctypes.Structure):
    _fields_ = [
        ("slot", PendingEvent * pc.EVENT_RING_SIZE),
        ("last_seq", ctypes.c_uint32),
        ("count", ctypes.c_uint8),
    ]


@pytest.fixture(scope="module")
def logic():
    lib = ctypes.CDLL(str(LOGIC_LIBRARY))
    lib.debounce_step.restype = ctypes.c_uint8
    lib.debounce_step.argtypes = [
        ctypes.POINTER(ButtonState),
        ctypes.c_uint8,
        ctypes.c_uint8,
        ctypes.c_uint16,
        ctypes.c_uint8,
    ]
    lib.events_add.restype = ctypes.c_uint8
    lib.events_add.argtypes = [ctypes.POINTER(EventRing), ctypes.c_uint8, ctypes.c_uint16]
    lib.events_ack.restype = ctypes.c_bool
    lib.events_ack.argtypes = [ctypes.POINTER(EventRing), ctypes.c_uint32]
    lib.events_next_due.restype = ctypes.c_uint8
    lib.events_next_due.argtypes = [
        ctypes.POINTER(EventRing),
        ctypes.c_uint8,
        ctypes.c_uint16,
        ctypes.c_uint16,
        ctypes.c_bool,
    ]
    return lib


def _debounce(logic, samples: list[tuple[int, int]], debounce_ms: int = 20, start: int = 0):
    """Feeds (ms, closed-mask) samples; returns (ms, pressed-mask) for each report."""
    table = (ButtonState * 4)()
    reports = []
    for ms, closed in samples:
        pressed = logic.debounce_step(table, 4, closed, (start + ms) & 0xFFFF, debounce_ms)
        if pressed:
            reports.append((ms, pressed))
    return reports


def _every_ms(frm: int, to: int, closed: int) -> list[tuple[int, int]]:
    return [(t, closed) for t in range(frm, to)]


@pytest.mark.parametrize("start", [0, 0xFFF0])  # and across the 16-bit clock's wrap
@pytest.mark.parametrize(
    "name, samples, reports",
    [
        ("the press is reported on the first closed sample", [(0, 0), (5, 1)], [(5, 1)]),
        (
            "bounce while pressing is one press",
            [(0, 1), (1, 0), (2, 1), (3, 0), (4, 1), *_every_ms(5, 60, 1)],
            [(0, 1)],
        ),
        ("a held button is one press", _every_ms(0, 5000, 1), [(0, 1)]),
        (
            "bounce on release (open less than the debounce time) is no new press",
            [*_every_ms(0, 50, 1), *_every_ms(50, 69, 0), *_every_ms(69, 75, 1)],
            [(0, 1)],
        ),
        (
            "a release that stayed open for the debounce time ends the press",
            [*_every_ms(0, 50, 1), *_every_ms(50, 70, 0), (70, 1)],
            [(0, 1), (70, 1)],
        ),
        (
            "buttons are independent",
            [(0, 0b0001), (3, 0b0101), (40, 0b0100), (61, 0b0000), (62, 0b1001)],
            [(0, 0b0001), (3, 0b0100), (62, 0b1001)],
        ),
    ],
)
def test_debounce_table(logic, name, samples, reports, start):
    assert _debounce(logic, samples, start=start) == reports, name


def test_the_debounce_time_is_the_settings_value(logic):
    samples = [*_every_ms(0, 10, 1), *_every_ms(10, 45, 0), (45, 1)]
    assert _debounce(logic, samples, debounce_ms=35) == [(0, 1), (45, 1)]
    assert _debounce(logic, samples, debounce_ms=36) == [(0, 1)]


def test_the_event_ring_keeps_32_presses_and_drops_the_33rd_unnumbered(logic):
    ring = EventRing()
    slots = [logic.events_add(ring, 1 + n % 4, n) for n in range(pc.EVENT_RING_SIZE)]
    assert sorted(slots) == list(range(pc.EVENT_RING_SIZE))
    assert logic.events_add(ring, 1, 100) == 0xFF  # full: dropped, never confirmed
    assert (ring.count, ring.last_seq) == (pc.EVENT_RING_SIZE, pc.EVENT_RING_SIZE)
    assert logic.events_ack(ring, 5) and not logic.events_ack(ring, 5)
    assert not logic.events_ack(ring, 0) and not logic.events_ack(ring, 99)
    slot = logic.events_add(ring, 3, 200)
    assert (ring.slot[slot].seq, ring.slot[slot].button) == (pc.EVENT_RING_SIZE + 1, 3)


def test_the_event_ring_says_which_presses_are_due_again(logic):
    ring = EventRing()
    logic.events_add(ring, 1, 0xFFF0)  # sent just before the 16-bit clock wraps
    logic.events_add(ring, 2, 100)

    def due(now: int, every: bool = False) -> list[int]:
        found, at = [], 0
        while (at := logic.events_next_due(ring, at, now & 0xFFFF, 500, every)) < 32:
            found.append(ring.slot[at].seq)
            at += 1
        return found

    assert due(0xFFF0 + 499) == []
    assert due(0xFFF0 + 500) == [1]
    assert due(600) == [1, 2]
    assert due(101, every=True) == [1, 2]  # a HELLO_REQUEST resends everything kept
    logic.events_ack(ring, 1)
    assert due(600) == [2]
