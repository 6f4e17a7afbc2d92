"""The rating-box wire protocol, as pure functions and values (no serial port, no clock).

A frame on the line is `00 | COBS(payload || CRC16) | 00`: COBS removes every zero
from the body so 0x00 only ever marks a frame boundary, which lets a receiver that
joined mid-frame or saw garbage resynchronise at the next zero. The CRC is
CRC-16/CCITT-FALSE, sent high byte first, so the CRC over payload and CRC is 0.
The leading delimiter ends any garbage the line carried before the frame, so the
frame itself is not lost with it. See docs/device-protocol.md.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass, fields
from enum import Enum
from typing import ClassVar

from hailong.device.protocol_constants import (
    CRC_INIT,
    CRC_LEN,
    DEBOUNCE_MS_DEFAULT,
    DEBOUNCE_MS_MAX,
    DEBOUNCE_MS_MIN,
    FRAME_DELIMITER,
    HELLO_PROTOCOL_OFFSET,
    LABEL_LEN,
    LAYOUTS,
    LED_BRIGHTNESS_DEFAULT,
    MAX_BUTTONS,
    MAX_ENCODED,
    MAX_PAYLOAD,
    PROTOCOL_VERSION,
    ErrorCode,
    LedPattern,
    MsgType,
)

_DELIM = bytes([FRAME_DELIMITER])
_STRUCT_CODES = {"u8": "B", "u16": "H", "u32": "I"}


def crc16(data: bytes, crc: int = CRC_INIT) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor)."""
    return binascii.crc_hqx(data, crc)


class CobsError(ValueError):
    pass


def cobs_encode(data: bytes) -> bytes:
    out = bytearray()
    blocks = data.split(_DELIM)
    for i, block in enumerate(blocks):
        while len(block) >= 254:
            out.append(0xFF)  # 254 bytes and no zero after them
            out += block[:254]
            block = block[254:]
            if not block and i == len(blocks) - 1:
                return bytes(out)
        out.append(len(block) + 1)
        out += block
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        if code == 0:
            raise CobsError("zero byte inside a frame")
        end = i + code
        if end > n:
            raise CobsError(f"code byte {code} at {i} runs past the end ({n} bytes)")
        block = data[i + 1 : end]
        if FRAME_DELIMITER in block:
            raise CobsError("zero byte inside a frame")
        out += block
        i = end
        if code < 0xFF and i < n:
            out.append(0)
    return bytes(out)


# ---------------------------------------------------------------------------
# Messages. Field names match protocol_constants.LAYOUTS exactly.


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}, got {value!r}")


def _check_text(name: str, value: str, size: int) -> None:
    encoded = value.encode("utf-8")
    if len(encoded) > size or "\0" in value:
        raise ValueError(f"{name} must be at most {size} bytes of UTF-8 without NUL, got {value!r}")


@dataclass(frozen=True)
class BoxSettings:
    """What the box keeps in EEPROM: a label for technicians, debounce time, LED brightness."""

    label: str = ""
    debounce_ms: int = DEBOUNCE_MS_DEFAULT
    led_brightness: int = LED_BRIGHTNESS_DEFAULT

    def __post_init__(self) -> None:
        _check_text("label", self.label, LABEL_LEN)
        _check_range("debounce_ms", self.debounce_ms, DEBOUNCE_MS_MIN, DEBOUNCE_MS_MAX)
        _check_range("led_brightness", self.led_brightness, 0, 255)

    def values(self) -> BoxSettings:
        """The plain settings of this value (drops the message type of a subclass)."""
        return BoxSettings(self.label, self.debounce_ms, self.led_brightness)


@dataclass(frozen=True)
class HelloRequest:
    TYPE: ClassVar[MsgType] = MsgType.HELLO_REQUEST


@dataclass(frozen=True)
class Hello:
    TYPE: ClassVar[MsgType] = MsgType.HELLO
    protocol: int
    buttons: int
    boot_nonce: int
    model: str
    firmware: str
    serial: str

    def __post_init__(self) -> None:
        _check_range("buttons", self.buttons, 1, MAX_BUTTONS)


