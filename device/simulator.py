"""A simulated rating box on a real pseudo-terminal.

`Simulator` runs `BoxModel` (the box's behaviour) on a thread that owns the pty:
commands from other threads (`press`, `unplug`, ...) are queued to that thread, so
all line I/O happens in one place, as in the firmware's main loop. Every frame sent
or received becomes an event dict, recorded in `events` and passed to `on_event`
(the `hailong device simulate` command prints them as JSON lines).

`unplug` models the data line going away while the box keeps power: presses made
meanwhile are kept and sent after `replug`. `reboot` models a power cycle: a new
boot nonce, sequence numbers from 1, and the unacknowledged presses are lost with
the RAM, exactly as on the real box (which never confirmed them with its light).
"""

from __future__ import annotations

import contextlib
import os
import queue
import random
import select
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path

from hailong.device.box_model import BoxModel, Event, Outcome
from hailong.device.event_log import EventLog
from hailong.device.protocol import FrameDecoder, FrameError, FrameErrorKind, Message, encode_frame
from hailong.device.protocol_constants import MAX_BUTTONS, PROTOCOL_VERSION
from hailong.i18n import _

DEFAULT_SERIAL = "HLSIM0001"
_TICK_S = 0.1
_COMMAND_TIMEOUT_S = 5.0


def _now_ms() -> int:
    return int(time.monotonic() * 1000)


