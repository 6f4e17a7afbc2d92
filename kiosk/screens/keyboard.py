"""Touch buttons and key panels: the on-screen Vietnamese keyboard (comment page),
the phone keypad (phone page), and the keyboard that types into a text field (the
technician's server URL and enrollment code).

Keys sit where `vi_keyboard.key_rects` says, in fractions of the panel, so tests can
find a key from the panel's place on screen alone.
"""

from __future__ import annotations

from pathlib import Path

from kivy.lang import Builder
from kivy.properties import BooleanProperty, ColorProperty, NumericProperty, ObjectProperty
from kivy.uix.behaviors import ButtonBehavior, FocusBehavior
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.label import Label

from hailong.kiosk.vi_keyboard import KEYBOARD_ROWS, Key, key_rects, press_at
from hailong.kiosk.viewmodels import (
    KEY_COLOUR,
    KEYBOARD_BACKGROUND,
    SPECIAL_KEY_COLOUR,
    readable_text_on,
    rgba,
)

Builder.load_file(str(Path(__file__).with_name("keyboard.kv")))

# Glyphs Roboto lacks; DejaVu Sans (shipped with Kivy) has them.
_SYMBOL_FONT = "DejaVuSans"


class TouchButton(ButtonBehavior, Label):
    """A large flat button of one colour; its text picks dark or light for contrast."""

    colour = ColorProperty(KEY_COLOUR)
    text_colour = ColorProperty((0, 0, 0, 1))

    def on_colour(self, _button: object, colour: list[float]) -> None:
        self.text_colour = readable_text_on(tuple(colour))  # type: ignore[arg-type]


class KeyButton(TouchButton):
    key = ObjectProperty(None)


class KeyPanel(FloatLayout):
    """A panel of keys laid out by rows; a tap dispatches `on_key(key)`."""

    background = ColorProperty(KEYBOARD_BACKGROUND)
    shift = BooleanProperty(False)
    __events__ = ("on_key",)

    def __init__(self, rows: tuple[tuple[Key, ...], ...] = KEYBOARD_ROWS, **kwargs: object):
        super().__init__(**kwargs)
        self._buttons: list[KeyButton] = []
        for rect in key_rects(rows):
            special = rect.key.kind in ("shift", "backspace", "space", "tone")
            button = KeyButton(
                key=rect.key,
                colour=rgba(SPECIAL_KEY_COLOUR if special else KEY_COLOUR),
                size_hint=(rect.width, rect.height),
                pos_hint={"x": rect.x, "top": 1 - rect.y},
            )
            if rect.key.kind in ("shift", "backspace", "space"):
                button.font_name = _SYMBOL_FONT
            button.bind(on_release=lambda b: self.dispatch("on_key", b.key))
            self.add_widget(button)
            self._buttons.append(button)
        self.bind(shift=self._label_keys)
        self._label_keys()

    def _label_keys(self, *_args: object) -> None:
        for button in self._buttons:
            label = button.key.label
            button.text = label.upper() if self.shift and button.key.kind == "char" else label

    def on_key(self, key: Key) -> None:
        """Default handler; the page binds the real one."""


class FieldKeyboard(KeyPanel):
    """A key panel that types into the text field `target` at its cursor, as a real
    keyboard would: the field keeps its focus while the keys are tapped."""

    target = ObjectProperty(None, allownone=True)
    max_length = NumericProperty(200)

    def on_touch_down(self, touch: object) -> bool:
        if self.collide_point(*touch.pos):  # type: ignore[attr-defined]
            # Kivy takes the focus from a field at the end of any touch elsewhere.
            FocusBehavior.ignored_touch.append(touch)
        return super().on_touch_down(touch)

    def on_key(self, key: Key) -> None:
        field = self.target
        if field is None:
            return
        text, cursor, self.shift = press_at(
            field.text, field.cursor_index(), key, shift=self.shift,
            max_length=int(self.max_length),
        )
        field.text = text
        field.cursor = field.get_cursor_from_index(cursor)
