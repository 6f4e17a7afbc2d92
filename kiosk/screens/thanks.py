"""The neutral thank-you: the same colour, words and mark whatever was chosen, so
nobody at the counter can tell which button was pressed."""

from __future__ import annotations

from pathlib import Path

from kivy.lang import Builder
from kivy.properties import ColorProperty

from hailong.kiosk.screens.widgets import FlatScreen  # also registers Tick for KV
from hailong.kiosk.viewmodels import THANKS_BACKGROUND

Builder.load_file(str(Path(__file__).with_name("thanks.kv")))


class ThanksScreen(FlatScreen):
    background = ColorProperty(THANKS_BACKGROUND)