class Simulator:
    def __init__(
        self,
        *,
        buttons: int = 4,
        serial: str = DEFAULT_SERIAL,
        link: str | Path | None = None,
        drop: float = 0.0,
        corrupt: float = 0.0,
        seed: int | None = None,
        protocol: int = PROTOCOL_VERSION,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        if not 1 <= buttons <= MAX_BUTTONS:
            raise ValueError(f"buttons must be from 1 to {MAX_BUTTONS}, got {buttons}")
        for name, pct in (("drop", drop), ("corrupt", corrupt)):
            if not 0 <= pct <= 100:
                raise ValueError(f"{name} must be a percentage from 0 to 100, got {pct}")
        if drop + corrupt > 100:
            raise ValueError("drop and corrupt together cannot exceed 100%")
        self.box = BoxModel(serial=serial, buttons=buttons, protocol=protocol)
        self.link = Path(link) if link is not None else None
        self._log = EventLog("simulator")
        self.events = self._log.events
        self._drop = drop
        self._corrupt = corrupt
        self._rng = random.Random(seed)
        self._on_event = on_event
        self._master: int | None = None
        self._slave: int | None = None
        self._path: str | None = None
        self._decoder = FrameDecoder()
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._wake_r, self._wake_w = os.pipe()
        self._thread: threading.Thread | None = None

    # -- public API, callable from any thread ------------------------------------------

    @property
    def path(self) -> str | None:
        """The pty the host opens (None while unplugged)."""
        return self._path

    @property
    def serial(self) -> str:
        return self.box.serial

    @property
    def buttons(self) -> int:
        return self.box.buttons

    def start(self) -> str:
        if self.link is not None and self.link.exists() and not self.link.is_symlink():
            raise FileExistsError(f"{self.link} exists and is not a symlink; not replacing it")
        self._plug()
        self._emit(
            {
                "event": "ready",
                "path": self._path,
                "link": str(self.link) if self.link else None,
                "serial": self.box.serial,
                "buttons": self.box.buttons,
            }
        )
        self._apply(self.box.boot(self._rng.getrandbits(32), _now_ms()))
        thread = threading.Thread(target=self._run, name="box-simulator", daemon=True)
        thread.start()
        # Only a started thread is recorded, so close() never joins one that is not.
        self._thread = thread
        assert self._path is not None
        return self._path

    def press(self, button: int) -> None:
        self._call(lambda: self._apply(self.box.press(button, _now_ms())))

    def hold(self, button: int, ms: int) -> None:
        if ms < 0:
            raise ValueError(f"hold time must not be negative, got {ms}")
        self._call(lambda: self._apply(self.box.hold(button, ms, _now_ms())))

    def unplug(self) -> None:
        self._call(self._unplug)

    def replug(self) -> None:
        self._call(self._replug)

    def reboot(self) -> None:
        self._call(lambda: self._apply(self.box.boot(self._rng.getrandbits(32), _now_ms())))

    def garbage(self, count: int) -> None:
        if count < 0:
            raise ValueError(f"byte count must not be negative, got {count}")
        self._call(lambda: self._garbage(count))

    def close(self) -> None:
        """Stop the thread, close the pty and remove the link. Safe to call twice."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._commands.put(None)
            os.write(self._wake_w, b"x")
            thread.join(_COMMAND_TIMEOUT_S)
        self._unplug(quiet=True)
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def mark(self) -> int:
        """A position in `events`, for `wait_for(..., since=mark)`."""
        return self._log.mark()

    def wait_for(self, predicate: Callable[[Event], bool], timeout: float, since: int = 0) -> Event:
        """The first event from `since` on that matches; TimeoutError after `timeout` s."""
        return self._log.wait_for(predicate, timeout, since)

    # -- the simulator thread ------------------------------------------------------------

    def _call(self, fn: Callable[[], None]) -> None:
        if self._thread is None:
            raise RuntimeError("the simulator is not running")
        done = threading.Event()
        failure: list[BaseException] = []
        self._commands.put((fn, done, failure))
        os.write(self._wake_w, b"x")
        if not done.wait(_COMMAND_TIMEOUT_S):
            raise TimeoutError("the simulator did not run the command")
        if failure:
            raise failure[0]

    def _run(self) -> None:
        while True:
            deadline = self.box.next_deadline_ms()
            timeout = _TICK_S
            if deadline is not None:
                timeout = min(_TICK_S, max(0.0, (deadline - _now_ms()) / 1000))
            fds = [self._wake_r] if self._master is None else [self._wake_r, self._master]
            ready, _w, _x = select.select(fds, [], [], timeout)
            if self._wake_r in ready:
                os.read(self._wake_r, 4096)
                if not self._run_commands():
                    return
            if self._master is not None and self._master in ready:
                self._read()
            self._apply(self.box.tick(_now_ms()))

    def _run_commands(self) -> bool:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return True
            if command is None:
                return False
            fn, done, failure = command
            try:
                fn()
            except Exception as exc:  # handed back to the calling thread
                failure.append(exc)
            done.set()

    def _read(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            # EIO: no process has the terminal open; only possible between unplug steps.
            return
        for item in self._decoder.feed(data):
            self._apply(self.box.receive(self._damage_received(item), _now_ms()))

    def _damage_received(self, item: Message | FrameError) -> Message | FrameError:
        if isinstance(item, FrameError):
            return item
        roll = self._rng.random() * 100
        name = item.TYPE.name.lower()
        if roll < self._drop:
            self._emit({"event": "dropped", "direction": "rx", "type": name})
            return FrameError(FrameErrorKind.CRC, "frame lost on the line (simulated)")
        if roll < self._drop + self._corrupt:
            self._emit({"event": "corrupted", "direction": "rx", "type": name})
            return FrameError(FrameErrorKind.CRC, "CRC mismatch (simulated)")
        return item

    def _apply(self, outcome: Outcome) -> None:
        for event in outcome.events:
            self._emit(event)
        for msg in outcome.send:
            self._transmit(msg)

    def _transmit(self, msg: Message) -> None:
        frame = bytearray(encode_frame(msg))
        roll = self._rng.random() * 100
        name = msg.TYPE.name.lower()
        if roll < self._drop:
            self._emit({"event": "dropped", "direction": "tx", "type": name})
            return
        if roll < self._drop + self._corrupt:
            at = self._rng.randrange(1, len(frame) - 1)
            frame[at] ^= self._rng.randrange(1, 256)
            self._emit({"event": "corrupted", "direction": "tx", "type": name, "at": at})
        self._write(bytes(frame))

    def _garbage(self, count: int) -> None:
        self._write(self._rng.randbytes(count))
        self._emit({"event": "garbage", "bytes": count})

    def _write(self, data: bytes) -> None:
        if self._master is None:
            return  # nobody on the line: the bytes are lost, as on a real UART
        try:
            os.write(self._master, data)
        except (BlockingIOError, InterruptedError):
            self._emit({"event": "line_full", "bytes": len(data)})
        except OSError:
            return

    def _plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self._path = os.ttyname(slave)
        self._decoder = FrameDecoder()
        if self.link is not None:
            # Re-point the link atomically: a host polling it never sees it half made.
            tmp = self.link.with_name(f".{self.link.name}.{os.getpid()}.tmp")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            tmp.symlink_to(self._path)
            tmp.replace(self.link)

    def _unplug(self, quiet: bool = False) -> None:
        if self._master is None:
            return
        if self.link is not None and self.link.is_symlink():
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)  # type: ignore[arg-type]
        self._master = self._slave = self._path = None
        if not quiet:
            self._emit({"event": "unplugged"})

    def _replug(self) -> None:
        self._unplug()
        self._plug()
        self._emit({"event": "replugged", "path": self._path})

    def _emit(self, event: Event) -> None:
        self._log.append(event)
        if self._on_event is not None:
            self._on_event(event)


class CommandError(ValueError):
    pass


COMMANDS_HELP = "press N | hold N MS | unplug | replug | reboot | garbage N | quit"
_ARITY = {"press": 1, "hold": 2, "garbage": 1, "unplug": 0, "replug": 0, "reboot": 0, "quit": 0}


def execute_command(sim: Simulator, line: str) -> bool:
    """Run one stdin command on the simulator; False when it asks to quit."""
    words = line.split()
    if not words:
        return True
    name, args = words[0].lower(), words[1:]
    if name not in _ARITY:
        raise CommandError(
            _("unknown command {name}; commands: {commands}").format(
                name=name, commands=COMMANDS_HELP
            )
        )
    if len(args) != _ARITY[name] or not all(a.isdigit() for a in args):
        raise CommandError(
            _("{name} takes {count} whole number(s); commands: {commands}").format(
                name=name, count=_ARITY[name], commands=COMMANDS_HELP
            )
        )
    numbers = [int(a) for a in args]
    if name in ("press", "hold") and not 1 <= numbers[0] <= sim.buttons:
        raise CommandError(
            _("{name}: the button must be from 1 to {buttons}, got {button}").format(
                name=name, buttons=sim.buttons, button=numbers[0]
            )
        )
    match name:
        case "press":
            sim.press(numbers[0])
        case "hold":
            sim.hold(numbers[0], numbers[1])
        case "garbage":
            sim.garbage(numbers[0])
        case "unplug":
            sim.unplug()
        case "replug":
            sim.replug()
        case "reboot":
            sim.reboot()
        case "quit":
            return False
    return True
