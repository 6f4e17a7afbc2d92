"""Real X displays for GUI tests: a private Xvfb, real input, pictures of the screen.

    with Xvfb(1280, 800) as x:
        window = find_window(x.display, WINDOW_CLASS)
        click(x.display, window, 200, 300)

The parts live in the package (`hailong.xvfb`, `hailong.kiosk.xdisplay`), where the
demo and the screenshot tool use them too; tests import them from here.
"""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

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
    "run_in_kivy_window",
    "screen_size",
]


def run_in_kivy_window(script: str, kivy_home: Path, size: tuple[int, int] = (1024, 600)) -> Any:
    """Run `script` in a fresh interpreter on a private Xvfb and return what it printed as
    JSON on its last line. The script gets `kivy_home` as `sys.argv[1]`: Kivy reads its
    environment once, at its first import, so each script prepares it and opens its own
    window."""
    with Xvfb(*size) as x:
        done = subprocess.run(
            [sys.executable, "-c", script, str(kivy_home)],
            capture_output=True, text=True, timeout=60, env=display_env(x.display), check=False,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])
