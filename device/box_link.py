"""A short, synchronous connection to one rating box, for commands that run and exit
(`hailong device test`, `hailong device set`).

The kiosk uses `BoxDriver`, which runs for ever in its own thread and reconnects by
itself; a technician command instead wants the first failure as an exception with a
message for people (missing or busy port, not a box, another protocol version) and
the port back when it ends. Both run the same host session (`session.HostSession`)
over the same framed link, so the handshake, pings and timeouts are the driver's.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from types import TracebackType

import serial

from hailong.device.driver import LinkLostError, SessionLink, failure_error, open_port
from hailong.device.protocol import BoxSettings, GetSettings, Message, SetSettings
from hailong.device.session import (
    HANDSHAKE_TIMEOUT_S,
    HELLO_RETRY_S,
    BoxInfo,
    BoxPress,
    HostSession,
)
from hailong.i18n import _


class BoxLink:
    """The port held open for one command: handshake on enter, closed on exit.

    Every `step()` sends what the host session has due (pings keep the link alive)
    and reads for at most one read timeout. Failures raise the driver's `BoxError`s.
    """

    def __init__(self, port: str, *, timeout_s: float = HANDSHAKE_TIMEOUT_S) -> None:
        self.port = port
        self._timeout_s = timeout_s
        self.info: BoxInfo | None = None
        self._link: SessionLink | None = None
        self._handshake_presses: list[BoxPress] = []

    def __enter__(self) -> BoxLink:
        ser = open_port(self.port)
        self._link = SessionLink(
            ser, HostSession(time.monotonic(), handshake_timeout_s=self._timeout_s)
        )
        try:
            while self.info is None:
                # The box resends what it kept right after its HELLO, often in the same read.
                self._handshake_presses += self.step()
        except BaseException:
            ser.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._link is not None:
            # The last LED command must leave before the port closes. A port that is gone
            # fails the drain in more ways than OSError (termios.error is not one).
            with contextlib.suppress(Exception):
                self._link.ser.flush()
            self._link.ser.close()

    @property
    def _session(self) -> HostSession:
        assert self._link is not None, "use BoxLink in a with statement"
        return self._link.session

    def step(self) -> list[BoxPress]:
        """The presses that arrived; raises `BoxError` when the link fails."""
        assert self._link is not None, "use BoxLink in a with statement"
        try:
            reaction = self._link.step()
        except (serial.SerialException, OSError) as exc:
            raise self._lost(exc) from exc
        if reaction.failure:
            raise failure_error(reaction.failure, self.port)
        if reaction.connected:
            self.info = reaction.connected
        early, self._handshake_presses = self._handshake_presses, []
        return early + reaction.presses

    def send(self, *msgs: Message) -> None:
        assert self._link is not None, "use BoxLink in a with statement"
        try:
            for msg in msgs:
                self._link.send(msg)
        except (serial.SerialException, OSError) as exc:
            raise self._lost(exc) from exc

    def settings_exchange(
        self,
        request: SetSettings | GetSettings,
        timeout_s: float,
        on_press: Callable[[BoxPress], None] = lambda press: None,
    ) -> BoxSettings:
        """Send `request` until the box answers with its settings (either frame may be
        lost on the line); presses arriving meanwhile go to `on_press`."""
        session = self._session
        session.box_settings = None
        deadline = time.monotonic() + timeout_s
        next_send = 0.0
        while session.box_settings is None:
            now = time.monotonic()
            if now >= deadline:
                raise LinkLostError(
                    _(
                        "The rating box on {port} did not answer with its settings within "
                        "{seconds} s."
                    ).format(port=self.port, seconds=f"{timeout_s:g}")
                )
            if now >= next_send:
                self.send(request)
                next_send = now + HELLO_RETRY_S
            for press in self.step():
                on_press(press)
        return session.box_settings

    def _lost(self, exc: Exception) -> LinkLostError:
        return LinkLostError(
            _("Lost the connection on {port}: {error}").format(port=self.port, error=exc)
        )
