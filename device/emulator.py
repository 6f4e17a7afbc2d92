"""The real firmware image, run in simavr behind a pseudo-terminal.

`build_firmware()` builds `device/firmware/` with Debian's gcc-avr and simavr
(`make -C device/firmware`, incremental). `EmulatedBox` starts the harness
(`build/hailong-box-sim`), which runs the firmware in real time and exposes its UART
as a pty under a link path, and turns the harness's JSON lines into events with the
vocabulary of the simulator (`press`, `retransmit`, `ack`, `led`, `settings`,
`hello_sent`, `boot`, `dropped`, `corrupted`, ...): the harness reports every frame
the box sends ("tx") and receives ("rx") as hex, and this module decodes them with
`hailong.device.protocol`. What the box *did* is read off its own transmissions (a
new `seq` is a press, an old one a retransmission, a new nonce in HELLO a boot); an
`ack` is an ACK for a press the box had sent and that was not yet acknowledged.

The source directory is found next to this module, which suits a development
(editable) install, where the firmware is built and tested.
"""

from __future__ import annotations

import collections
import contextlib
import json
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from hailong.device.event_log import EventLog
from hailong.device.protocol import (
    Ack,
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
    decode_frame,
)
from hailong.device.protocol_constants import MsgType
from hailong.i18n import _

FIRMWARE_DIR = Path(__file__).resolve().parent / "firmware"
BUILD_DIR = FIRMWARE_DIR / "build"
HARNESS = BUILD_DIR / "hailong-box-sim"
FIRMWARE_ELF = BUILD_DIR / "hailong-box.elf"
SELFTEST_ELF = BUILD_DIR / "hailong-selftest.elf"
LOGIC_LIBRARY = BUILD_DIR / "libhailong-logic.so"
APT_PACKAGES = "gcc-avr avr-libc simavr libsimavr-dev libsimavrparts1 libelf-dev make gcc"
DEFAULT_SERIAL = "HLFW0001"
BUTTONS = 4  # the firmware's BUTTON_COUNT (PD2..PD5)

_BUILD_TIMEOUT_S = 180.0
_START_TIMEOUT_S = 5.0
_COMMAND_TIMEOUT_S = 3.0
# A press waits its turn while the same button is still down or bouncing (the harness
# leaves 250 ms after a release, above the longest debounce time).
_PRESS_TIMEOUT_S = 3.0
_REQUIRED_FILES = {
    "/usr/include/simavr/sim_avr.h": "libsimavr-dev",
    "/usr/include/simavr/avr/avr_mcu_section.h": "libsimavr-dev",
    "/usr/lib/avr/include/util/crc16.h": "avr-libc",
}
_REQUIRED_TOOLS = {"make": "make", "avr-gcc": "gcc-avr", "gcc": "gcc"}
_build_lock = threading.Lock()

Event = dict[str, object]


class FirmwareError(RuntimeError):
    """The firmware or its emulator cannot be built or run; the message is for people."""


def missing_packages() -> list[str]:
    """The Debian packages whose files the build needs and cannot find."""
    missing = [pkg for tool, pkg in _REQUIRED_TOOLS.items() if shutil.which(tool) is None]
    missing += [pkg for path, pkg in _REQUIRED_FILES.items() if not Path(path).exists()]
    return sorted(set(missing))


