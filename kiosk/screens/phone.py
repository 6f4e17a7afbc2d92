"""The number to call back, on a keypad of digits and backspace; shown only after the
citizen said yes to being called."""

from __future__ import annotations

from pathlib import Path

from kivy.lang import Builder
from kivy.properties import BooleanProperty, ColorProperty, StringProperty

from hailong.kiosk.screens.keyboard import KeyPanel
from hailong.kiosk.screens.widgets import FlatScreen
from hailong.kiosk.vi_keyboard import Key
from hailong.kiosk.viewmodels import (
    KEYPAD_ROWS,
    PHONE_BACKGROUND,
    PHONE_BACKSPACE,
    PRIMARY_COLOUR,
    SECONDARY_COLOUR,
    phone_key,
    phone_view,
)

Builder.load_file(str(Path(__file__).with_name("phone.kv")))


class PhoneScreen(FlatScreen):
    """Dispatches `on_send(number)` ("Send", only for a valid number), `on_send(None)`
    ("Skip"), and `on_activity()` on every key."""

    background = ColorProperty(PHONE_BACKGROUND)
    primary_colour = ColorProperty(PRIMARY_COLOUR)
    secondary_colour = ColorProperty(SECONDARY_COLOUR)
    digits = StringProperty("")
    hint = StringProperty("")
    can_send = BooleanProperty(False)

    __events__ = ("on_send", "on_activity")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        keypad = KeyPanel(rows=KEYPAD_ROWS)
        keypad.bind(on_key=self._on_key)
        self.ids.keypad_area.add_widget(keypad)
        self.reset()

    def reset(self) -> None:
        self._show("")

    def refresh(self) -> None:
        """Texts in the language just chosen."""
        self._show(self.digits)

    def _on_key(self, _panel: KeyPanel, key: Key) -> None:
        self._show(phone_key(self.digits, key.value if key.kind == "char" else PHONE_BACKSPACE))
        self.dispatch("on_activity")

    def _show(self, digits: str) -> None:
        view = phone_view(digits)
        self.digits = view.digits
        self.hint = view.hint
        self.can_send = view.can_send

    def send(self) -> None:
        if self.can_send:
            self.dispatch("on_send", self.digits)

    def on_send(self, number: str | None) -> None:
        """Default handler; the app binds the real one."""

    def on_activity(self) -> None:
        """Default handler; the app binds the real one."""