@dataclass(frozen=True)
class Ping:
    TYPE: ClassVar[MsgType] = MsgType.PING
    token: int


@dataclass(frozen=True)
class Pong:
    TYPE: ClassVar[MsgType] = MsgType.PONG
    token: int
    pending: int  # unacknowledged presses the box holds


@dataclass(frozen=True)
class Ack:
    TYPE: ClassVar[MsgType] = MsgType.ACK
    boot_nonce: int
    seq: int


@dataclass(frozen=True)
class ButtonEvent:
    TYPE: ClassVar[MsgType] = MsgType.BUTTON_EVENT
    boot_nonce: int
    seq: int
    button: int  # 1-based

    def __post_init__(self) -> None:
        _check_range("seq", self.seq, 1, 0xFFFFFFFF)
        _check_range("button", self.button, 1, MAX_BUTTONS)


@dataclass(frozen=True)
class Led:
    TYPE: ClassVar[MsgType] = MsgType.LED
    button: int  # 1-based, or ALL_BUTTONS (0)
    pattern: LedPattern

    def __post_init__(self) -> None:
        _check_range("button", self.button, 0, MAX_BUTTONS)
        object.__setattr__(self, "pattern", LedPattern(self.pattern))


@dataclass(frozen=True)
class SetSettings(BoxSettings):
    TYPE: ClassVar[MsgType] = MsgType.SET_SETTINGS


@dataclass(frozen=True)
class GetSettings:
    TYPE: ClassVar[MsgType] = MsgType.GET_SETTINGS


@dataclass(frozen=True)
class Settings(BoxSettings):
    TYPE: ClassVar[MsgType] = MsgType.SETTINGS


@dataclass(frozen=True)
class Error:
    TYPE: ClassVar[MsgType] = MsgType.ERROR
    code: ErrorCode
    ref_type: int  # the type byte of the rejected frame, 0 when unknown

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", ErrorCode(self.code))


Message = (
    HelloRequest
    | Hello
    | Ping
    | Pong
    | Ack
    | ButtonEvent
    | Led
    | SetSettings
    | GetSettings
    | Settings
    | Error
)

MESSAGE_CLASSES: dict[MsgType, type[Message]] = {
    cls.TYPE: cls
    for cls in (
        HelloRequest,
        Hello,
        Ping,
        Pong,
        Ack,
        ButtonEvent,
        Led,
        SetSettings,
        GetSettings,
        Settings,
        Error,
    )
}

_STRUCTS = {
    t: struct.Struct("<B" + "".join(_STRUCT_CODES.get(f.kind, f"{f.size}s") for f in layout))
    for t, layout in LAYOUTS.items()
}


class FrameErrorKind(Enum):
    COBS = "cobs"
    CRC = "crc"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    UNKNOWN_TYPE = "unknown_type"
    BAD_LENGTH = "bad_length"
    BAD_VALUE = "bad_value"
    UNSUPPORTED_VERSION = "unsupported_version"

    @property
    def error_code(self) -> ErrorCode:
        """What a box answers in an ERROR message for a frame rejected this way."""
        return {
            FrameErrorKind.UNKNOWN_TYPE: ErrorCode.UNKNOWN_TYPE,
            FrameErrorKind.BAD_LENGTH: ErrorCode.BAD_LENGTH,
            FrameErrorKind.BAD_VALUE: ErrorCode.BAD_VALUE,
        }.get(self, ErrorCode.BAD_FRAME)


@dataclass(frozen=True)
class FrameError:
    """A frame that could not be turned into a message; the decoder has moved past it."""

    kind: FrameErrorKind
    detail: str
    payload: bytes = b""  # the CRC-checked payload when the error is in its content

    @property
    def ref_type(self) -> int:
        return self.payload[0] if self.payload else 0


def encode_payload(msg: Message) -> bytes:
    values: list[int | bytes] = []
    for f in LAYOUTS[msg.TYPE]:
        value = getattr(msg, f.name)
        if f.kind == "str":
            _check_text(f.name, value, f.size)
            values.append(value.encode("utf-8"))
        else:
            values.append(int(value))
    try:
        return _STRUCTS[msg.TYPE].pack(int(msg.TYPE), *values)
    except struct.error as exc:
        raise ValueError(f"{type(msg).__name__}: {exc}") from exc


