"""Switching the kiosk's screen on and off with the session's own tools: `wlopm` under
a Wayland compositor (cage) when it is installed, `xset` under X. Whether the screen
should be on (opening hours) is decided elsewhere; this only carries it out.

Never raises: a screen that cannot be switched is a nuisance, not a reason to stop
taking ratings. Each kind of failure is logged once, not at every call.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

log = logging.getLogger(__name__)

COMMAND_TIMEOUT_S = 5.0
Session = Literal["wayland", "x11"]
NO_DPMS = "does not have the DPMS Extension"


def session_of(environ: Mapping[str, str]) -> Session | None:
    """Wayland first: under cage with Xwayland both are set, and only the compositor
    can power its outputs (Xwayland has no DPMS)."""
    if environ.get("WAYLAND_DISPLAY"):
        return "wayland"
    if environ.get("DISPLAY"):
        return "x11"
    return None


def x_commands(on: bool, has_dpms: bool) -> list[list[str]]:
    """xset commands, one option each: xset exits 0 even when it rejects an option, and
    one rejected option (DPMS on a server without it) voids the whole command line."""
    if on:
        # `dpms force on` wakes the screen and switches DPMS back on, so -dpms comes after.
        dpms = [["xset", "dpms", "force", "on"], ["xset", "-dpms"]] if has_dpms else []
        return [*dpms, ["xset", "s", "off"], ["xset", "s", "reset"]]
    dpms = [["xset", "dpms", "force", "off"]] if has_dpms else []
    return [["xset", "s", "activate"], *dpms]


def wayland_commands(on: bool) -> list[list[str]]:
    return [["wlopm", "--on" if on else "--off", "*"]]


class ScreenPower:
    def __init__(
        self, environ: Mapping[str, str] = os.environ, timeout_s: float = COMMAND_TIMEOUT_S
    ):
        self.environ = dict(environ)
        self.timeout_s = timeout_s
        self._logged: set[str] = set()

    @property
    def session(self) -> Session | None:
        return session_of(self.environ)

    def set(self, on: bool) -> bool:
        """Switch the screen on (and stop it blanking) or off; True when every command
        the session needs succeeded."""
        session = self.session
        if session is None:
            self._warn_once("no-display", "no display to switch on or off ($DISPLAY and "
                            "$WAYLAND_DISPLAY are not set)")
            return False
        if session == "wayland":
            if shutil.which("wlopm", path=self.environ.get("PATH")) is None:
                self._warn_once("no-wlopm", "wlopm is not installed: the compositor keeps "
                                "the screen as it is")
                return False
            commands = wayland_commands(on)
        else:
            query = self._run(["xset", "q"])
            if query is None:
                return False
            commands = x_commands(on, has_dpms=NO_DPMS not in query)
        # Every command runs even after one fails: blanking off still helps without DPMS.
        return all([self._run(command) is not None for command in commands])

    def _run(self, command: Sequence[str]) -> str | None:
        """The command's output, or None when it failed (logged once per command)."""
        key = " ".join(command)
        try:
            done = subprocess.run(
                list(command), env=self.environ, capture_output=True, text=True,
                timeout=self.timeout_s, check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            self._warn_once(key, f"`{key}` failed: {error}")
            return None
        # xset reports a rejected option on stderr and still exits 0.
        problem = done.stderr.strip()
        if done.returncode != 0 or problem:
            self._warn_once(key, f"`{key}` failed (exit {done.returncode}): {problem}")
            return None
        return done.stdout

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._logged:
            self._logged.add(key)
            log.warning("screen: %s", message)


class ScreenSchedule:
    """Keeps the screen as `should_be_on()` says (the opening hours): `check()` at start
    and then now and again; a change is carried out on its own thread, because the
    commands may take seconds and the caller is the UI loop."""

    def __init__(self, power: ScreenPower, should_be_on: Callable[[], bool]) -> None:
        self._power = power
        self._should_be_on = should_be_on
        self._state: bool | None = None

    def check(self) -> None:
        on = self._should_be_on()
        if on == self._state:
            return
        self._state = on
        log.info("screen %s (opening hours)", "on" if on else "may sleep")
        threading.Thread(
            target=self._power.set, args=(on,), name="screen-power", daemon=True
        ).start()
