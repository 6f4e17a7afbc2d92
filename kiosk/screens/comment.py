"""An optional comment, typed on the on-screen Vietnamese keyboard, then "Send" or
"Skip"."""

from __future__ import annotations

from pathlib import Path

from kivy.lang import Builder
from kivy.properties import BooleanProperty, ColorProperty, StringProperty

from hailong.kiosk.screens.keyboard import KeyPanel
from hailong.kiosk.screens.widgets import FlatScreen
from hailong.kiosk.vi_keyboard import Composer, Key, press
from hailong.kiosk.viewmodels import (
    COMMENT_BACKGROUND,
    PRIMARY_COLOUR,
    SECONDARY_COLOUR,
    comment_counter,
    comment_display,
)
from hailong.sync.wire import MAX_COMMENT

Builder.load_file(str(Path(__file__).with_name("comment.kv")))


class CommentScreen(FlatScreen):
    """Dispatches `on_send(text)` ("Send"), `on_send(None)` ("Skip"), and
    `on_activity()` on every key, so the page's time starts again."""

    background = ColorProperty(COMMENT_BACKGROUND)
    primary_colour = ColorProperty(PRIMARY_COLOUR)
    secondary_colour = ColorProperty(SECONDARY_COLOUR)
    text = StringProperty("")
    counter = StringProperty("")
    shift = BooleanProperty(False)

    __events__ = ("on_send", "on_activity")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._composer = Composer(MAX_COMMENT)
        keyboard = KeyPanel()
        keyboard.bind(on_key=self._on_key)
        self.bind(shift=keyboard.setter("shift"))
        self.ids.keyboard_area.add_widget(keyboard)
        self.reset()

    def reset(self) -> None:
        """An empty comment for the next citizen."""
        self._composer = Composer(MAX_COMMENT)
        self._show()

    def refresh(self) -> None:
        """Texts in the language just chosen."""
        self._show()

    def _on_key(self, _panel: KeyPanel, key: Key) -> None:
        press(self._composer, key)
        self._show()
        self.dispatch("on_activity")

    def _show(self) -> None:
        self.text = comment_display(self._composer.text)
        self.shift = self._composer.shift
        self.counter = comment_counter(self._composer.text)

    def send(self) -> None:
        self.dispatch("on_send", self._composer.text)

    def on_send(self, text: str | None) -> None:
        """Default handler; the app binds the real one."""

    def on_activity(self) -> None:
        """Default handler; the app binds the real one."""
