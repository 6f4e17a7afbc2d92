"""The host driver for a rating box, on pyserial.

`BoxDriver` owns one background thread that opens the port (exclusively, with
timeouts on every read and write), asks for HELLO until the box answers, pings it,
delivers presses to `on_press`, and reopens the port whenever it fails or the box
goes silent. Presses are delivered every time the box sends them, retransmissions
included: the caller stores a press, de-duplicates on (serial, boot_nonce, seq) and
only then calls `acknowledge`, so a crash before the store loses nothing.

`acknowledge` and `set_led` only queue a message and wake the driver's thread, so
they never block the caller (for instance the kiosk's UI thread).
"""

from __future__ import annotations

import collections
import contextlib
import enum
import errno
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import serial
from serial.tools import list_ports

from hailong.device.protocol import (
    Ack,
    BoxSettings,
    FrameDecoder,
    Led,
    Message,
    encode_frame,
)
from hailong.device.protocol_constants import ALL_BUTTONS, BAUDRATE, PROTOCOL_VERSION, LedPattern
from hailong.device.session import (
    BoxInfo,
    BoxPress,
    Failure,
    FailureKind,
    HostSession,
    Reaction,
)
from hailong.i18n import _

__all__ = [
    "BoxDriver",
    "BoxError",
    "BoxInfo",
    "BoxPress",
    "BoxSettings",
    "BoxState",
    "LinkLostError",
    "NotABoxError",
    "PortAccessError",
    "PortBusyError",
    "PortMissingError",
    "UnsupportedProtocolError",
    "by_id_paths",
    "find_box_port",
    "open_port",
    "probe",
]

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 0.05
WRITE_TIMEOUT_S = 0.5
RETRY_S = 0.25
STOP_TIMEOUT_S = 3.0
PROBE_TIMEOUT_S = 2.0
DEFAULT_VID_PID = "2341:0043"  # Arduino Uno; boxes on other boards set their own in config
BY_ID_DIR = Path("/dev/serial/by-id")