def build_firmware() -> None:
    """Builds the firmware, the self-test image, the harness and the host logic library."""
    missing = missing_packages()
    if missing:
        raise FirmwareError(
            _(
                "Cannot build the box firmware: {missing} not installed. "
                "Install with: apt-get install {packages}"
            ).format(missing=", ".join(missing), packages=APT_PACKAGES)
        )
    with _build_lock:
        try:
            done = subprocess.run(
                ["make", "-s", "-C", str(FIRMWARE_DIR)],
                capture_output=True,
                text=True,
                timeout=_BUILD_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired as exc:
            raise FirmwareError(_("Building the box firmware took too long.")) from exc
    if done.returncode != 0:
        raise FirmwareError(
            _("Building the box firmware failed:\n{output}").format(
                output=(done.stdout + done.stderr)[-3000:]
            )
        )


class EmulatedBox:
    """The firmware in simavr on a pty at `link`; the same commands as `Simulator`."""

    def __init__(
        self,
        *,
        link: str | Path,
        serial: str = DEFAULT_SERIAL,
        drop: float = 0.0,
        corrupt: float = 0.0,
        seed: int | None = None,
        firmware: Path = FIRMWARE_ELF,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        for name, pct in (("drop", drop), ("corrupt", corrupt)):
            if not 0 <= pct <= 100:
                raise ValueError(f"{name} must be a percentage from 0 to 100, got {pct}")
        self.link = Path(link)
        self.serial = serial
        self.buttons = BUTTONS
        self.firmware = Path(firmware)
        self._log = EventLog("emulator")
        self.events = self._log.events
        self._options = ["--drop", str(drop), "--corrupt", str(corrupt)]
        if seed is not None:
            self._options += ["--seed", str(seed)]
        self._on_event = on_event
        self._proc: subprocess.Popen | None = None
        self._stderr: collections.deque[str] = collections.deque(maxlen=20)
        self._nonce: int | None = None
        self._seen: set[tuple[int, int]] = set()
        self._pending: set[tuple[int, int]] = set()
        self._settings_requests: collections.deque[str] = collections.deque()

    @property
    def path(self) -> str:
        return str(self.link)

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> str:
        """Builds if needed, starts the harness, and returns once the box said HELLO."""
        build_firmware()
        if self.link.exists() and not self.link.is_symlink():
            raise FileExistsError(f"{self.link} exists and is not a symlink; not replacing it")
        command = [str(HARNESS), str(self.firmware), "--link", str(self.link)]
        command += ["--serial", self.serial, *self._options]
        self._proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        threading.Thread(target=self._pump, name="emulator-events", daemon=True).start()
        threading.Thread(target=self._pump_stderr, name="emulator-log", daemon=True).start()
        self._wait(lambda e: e["event"] == "ready", _START_TIMEOUT_S, 0, "the harness to start")
        if self.firmware == FIRMWARE_ELF:
            self._wait(lambda e: e["event"] == "hello_sent", _START_TIMEOUT_S, 0, "the boot HELLO")
        return self.path

    def close(self) -> None:
        """Stops the harness (which removes the link). Safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError, ValueError):
            proc.stdin.write("quit\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
        try:
            proc.wait(_COMMAND_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(_COMMAND_TIMEOUT_S)
        with contextlib.suppress(OSError):
            proc.stdin.close()  # type: ignore[union-attr]
        if self.link.is_symlink():
            self.link.unlink(missing_ok=True)

    # -- commands ----------------------------------------------------------------------

    def press(self, button: int) -> Event:
        """Presses and releases a button; returns the box's `press` event for it."""
        return self._press(button, f"press {button}")

    def hold(self, button: int, ms: int) -> Event:
        if ms < 0:
            raise ValueError(f"hold time must not be negative, got {ms}")
        return self._press(button, f"hold {button} {ms}")

    def unplug(self) -> None:
        self._command("unplug", lambda e: e["event"] == "unplugged")

    def replug(self) -> None:
        self._command("replug", lambda e: e["event"] == "replugged")

    def reboot(self) -> Event:
        """A power cycle; returns the `boot` event of the new boot."""
        return self._command("reboot", lambda e: e["event"] == "boot")

    def garbage(self, count: int) -> None:
        """Random bytes on the line towards the host."""
        self._garbage("garbage", count)

    def garbage_to_box(self, count: int) -> None:
        """Random bytes on the line towards the box."""
        self._garbage("garbage-box", count)

    def measure_leds(self, ms: int) -> list[float]:
        """The share of time (%) each LED's pin was high over the next `ms` ms."""
        event = self._command(
            f"leds {ms}", lambda e: e["event"] == "leds", _COMMAND_TIMEOUT_S + ms / 1000
        )
        return [float(d) for d in event["duty"]]  # type: ignore[union-attr]

    def mark(self) -> int:
        return self._log.mark()

    def wait_for(self, predicate: Callable[[Event], bool], timeout: float, since: int = 0) -> Event:
        """The first event from `since` on that matches; TimeoutError after `timeout` s,
        FirmwareError as soon as the emulator has died."""
        return self._log.wait_for(predicate, timeout, since, check=self._check_alive)

    def _check_alive(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            raise FirmwareError(self._died_message())

    def _press(self, button: int, line: str) -> Event:
        if not 1 <= button <= self.buttons:
            raise ValueError(f"button must be from 1 to {self.buttons}, got {button}")
        return self._command(
            line, lambda e: e["event"] == "press" and e["button"] == button, _PRESS_TIMEOUT_S
        )

    def _garbage(self, name: str, count: int) -> None:
        if count < 0:
            raise ValueError(f"byte count must not be negative, got {count}")
        self._command(f"{name} {count}", lambda e: e["event"] == "garbage")

    def _command(
        self,
        line: str,
        done: Callable[[Event], bool],
        timeout: float = _COMMAND_TIMEOUT_S,
    ) -> Event:
        if self._proc is None:
            raise RuntimeError("the emulator is not running")
        since = self.mark()
        try:
            self._proc.stdin.write(line + "\n")  # type: ignore[union-attr]
            self._proc.stdin.flush()  # type: ignore[union-attr]
        except (BrokenPipeError, OSError) as exc:
            raise FirmwareError(self._died_message()) from exc
        return self._wait(done, timeout, since, line)

    def _wait(self, done: Callable[[Event], bool], timeout: float, since: int, what: str) -> Event:
        def settled(event: Event) -> bool:
            return done(event) or event["event"] in ("command_error", "stopped")

        try:
            event = self.wait_for(settled, timeout, since)
        except TimeoutError as exc:
            raise TimeoutError(
                f"the emulated box did not complete {what!r} in {timeout} s"
            ) from exc
        if not done(event):
            raise FirmwareError(f"{what}: {event}")
        return event

    def _died_message(self) -> str:
        return _("The firmware emulator stopped: {log}").format(log=" | ".join(self._stderr))

    # -- the harness's output ----------------------------------------------------------

    def _pump(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        for line in proc.stdout:
            try:
                raw = json.loads(line)
            except json.JSONDecodeError:
                continue
            for event in self._translate(raw):
                self._emit(event)
        self._log.wake()

    def _pump_stderr(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stderr is not None
        for line in proc.stderr:
            self._stderr.append(line.rstrip())

    def _translate(self, raw: Event) -> list[Event]:
        kind = raw["event"]
        if kind in ("tx", "rx", "dropped", "corrupted"):
            frame = decode_frame(bytes.fromhex(str(raw["data"])))
            direction = "tx" if kind == "tx" else raw.get("direction", "rx")
            out: list[Event] = []
            if kind in ("dropped", "corrupted"):
                name = frame.TYPE.name.lower() if not isinstance(frame, FrameError) else "garbled"
                out.append({"event": kind, "direction": direction, "type": name})
                if direction == "rx":
                    return out  # the box never got this frame (or got it damaged)
            return out + (self._box_sent(frame) if direction == "tx" else self._box_got(frame))
        return [raw]

    def _box_sent(self, frame: Message | FrameError) -> list[Event]:
        match frame:
            case Hello(boot_nonce=nonce):
                out: list[Event] = []
                if nonce != self._nonce:
                    self._nonce = nonce
                    self._pending.clear()  # presses of the old boot died with its RAM
                    out.append({"event": "boot", "boot_nonce": nonce})
                hello = {
                    "event": "hello_sent",
                    "protocol": frame.protocol,
                    "serial": frame.serial,
                    "buttons": frame.buttons,
                    "boot_nonce": nonce,
                    "model": frame.model,
                    "firmware": frame.firmware,
                }
                return [*out, hello]
            case ButtonEvent(boot_nonce=nonce, seq=seq, button=button):
                key = (nonce, seq)
                if key in self._seen:
                    return [{"event": "retransmit", "button": button, "seq": seq}]
                self._seen.add(key)
                self._pending.add(key)
                return [{"event": "press", "button": button, "seq": seq, "boot_nonce": nonce}]
            case Pong(token=token, pending=pending):
                return [{"event": "pong", "token": token, "pending": pending}]
            case Settings():
                request = self._settings_requests.popleft() if self._settings_requests else "get"
                return [
                    {
                        "event": "settings" if request == "set" else "get_settings",
                        "label": frame.label,
                        "debounce_ms": frame.debounce_ms,
                        "led_brightness": frame.led_brightness,
                    }
                ]
            case Error(code=code, ref_type=ref_type):
                if ref_type in (MsgType.SET_SETTINGS, MsgType.GET_SETTINGS) and (
                    self._settings_requests
                ):
                    self._settings_requests.popleft()  # answered with an error, not SETTINGS
                return [{"event": "error_sent", "code": code.name.lower(), "ref_type": ref_type}]
            case FrameError():
                return [
                    {"event": "bad_box_frame", "kind": frame.kind.value, "detail": frame.detail}
                ]
        return [{"event": "unexpected_box_frame", "type": frame.TYPE.name}]

    def _box_got(self, frame: Message | FrameError) -> list[Event]:
        match frame:
            case HelloRequest():
                return [{"event": "hello_request"}]
            case Ping(token=token):
                return [{"event": "ping", "token": token}]
            case Ack(boot_nonce=nonce, seq=seq):
                if (nonce, seq) in self._pending:
                    self._pending.discard((nonce, seq))
                    return [{"event": "ack", "seq": seq, "boot_nonce": nonce}]
                return [{"event": "ack_ignored", "seq": seq, "boot_nonce": nonce}]
            case Led(button=button, pattern=pattern):
                if button > self.buttons:
                    return [{"event": "led_rejected", "button": button}]
                return [{"event": "led", "button": button, "pattern": pattern.name.lower()}]
            case SetSettings():
                self._settings_requests.append("set")
                return [{"event": "set_settings", "label": frame.label}]
            case GetSettings():
                self._settings_requests.append("get")
                return [{"event": "get_settings_request"}]
            case FrameError():
                if frame.ref_type in (MsgType.SET_SETTINGS, MsgType.GET_SETTINGS):
                    self._settings_requests.append("bad")  # the box answers it with ERROR
                return [{"event": "frame_error", "kind": frame.kind.value, "detail": frame.detail}]
        return [{"event": "unexpected", "type": frame.TYPE.name}]

    def _emit(self, event: Event) -> None:
        self._log.append(event)
        if self._on_event is not None:
            self._on_event(event)
