"""Real X displays for GUI tests: a private Xvfb, real input, pictures of the screen.

    with Xvfb(1280, 800) as x:
        window = find_window(x.display, WINDOW_CLASS)
        click(x.display, window, 200, 300)

The parts live in the package (`hailong.xvfb`, `hailong.kiosk.xdisplay`), where the
demo and the screenshot tool use them too; tests import them from here.
"""

from hailong.kiosk.xdisplay import (
    Box,
    XDisplayError,
    capture,
    click,
    colour_box,
    display_env,
    find_window,
    key,
    screen_size,
)
from hailong.xvfb import Xvfb, XvfbError

__all__ = [
    "Box",
    "XDisplayError",
    "Xvfb",
    "XvfbError",
    "capture",
    "click",
    "colour_box",
    "display_env",
    "find_window",
    "key",
    "screen_size",
]
