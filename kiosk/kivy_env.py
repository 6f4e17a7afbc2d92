"""Kivy's environment, set before the first `import kivy` (which reads it once).

No Kivy import here: the caller runs this first, then imports `hailong.kiosk.app`.
"""

from __future__ import annotations

import os
from pathlib import Path

# The window's X class: how window managers, kiosk lock-down rules and tests find it
# (xdotool cannot match the UTF-8 title "Hài Lòng").
WINDOW_CLASS = "hailong-kiosk"


def prepare_kivy_environment(home: Path) -> None:
    """Keep Kivy away from our command line, our home directory and our logging.

    Without these, Kivy parses `sys.argv` as its own options, writes `~/.kivy`,
    and replaces `sys.stderr` and the root logger's handlers with its own.
    """
    home.mkdir(parents=True, exist_ok=True)
    os.environ["KIVY_NO_ARGS"] = "1"
    os.environ["KIVY_HOME"] = str(home)
    # Kivy's records go through the standard `logging` set up by the `hailong` command.
    os.environ["KIVY_LOG_MODE"] = "PYTHON"
    os.environ["KIVY_NO_FILELOG"] = "1"
    os.environ["SDL_VIDEO_X11_WMCLASS"] = WINDOW_CLASS
    # Kivy's default clock sleeps a whole frame interval between ticks, and work
    # scheduled from another thread (a box press, stored by the driver's thread) waits
    # for the end of that sleep. The interrupt clock wakes the loop at once.
    os.environ["KIVY_CLOCK"] = "interrupt"
    # Kivy imports every image provider it is allowed; SDL2_image alone reads the
    # officers' PNG, JPEG and WebP photos, and leaving out Pillow's saves ~3 MB.
    os.environ["KIVY_IMAGE"] = "tex,dds,sdl2"
