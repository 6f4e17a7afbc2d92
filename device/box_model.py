"""What a rating box does, as a pure state machine: the simulator's core and the
reference the firmware follows (times are passed in, in milliseconds).

Every reaction is an `Outcome`: the messages the box sends and the events a
simulator reports (one dict per thing sent or received, each with an `event` key).
Settings live in "EEPROM" and survive `boot()`; the ring of unacknowledged presses
lives in RAM and does not, as on the real box.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from hailong.device.protocol import (
    Ack,
    BoxSettings,
    ButtonEvent,
    Error,
    FrameError,
    GetSettings,
    Hello,
    HelloRequest,
    Led,
    Message,
    Ping,
    Pong,
    SetSettings,
    Settings,
    encode_payload,
)
from hailong.device.protocol_constants import (
    ALL_BUTTONS,
    CONFIRM_MS,
    EVENT_RING_SIZE,
    HOST_TIMEOUT_MS,
    PROTOCOL_VERSION,
    RETRANSMIT_MS,
    ErrorCode,
    LedPattern,
)

Event = dict[str, object]


@dataclass
class Outcome:
    send: list[Message] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def extend(self, other: Outcome) -> Outcome:
        self.send += other.send
        self.events += other.events
        return self


@dataclass
class _Pending:
    button: int
    last_sent_ms: int


class BoxModel:
    def __init__(
        self,
        *,
        serial: str,
        buttons: int,
        model: str = "hailong-sim",
        firmware: str = "sim-1",
        protocol: int = PROTOCOL_VERSION,
        settings: BoxSettings | None = None,
    ) -> None:
        self.serial = serial
        self.buttons = buttons
        self.model = model
        self.firmware = firmware
        self.protocol = protocol
        self.settings = settings or BoxSettings()
        self.boot_nonce = 0
        self.leds: dict[int, LedPattern] = {}
        self.host_present = False
        self._seq = 0
        self._pending: OrderedDict[int, _Pending] = OrderedDict()
        self._held_until: dict[int, int] = {}
        self._confirm_until: dict[int, int] = {}
        self._last_rx_ms = 0
        encode_payload(self._hello(0))  # rejects a serial, model or firmware too long to send

    @property
    def pending(self) -> list[int]:
        """Sequence numbers still waiting for an acknowledgement, oldest first."""
        return list(self._pending)

    def boot(self, nonce: int, now_ms: int) -> Outcome:
        self.boot_nonce = nonce
        self._seq = 0
        self._pending.clear()
        self._held_until.clear()
        self._confirm_until.clear()
        self.leds = dict.fromkeys(range(1, self.buttons + 1), LedPattern.DISABLED)
        self.host_present = False
        self._last_rx_ms = now_ms
        hello = self._hello(nonce)
        return Outcome([hello], [{"event": "boot", "boot_nonce": nonce}, _hello_event(hello)])

    def press(self, button: int, now_ms: int) -> Outcome:
        self._check_button(button)
        if button in self._held_until:
            return Outcome(events=[{"event": "ignored", "button": button, "reason": "held"}])
        if len(self._pending) >= EVENT_RING_SIZE:
            # No room to keep it means no way to guarantee it: drop it unconfirmed.
            return Outcome(events=[{"event": "ring_full", "button": button}])
        self._seq += 1
        self._pending[self._seq] = _Pending(button, now_ms)
        event = ButtonEvent(self.boot_nonce, self._seq, button)
        return Outcome(
            [event],
            [{"event": "press", "button": button, "seq": self._seq, "boot_nonce": self.boot_nonce}],
        )

    def hold(self, button: int, ms: int, now_ms: int) -> Outcome:
        """Press and keep the button down: one event at once, the release `ms` later."""
        outcome = self.press(button, now_ms)
        self._held_until[button] = now_ms + ms
        outcome.events.append({"event": "hold", "button": button, "ms": ms})
        return outcome

    def receive(self, item: Message | FrameError, now_ms: int) -> Outcome:
        if isinstance(item, FrameError):
            error = Error(item.kind.error_code, item.ref_type)
            return Outcome(
                [error],
                [
                    {"event": "frame_error", "kind": item.kind.value, "detail": item.detail},
                    _error_event(error),
                ],
            )
        outcome = Outcome()
        self._last_rx_ms = now_ms
        if not self.host_present:
            self.host_present = True
            outcome.events.append({"event": "host_back"})
        return outcome.extend(self._handle(item, now_ms))

    def tick(self, now_ms: int) -> Outcome:
        outcome = Outcome()
        for seq, pending in self._pending.items():
            if now_ms - pending.last_sent_ms >= RETRANSMIT_MS:
                outcome.extend(self._resend(seq, pending, now_ms))
        for button, until in list(self._held_until.items()):
            if now_ms >= until:
                del self._held_until[button]
                outcome.events.append({"event": "release", "button": button})
        for button, until in list(self._confirm_until.items()):
            if now_ms >= until:
                del self._confirm_until[button]
                self.leds[button] = LedPattern.IDLE
        if self.host_present and now_ms - self._last_rx_ms >= HOST_TIMEOUT_MS:
            self.host_present = False
            self.leds = dict.fromkeys(self.leds, LedPattern.DISABLED)
            outcome.events.append({"event": "host_lost"})
        return outcome

    def next_deadline_ms(self) -> int | None:
        deadlines = [p.last_sent_ms + RETRANSMIT_MS for p in self._pending.values()]
        deadlines += self._held_until.values()
        deadlines += self._confirm_until.values()
        if self.host_present:
            deadlines.append(self._last_rx_ms + HOST_TIMEOUT_MS)
        return min(deadlines, default=None)

    def _handle(self, msg: Message, now_ms: int) -> Outcome:
        match msg:
            case HelloRequest():
                hello = self._hello(self.boot_nonce)
                outcome = Outcome([hello], [{"event": "hello_request"}, _hello_event(hello)])
                # A host that just (re)connected gets what it missed without waiting.
                for seq, pending in self._pending.items():
                    outcome.extend(self._resend(seq, pending, now_ms))
                return outcome
            case Ping(token=token):
                pong = Pong(token, min(len(self._pending), 255))
                return Outcome(
                    [pong],
                    [
                        {"event": "ping", "token": token},
                        {"event": "pong", "token": token, "pending": pong.pending},
                    ],
                )
            case Ack(boot_nonce=nonce, seq=seq):
                if nonce == self.boot_nonce and self._pending.pop(seq, None) is not None:
                    return Outcome(events=[{"event": "ack", "seq": seq, "boot_nonce": nonce}])
                return Outcome(events=[{"event": "ack_ignored", "seq": seq, "boot_nonce": nonce}])
            case Led(button=button, pattern=pattern):
                return self._led(msg, button, pattern, now_ms)
            case SetSettings():
                stored = msg.values() != self.settings
                self.settings = msg.values()  # the firmware writes EEPROM only when it changed
                return self._settings_reply("settings", stored)
            case GetSettings():
                return self._settings_reply("get_settings", False)
            case _:
                error = Error(ErrorCode.UNKNOWN_TYPE, msg.TYPE)
                return Outcome(
                    [error], [{"event": "unexpected", "type": msg.TYPE.name}, _error_event(error)]
                )

    def _led(self, msg: Led, button: int, pattern: LedPattern, now_ms: int) -> Outcome:
        if button > self.buttons:
            error = Error(ErrorCode.BAD_VALUE, msg.TYPE)
            rejected = {"event": "led_rejected", "button": button}
            return Outcome([error], [rejected, _error_event(error)])
        targets = list(self.leds) if button == ALL_BUTTONS else [button]
        for b in targets:
            self.leds[b] = pattern
            if pattern is LedPattern.CONFIRM:
                self._confirm_until[b] = now_ms + CONFIRM_MS
            else:
                self._confirm_until.pop(b, None)
        return Outcome(events=[{"event": "led", "button": button, "pattern": pattern.name.lower()}])

    def _settings_reply(self, name: str, stored: bool) -> Outcome:
        s = self.settings
        reply = Settings(s.label, s.debounce_ms, s.led_brightness)
        event: Event = {
            "event": name,
            "label": s.label,
            "debounce_ms": s.debounce_ms,
            "led_brightness": s.led_brightness,
            "stored": stored,
        }
        return Outcome([reply], [event])

    def _resend(self, seq: int, pending: _Pending, now_ms: int) -> Outcome:
        pending.last_sent_ms = now_ms
        return Outcome(
            [ButtonEvent(self.boot_nonce, seq, pending.button)],
            [{"event": "retransmit", "button": pending.button, "seq": seq}],
        )

    def _hello(self, nonce: int) -> Hello:
        return Hello(self.protocol, self.buttons, nonce, self.model, self.firmware, self.serial)

    def _check_button(self, button: int) -> None:
        if not 1 <= button <= self.buttons:
            raise ValueError(f"button must be from 1 to {self.buttons}, got {button}")


def _hello_event(hello: Hello) -> Event:
    return {
        "event": "hello_sent",
        "protocol": hello.protocol,
        "serial": hello.serial,
        "buttons": hello.buttons,
        "boot_nonce": hello.boot_nonce,
    }


def _error_event(error: Error) -> Event:
    return {"event": "error_sent", "code": error.code.name.lower(), "ref_type": error.ref_type}
