"""Driving a real X display from outside: windows found by class, real mouse and
key events (xdotool), pictures of what is on screen (ImageMagick), the screen's
size (Xlib). For the screenshot tool, GUI tests and the kiosk's own window set-up.
Standard library only.

    with Xvfb() as x:                                  # hailong.xvfb
        subprocess.Popen([...], env=display_env(x.display))
        window = find_window(x.display, "hailong-kiosk")
        box = colour_box(capture(x.display, window), "#1b7f3b")
        click(x.display, window, *box.centre)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import subprocess
import time
from dataclasses import dataclass


class XDisplayError(RuntimeError):
    pass


def display_env(display: str) -> dict[str, str]:
    """The current environment pointed at `display`, with nothing of a Wayland desktop."""
    env = dict(os.environ, DISPLAY=display)
    env.pop("WAYLAND_DISPLAY", None)
    return env


def screen_size(display: str | None = None) -> tuple[int, int] | None:
    """The size in pixels of the X screen (`display`, else $DISPLAY), asked of Xlib;
    None when there is no X display to ask (no Xlib, no server, Wayland only)."""
    library = ctypes.util.find_library("X11")
    if library is None:
        return None
    xlib = ctypes.CDLL(library)
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    for name in ("XDefaultScreen", "XCloseDisplay"):
        getattr(xlib, name).argtypes = [ctypes.c_void_p]
    for name in ("XDisplayWidth", "XDisplayHeight"):
        getattr(xlib, name).argtypes = [ctypes.c_void_p, ctypes.c_int]
    connection = xlib.XOpenDisplay(display.encode() if display else None)
    if not connection:
        return None
    try:
        screen = xlib.XDefaultScreen(connection)
        return xlib.XDisplayWidth(connection, screen), xlib.XDisplayHeight(connection, screen)
    finally:
        xlib.XCloseDisplay(connection)


# -- windows and input -----------------------------------------------------------------


def _xdotool(display: str, *args: str, timeout: float = 10) -> str:
    result = subprocess.run(
        ["xdotool", *args],
        env=display_env(display),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return result.stdout.strip()


def find_window(
    display: str, wm_class: str, timeout: float = 20, process: subprocess.Popen | None = None
) -> str:
    """The id of the first visible window of X class `wm_class`, waiting for it to
    appear; gives up early if `process` (the window's owner) has exited."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise XDisplayError(f"the process exited ({process.returncode}) before its window")
        found = subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--class", f"^{re.escape(wm_class)}$"],
            env=display_env(display),
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.split()
        if found:
            return found[0]
        if time.monotonic() > deadline:
            raise XDisplayError(f"no window of class {wm_class!r} on {display} after {timeout} s")
        time.sleep(0.05)


def click(display: str, window: str, x: int, y: int) -> None:
    """A real left click at (x, y) inside `window`, as a mouse would make it.

    The pointer first comes from a pixel away: a window that has seen no motion
    event (a new one, under a pointer left where it is) does not know where it is.
    """
    _xdotool(
        display,
        "mousemove", "--window", window, "--sync", str(x + 1), str(y + 1),
        "mousemove", "--window", window, "--sync", str(x), str(y),
        "click", "1",
    )


def key(display: str, window: str, keys: str) -> None:
    """A real key press such as "Escape", "F1" or "alt+F4", sent to `window`."""
    _xdotool(display, "windowfocus", "--sync", window, "key", "--clearmodifiers", keys)


# -- what is on screen -----------------------------------------------------------------


def capture(display: str, window: str = "root") -> bytes:
    """A PNG of `window` (or the whole display) as a person would see it."""
    return subprocess.run(
        ["import", "-display", display, "-window", window, "png:-"],
        capture_output=True,
        timeout=15,
        check=True,
    ).stdout


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    width: int
    height: int

    @property
    def centre(self) -> tuple[int, int]:
        return self.x + self.width // 2, self.y + self.height // 2


def colour_box(png: bytes, colour: str) -> Box | None:
    """The bounding box of the pixels of exactly `colour` ("#rrggbb"), or None."""
    result = subprocess.run(
        ["convert", "png:-", "-fill", "black", "+opaque", colour, "-trim",
         "-format", "%w %h %X %Y", "info:"],
        input=png,
        capture_output=True,
        timeout=15,
        check=True,
    )
    width, height, x, y = (int(v) for v in result.stdout.decode().split())
    # Nothing left after trimming: ImageMagick answers a 1x1 box at -1,-1.
    return None if x < 0 or y < 0 else Box(x, y, width, height)