def decode_payload(payload: bytes) -> Message | FrameError:
    if not payload:
        return FrameError(FrameErrorKind.TOO_SHORT, "empty payload", payload)
    try:
        msg_type = MsgType(payload[0])
    except ValueError:
        return FrameError(
            FrameErrorKind.UNKNOWN_TYPE, f"unknown message type 0x{payload[0]:02x}", payload
        )
    if (
        msg_type is MsgType.HELLO
        and len(payload) > HELLO_PROTOCOL_OFFSET
        and payload[HELLO_PROTOCOL_OFFSET] != PROTOCOL_VERSION
    ):
        version = payload[HELLO_PROTOCOL_OFFSET]
        return FrameError(
            FrameErrorKind.UNSUPPORTED_VERSION,
            f"box speaks protocol {version}, this host speaks {PROTOCOL_VERSION}",
            payload,
        )
    layout = _STRUCTS[msg_type]
    if len(payload) != layout.size:
        return FrameError(
            FrameErrorKind.BAD_LENGTH,
            f"{msg_type.name} is {layout.size} bytes, got {len(payload)}",
            payload,
        )
    cls = MESSAGE_CLASSES[msg_type]
    kwargs: dict[str, int | str] = {}
    try:
        for f, value in zip(LAYOUTS[msg_type], layout.unpack(payload)[1:], strict=True):
            kwargs[f.name] = value.rstrip(b"\0").decode("utf-8") if f.kind == "str" else value
        return cls(**kwargs)
    except ValueError as exc:
        return FrameError(FrameErrorKind.BAD_VALUE, f"{msg_type.name}: {exc}", payload)


def encode_frame(msg: Message) -> bytes:
    payload = encode_payload(msg)
    body = payload + crc16(payload).to_bytes(CRC_LEN, "big")
    return _DELIM + cobs_encode(body) + _DELIM


def decode_frame(encoded: bytes) -> Message | FrameError:
    """Decode one frame's bytes between two delimiters."""
    try:
        body = cobs_decode(encoded)
    except CobsError as exc:
        return FrameError(FrameErrorKind.COBS, str(exc))
    if len(body) < 1 + CRC_LEN:
        return FrameError(FrameErrorKind.TOO_SHORT, f"{len(body)} bytes is too short for a frame")
    if crc16(body) != 0:
        return FrameError(FrameErrorKind.CRC, "CRC mismatch")
    payload = body[:-CRC_LEN]
    if len(payload) > MAX_PAYLOAD:
        return FrameError(FrameErrorKind.TOO_LONG, f"payload of {len(payload)} bytes", payload)
    return decode_payload(payload)


class FrameDecoder:
    """Turns a byte stream into messages and frame errors, whatever the line carries.

    Bytes accumulate until a delimiter; a frame longer than any valid one is
    reported once and the rest of it skipped up to the next delimiter. Empty frames
    (two delimiters in a row) are the normal gap between frames and yield nothing.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._skipping = False

    def feed(self, data: bytes) -> list[Message | FrameError]:
        out: list[Message | FrameError] = []
        start = 0
        while start <= len(data):
            end = data.find(_DELIM, start)
            chunk = data[start:] if end < 0 else data[start:end]
            if not self._skipping:
                self._buf += chunk
                if len(self._buf) > MAX_ENCODED:
                    out.append(
                        FrameError(
                            FrameErrorKind.TOO_LONG, f"no delimiter within {MAX_ENCODED} bytes"
                        )
                    )
                    self._buf.clear()
                    self._skipping = True
            if end < 0:
                break
            if self._buf:
                out.append(decode_frame(bytes(self._buf)))
                self._buf.clear()
            self._skipping = False
            start = end + 1
        return out


def message_fields(msg: Message) -> dict[str, int | str]:
    """The fields of a message as plain JSON-able values (enums by their lowercase name)."""
    out: dict[str, int | str] = {}
    for f in fields(msg):
        value = getattr(msg, f.name)
        out[f.name] = value.name.lower() if isinstance(value, Enum) else value
    return out
