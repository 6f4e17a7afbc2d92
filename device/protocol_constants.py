"""Every number the host and the box firmware must agree on, in one place.

`device/firmware/protocol.h` is generated from this module (`python -m
hailong.device.gen_header`) and a test proves the committed header matches, so a
change here that is not carried to the firmware fails the suite.

Payload layouts are given as offsets from the start of the payload: byte 0 is
the message type, the fields follow, little-endian, strings NUL-padded UTF-8.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

PROTOCOL_VERSION = 1
BAUDRATE = 115200

# Framing: COBS-encoded (payload || CRC-16 big-endian), delimited by 0x00.
FRAME_DELIMITER = 0x00
CRC_INIT = 0xFFFF
CRC_POLY = 0x1021
CRC_CHECK = 0x29B1  # CRC-16/CCITT-FALSE of b"123456789"
CRC_LEN = 2
MAX_PAYLOAD = 64  # message type + fields, without the CRC
# COBS adds one byte per 254 (and at least one); a payload this short needs exactly one.
MAX_ENCODED = MAX_PAYLOAD + CRC_LEN + 1

# Sizes of the fixed string fields, in bytes of UTF-8 (NUL-padded, no terminator needed).
MODEL_LEN = 16
FIRMWARE_LEN = 12
SERIAL_LEN = 20  # an Arduino's USB serial number is 20 hex digits
LABEL_LEN = 24

MAX_BUTTONS = 8
ALL_BUTTONS = 0  # the `button` of an LED command that addresses every button
EVENT_RING_SIZE = 32  # unacknowledged presses the box keeps
DEBOUNCE_MS_MIN = 1
DEBOUNCE_MS_MAX = 200
DEBOUNCE_MS_DEFAULT = 20
LED_BRIGHTNESS_DEFAULT = 200

# Timing, in milliseconds.
HELLO_RETRY_MS = 200  # host: HELLO_REQUEST interval until HELLO arrives
HANDSHAKE_TIMEOUT_MS = 3000  # host: give up on a port that does not answer (a reset Uno boots ~2 s)
PING_INTERVAL_MS = 250  # host: PING interval while connected
LINK_TIMEOUT_MS = 1500  # host: no valid frame for this long = box gone
RETRANSMIT_MS = 500  # box: resend an unacknowledged press after this long
HOST_TIMEOUT_MS = 3000  # box: no valid frame for this long = host gone, LEDs to DISABLED
CONFIRM_MS = 1500  # box: how long the CONFIRM pattern shows before returning to IDLE


class MsgType(IntEnum):
    """Host-to-box types are below 0x80; box-to-host types have the high bit set."""

    HELLO_REQUEST = 0x01
    PING = 0x02
    ACK = 0x03
    LED = 0x04
    SET_SETTINGS = 0x05
    GET_SETTINGS = 0x06
    HELLO = 0x81
    PONG = 0x82
    SETTINGS = 0x86
    BUTTON_EVENT = 0x90
    ERROR = 0xEE


class LedPattern(IntEnum):
    OFF = 0
    ON = 1
    CONFIRM = 2
    IDLE = 3
    DISABLED = 4
    ERROR = 5


class ErrorCode(IntEnum):
    """Why the box rejected a frame (sent in an ERROR message)."""

    BAD_FRAME = 1  # COBS or CRC check failed
    UNKNOWN_TYPE = 2
    BAD_LENGTH = 3
    BAD_VALUE = 4


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # "u8", "u16", "u32" or "str"
    size: int


def _u8(name: str) -> Field:
    return Field(name, "u8", 1)


def _u32(name: str) -> Field:
    return Field(name, "u32", 4)


def _str(name: str, size: int) -> Field:
    return Field(name, "str", size)


_SETTINGS_FIELDS = (_u8("debounce_ms"), _u8("led_brightness"), _str("label", LABEL_LEN))

# The fields after the type byte, in order. Every message has exactly this length.
LAYOUTS: dict[MsgType, tuple[Field, ...]] = {
    MsgType.HELLO_REQUEST: (),
    MsgType.PING: (_u32("token"),),
    MsgType.ACK: (_u32("boot_nonce"), _u32("seq")),
    MsgType.LED: (_u8("button"), _u8("pattern")),
    MsgType.SET_SETTINGS: _SETTINGS_FIELDS,
    MsgType.GET_SETTINGS: (),
    MsgType.HELLO: (
        _u8("protocol"),
        _u8("buttons"),
        _u32("boot_nonce"),
        _str("model", MODEL_LEN),
        _str("firmware", FIRMWARE_LEN),
        _str("serial", SERIAL_LEN),
    ),
    MsgType.PONG: (_u32("token"), _u8("pending")),
    MsgType.SETTINGS: _SETTINGS_FIELDS,
    MsgType.BUTTON_EVENT: (_u32("boot_nonce"), _u32("seq"), _u8("button")),
    MsgType.ERROR: (_u8("code"), _u8("ref_type")),
}

# The protocol version is the first field of HELLO in every version, so a host can
# name the version of a box it cannot talk to.
HELLO_PROTOCOL_OFFSET = 1


def payload_length(msg_type: MsgType) -> int:
    return 1 + sum(f.size for f in LAYOUTS[msg_type])


def field_offsets(msg_type: MsgType) -> list[tuple[Field, int]]:
    offsets, at = [], 1
    for f in LAYOUTS[msg_type]:
        offsets.append((f, at))
        at += f.size
    return offsets
