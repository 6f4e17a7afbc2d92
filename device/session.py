"""The host's side of one connection to a box, as a pure state machine.

It is given every decoded frame and the time (monotonic seconds) and answers with
a `Reaction`: what to send, presses to deliver, whether the box has (re)introduced
itself, and whether the link has failed. The driver does the I/O around it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from hailong.device.protocol import (
    BoxSettings,
    ButtonEvent,
    Error,
    FrameError,
    FrameErrorKind,
    Hello,
    HelloRequest,
    Message,
    Ping,
    SetSettings,
    Settings,
)
from hailong.device.protocol_constants import (
    HANDSHAKE_TIMEOUT_MS,
    HELLO_PROTOCOL_OFFSET,
    HELLO_RETRY_MS,
    LINK_TIMEOUT_MS,
    PING_INTERVAL_MS,
)

HELLO_RETRY_S = HELLO_RETRY_MS / 1000
PING_INTERVAL_S = PING_INTERVAL_MS / 1000
LINK_TIMEOUT_S = LINK_TIMEOUT_MS / 1000
HANDSHAKE_TIMEOUT_S = HANDSHAKE_TIMEOUT_MS / 1000


@dataclass(frozen=True)
class BoxInfo:
    protocol: int
    model: str
    firmware: str
    serial: str
    buttons: int
    boot_nonce: int


@dataclass(frozen=True)
class BoxPress:
    """One press as the box numbered it; (serial, boot_nonce, seq) identifies it for ever."""

    serial: str
    boot_nonce: int
    seq: int
    button: int  # 1-based


class FailureKind(enum.Enum):
    NO_HELLO = "no_hello"  # the port is open but nothing answers like a rating box
    SILENT = "silent"  # a box that answered went quiet
    UNSUPPORTED_VERSION = "unsupported_version"


@dataclass(frozen=True)
class Failure:
    kind: FailureKind
    detail: str
    version: int | None = None


@dataclass
class Reaction:
    send: list[Message] = field(default_factory=list)
    presses: list[BoxPress] = field(default_factory=list)
    connected: BoxInfo | None = None  # set when the box introduced itself (again)
    failure: Failure | None = None
    box_errors: list[str] = field(default_factory=list)

    def extend(self, other: Reaction) -> Reaction:
        self.send += other.send
        self.presses += other.presses
        self.connected = other.connected or self.connected
        self.failure = self.failure or other.failure
        self.box_errors += other.box_errors
        return self


class HostSession:
    def __init__(
        self,
        now: float,
        settings: BoxSettings | None = None,
        handshake_timeout_s: float = HANDSHAKE_TIMEOUT_S,
    ) -> None:
        self.info: BoxInfo | None = None
        self.box_settings: BoxSettings | None = None
        self._settings = settings
        self._settings_pending = False
        self._opened = now
        self._handshake_timeout_s = handshake_timeout_s
        self._last_rx = now
        self._next_hello = now
        self._next_ping = now
        self._next_settings = now
        self._want_hello = True
        self._token = 0

    def poll(self, now: float) -> Reaction:
        """Timers: handshake retries, pings, settings retries, and the liveness check."""
        r = Reaction()
        if self.info is None and now - self._opened >= self._handshake_timeout_s:
            r.failure = Failure(
                FailureKind.NO_HELLO,
                f"no HELLO within {self._handshake_timeout_s:g} s",
            )
            return r
        if self.info is not None and now - self._last_rx >= LINK_TIMEOUT_S:
            r.failure = Failure(FailureKind.SILENT, f"nothing received for {LINK_TIMEOUT_S:g} s")
            return r
        if self._want_hello and now >= self._next_hello:
            r.send.append(HelloRequest())
            self._next_hello = now + HELLO_RETRY_S
        if self.info is not None and now >= self._next_ping:
            self._token = (self._token + 1) & 0xFFFFFFFF
            r.send.append(Ping(self._token))
            self._next_ping = now + PING_INTERVAL_S
        if self._settings_pending and self._settings and now >= self._next_settings:
            s = self._settings
            r.send.append(SetSettings(s.label, s.debounce_ms, s.led_brightness))
            self._next_settings = now + HELLO_RETRY_S
        return r

    def receive(self, item: Message | FrameError, now: float) -> Reaction:
        """What a received frame means; sending is left to the next `poll`."""
        r = Reaction()
        if isinstance(item, FrameError):
            if item.kind is FrameErrorKind.UNSUPPORTED_VERSION:
                r.failure = Failure(
                    FailureKind.UNSUPPORTED_VERSION,
                    item.detail,
                    item.payload[HELLO_PROTOCOL_OFFSET],
                )
            return r
        if item.TYPE < 0x80:
            return r  # our own frame echoed back is not a sign of a box
        self._last_rx = now
        match item:
            case Hello():
                self._hello(item, now, r)
            case ButtonEvent():
                self._button(item, now, r)
            case Settings():
                self.box_settings = item.values()
                self._settings_pending = False
            case Error():
                r.box_errors.append(
                    f"the box rejected a frame: {item.code.name} (type {item.ref_type:#04x})"
                )
        return r

    def _hello(self, hello: Hello, now: float, r: Reaction) -> None:
        info = BoxInfo(
            protocol=hello.protocol,
            model=hello.model,
            firmware=hello.firmware,
            serial=hello.serial,
            buttons=hello.buttons,
            boot_nonce=hello.boot_nonce,
        )
        self._want_hello = False
        if info == self.info:
            return
        # First contact or a reboot: settings may have to be written again.
        self.info = info
        r.connected = info
        self._next_ping = now
        self._settings_pending = self._settings is not None
        self._next_settings = now

    def _button(self, event: ButtonEvent, now: float, r: Reaction) -> None:
        info = self.info
        if info is None or event.button > info.buttons:
            return  # before HELLO we cannot name the box; it will send the press again
        if event.boot_nonce != info.boot_nonce:
            # The box rebooted and its HELLO was lost: the event names its own boot, so
            # it is delivered as is, and HELLO is asked for to refresh the info.
            self._want_hello = True
            self._next_hello = now
        r.presses.append(BoxPress(info.serial, event.boot_nonce, event.seq, event.button))