class BoxState(enum.Enum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"


class BoxError(Exception):
    """A port that cannot be used as a rating box; the message is for people."""


class PortMissingError(BoxError):
    pass


class PortBusyError(BoxError):
    pass


class PortAccessError(BoxError):
    pass


class NotABoxError(BoxError):
    pass


class UnsupportedProtocolError(BoxError):
    pass


class LinkLostError(BoxError):
    pass


def open_port(path: str, baudrate: int = BAUDRATE) -> serial.Serial:
    ser = serial.Serial()
    ser.port = path
    ser.baudrate = baudrate
    ser.timeout = READ_TIMEOUT_S
    ser.write_timeout = WRITE_TIMEOUT_S
    if os.name == "posix":  # flock; other platforms open serial ports exclusively anyway
        ser.exclusive = True
    try:
        ser.open()
    except serial.SerialException as exc:
        code = exc.errno
        if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
            raise PortMissingError(
                _("There is no serial port at {port}. Is the box plugged in?").format(port=path)
            ) from exc
        if code in (errno.EAGAIN, errno.EBUSY):
            raise PortBusyError(
                _(
                    "{port} is in use by another program; only one program at a time can "
                    "talk to a rating box."
                ).format(port=path)
            ) from exc
        if code in (errno.EACCES, errno.EPERM):
            raise PortAccessError(
                _(
                    "Permission denied for {port}. Add this user to the 'dialout' group "
                    "and log in again."
                ).format(port=path)
            ) from exc
        raise BoxError(
            _("Cannot open {port} as a serial port: {error}").format(port=path, error=exc)
        ) from exc
    return ser


def failure_error(failure: Failure, port: str) -> BoxError:
    if failure.kind is FailureKind.UNSUPPORTED_VERSION:
        return UnsupportedProtocolError(
            _(
                "The box on {port} speaks protocol version {theirs}, this program speaks "
                "version {ours}: update whichever is older."
            ).format(port=port, theirs=failure.version, ours=PROTOCOL_VERSION)
        )
    if failure.kind is FailureKind.NO_HELLO:
        return NotABoxError(
            _(
                "No rating box answered on {port} ({detail}): the device there is not a "
                "Hài Lòng box, or it is still starting."
            ).format(port=port, detail=failure.detail)
        )
    return LinkLostError(
        _("The rating box on {port} stopped answering ({detail}).").format(
            port=port, detail=failure.detail
        )
    )


class SessionLink:
    """An open port and the session on it: each `step()` sends what is due and
    handles what arrived within one read timeout."""

    def __init__(self, ser: serial.Serial, session: HostSession) -> None:
        self.ser = ser
        self.session = session
        self._decoder = FrameDecoder()

    def send(self, msg: Message) -> None:
        self.ser.write(encode_frame(msg))

    def step(self) -> Reaction:
        reaction = self.session.poll(time.monotonic())
        for msg in reaction.send:
            self.send(msg)
        if reaction.failure:
            return reaction
        data = self.ser.read(self.ser.in_waiting or 1)
        now = time.monotonic()
        for item in self._decoder.feed(data):
            reaction.extend(self.session.receive(item, now))
        return reaction


def probe(port: str, *, baudrate: int = BAUDRATE, timeout: float = PROBE_TIMEOUT_S) -> BoxInfo:
    """Open `port`, ask the box to introduce itself and return what it says.

    Raises a `BoxError` subclass with a message for people when the port is missing,
    busy or not accessible, holds no rating box, or speaks another protocol version.
    """
    ser = open_port(port, baudrate)
    try:
        link = SessionLink(ser, HostSession(time.monotonic(), handshake_timeout_s=timeout))
        while True:
            reaction = link.step()
            if reaction.failure:
                raise failure_error(reaction.failure, port)
            if reaction.connected:
                return reaction.connected
    except (serial.SerialException, OSError) as exc:
        raise LinkLostError(
            _("Lost the connection on {port}: {error}").format(port=port, error=exc)
        ) from exc
    finally:
        ser.close()


def parse_vid_pid(vid_pid: str) -> tuple[int, int]:
    try:
        vid, pid = (int(part, 16) for part in vid_pid.split(":"))
    except ValueError as exc:
        raise ValueError(f"USB id must look like 2341:0043, got {vid_pid!r}") from exc
    return vid, pid


def by_id_paths() -> dict[str, str]:
    """Each serial device's real path → its stable /dev/serial/by-id name."""
    if not BY_ID_DIR.is_dir():
        return {}
    return {os.path.realpath(link): str(link) for link in sorted(BY_ID_DIR.iterdir())}


def find_box_port(vid_pid: str, serial_number: str = "") -> str | None:
    """The port of the box with this USB VID:PID (and serial number, when given),
    as its /dev/serial/by-id path when there is one. With several matches and no
    serial number, the first by name wins: set the serial number to choose."""
    vid, pid = parse_vid_pid(vid_pid)
    matches = sorted(
        port.device
        for port in list_ports.comports()
        if port.vid == vid
        and port.pid == pid
        and (not serial_number or port.serial_number == serial_number)
    )
    if not matches:
        return None
    return by_id_paths().get(os.path.realpath(matches[0]), matches[0])


class BoxDriver:
    def __init__(
        self,
        port: str,
        *,
        baudrate: int = BAUDRATE,
        on_press: Callable[[BoxPress], None],
        on_state: Callable[[BoxState, BoxInfo | None], None] = lambda s, i: None,
        settings: BoxSettings | None = None,
        usb_vid_pid: str = DEFAULT_VID_PID,
        serial_number: str = "",
    ) -> None:
        if port == "auto":
            parse_vid_pid(usb_vid_pid)
        self._port = port
        self._baudrate = baudrate
        self._on_press = on_press
        self._on_state = on_state
        self._settings = settings
        self._usb_vid_pid = usb_vid_pid
        self._serial_number = serial_number
        self._lock = threading.Lock()  # guards _ser, _state and _info
        self._ser: serial.Serial | None = None
        self._state = BoxState.DISCONNECTED
        self._info: BoxInfo | None = None
        self._outbox: collections.deque[Message] = collections.deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_failure: str | None = None

    @property
    def state(self) -> BoxState:
        with self._lock:
            return self._state

    @property
    def info(self) -> BoxInfo | None:
        with self._lock:
            return self._info

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the driver is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="box-driver", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(STOP_TIMEOUT_S)
            if thread.is_alive():
                log.warning("the rating-box driver thread did not stop within %s s", STOP_TIMEOUT_S)

    def acknowledge(self, press: BoxPress) -> None:
        """Tell the box `press` is stored (it stops resending it) and light its confirmation."""
        self._enqueue(Ack(press.boot_nonce, press.seq), Led(press.button, LedPattern.CONFIRM))

    def set_led(self, button: int | None, pattern: str) -> None:
        """Set one button's LED (1-based) or, with None, every LED, to a pattern name:
        off, on, confirm, idle, disabled or error."""
        try:
            led_pattern = LedPattern[pattern.upper()]
        except KeyError:
            names = ", ".join(p.name.lower() for p in LedPattern)
            raise ValueError(f"unknown LED pattern {pattern!r}; use one of {names}") from None
        self._enqueue(Led(ALL_BUTTONS if button is None else button, led_pattern))

    # -- the driver's thread -------------------------------------------------------------

    def _enqueue(self, *msgs: Message) -> None:
        self._outbox.extend(msgs)
        self._wake()

    def _wake(self) -> None:
        with self._lock:
            if self._ser is not None:
                with contextlib.suppress(OSError, serial.SerialException):
                    self._ser.cancel_read()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._connect_and_serve()
            except BoxError as exc:
                self._failed(str(exc))
            except Exception:
                log.exception("unexpected error in the rating-box driver; retrying")
            self._set_state(BoxState.DISCONNECTED, None)
            self._stop.wait(RETRY_S)

    def _resolve(self) -> str:
        if self._port != "auto":
            return self._port
        found = find_box_port(self._usb_vid_pid, self._serial_number)
        if found is None:
            raise PortMissingError(
                _("No rating box with USB id {vid_pid} {serial} is plugged in.").format(
                    vid_pid=self._usb_vid_pid, serial=self._serial_number
                )
            )
        return found

    def _connect_and_serve(self) -> None:
        path = self._resolve()
        ser = open_port(path, self._baudrate)
        with self._lock:
            self._ser = ser
        try:
            self._outbox.clear()  # meant for a link that is gone; the box resends its presses
            self._set_state(BoxState.CONNECTING, None)
            link = SessionLink(ser, HostSession(time.monotonic(), self._settings))
            while not self._stop.is_set():
                reaction = link.step()
                while self._outbox:
                    link.send(self._outbox.popleft())
                self._react(reaction, path)
        except (serial.SerialException, OSError) as exc:
            if not self._stop.is_set():
                raise LinkLostError(
                    _("Lost the rating box on {port}: {error}").format(port=path, error=exc)
                ) from exc
        finally:
            with self._lock:
                self._ser = None
            ser.close()

    def _react(self, reaction: Reaction, path: str) -> None:
        for problem in reaction.box_errors:
            log.debug("%s", problem)
        if reaction.connected:
            self._set_state(BoxState.CONNECTED, reaction.connected)
            self._last_failure = None
            info = reaction.connected
            log.info(
                _(
                    "Rating box {serial} ({model}, firmware {firmware}) is connected on {port}."
                ).format(serial=info.serial, model=info.model, firmware=info.firmware, port=path)
            )
        for press in reaction.presses:
            try:
                self._on_press(press)
            except Exception:
                log.exception("on_press failed for %s; the box will send it again", press)
        if reaction.failure:
            raise failure_error(reaction.failure, path)

    def _failed(self, message: str) -> None:
        # A box that stays away would otherwise log the same line four times a second.
        if message != self._last_failure:
            log.warning("%s", message)
            self._last_failure = message

    def _set_state(self, state: BoxState, info: BoxInfo | None) -> None:
        with self._lock:
            if (state, info) == (self._state, self._info):
                return
            was_connected = self._state is BoxState.CONNECTED
            self._state, self._info = state, info
        if state is BoxState.DISCONNECTED and was_connected:
            log.warning(_("The rating box is disconnected."))
        try:
            self._on_state(state, info)
        except Exception:
            log.exception("on_state failed")
