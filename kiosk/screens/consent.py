"""Asks, in plain words, before any phone number is taken: the unit may call back
about this rating only. "Yes, call me" leads to the keypad; "No thanks" ends it."""

from __future__ import annotations

from pathlib import Path

from kivy.lang import Builder
from kivy.properties import ColorProperty

from hailong.kiosk.screens import keyboard  # noqa: F401  (registers TouchButton for KV)
from hailong.kiosk.screens.widgets import FlatScreen
from hailong.kiosk.viewmodels import CONSENT_BACKGROUND, PRIMARY_COLOUR, SECONDARY_COLOUR

Builder.load_file(str(Path(__file__).with_name("consent.kv")))


class ConsentScreen(FlatScreen):
    """Dispatches `on_answer(True)` for "Yes, call me", `on_answer(False)` for "No thanks"."""

    background = ColorProperty(CONSENT_BACKGROUND)
    primary_colour = ColorProperty(PRIMARY_COLOUR)
    secondary_colour = ColorProperty(SECONDARY_COLOUR)

    __events__ = ("on_answer",)

    def on_answer(self, yes: bool) -> None:
        """Default handler; the app binds the real one."""
