"""Touch buttons and key panels: the on-screen Vietnamese keyboard (comment page),
the phone keypad (phone page), and the keyboard that types into a text field (the
technician's server URL and enrollment code).

Keys sit where `vi_keyboard.key_rects` says, in fractions of the panel, so tests can
find a key from the panel's place on screen alone.
"""

from __future__ import annotations

from pathlib import Path

from kivy.clock import Clock
from kivy.core.text import Label as CoreLabel
from kivy.graphics import Color, Rectangle, SmoothRoundedRectangle
from kivy.graphics.texture import Texture
from kivy.input.motionevent import MotionEvent
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ColorProperty, NumericProperty, ObjectProperty
from kivy.uix.behaviors import ButtonBehavior, FocusBehavior
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from hailong.kiosk.vi_keyboard import KEYBOARD_ROWS, Key, KeyRect, key_rects, press_at
from hailong.kiosk.viewmodels import (
    KEY_COLOUR,
    KEYBOARD_BACKGROUND,
    RGBA,
    SPECIAL_KEY_COLOUR,
    readable_text_on,
    rgba,
)

Builder.load_file(str(Path(__file__).with_name("keyboard.kv")))

# Glyphs Roboto lacks; DejaVu Sans (shipped with Kivy) has them.
_SYMBOL_FONT = "DejaVuSans"
_TEXT_FONT = "Roboto"
_SPECIAL_KINDS = ("shift", "backspace", "space", "tone")
_SYMBOL_KINDS = ("shift", "backspace", "space")
# As `TouchButton` draws itself: corner radius and label size by the key's size, and
# a held key darkened.
_RADIUS = 0.12
_FONT_SIZE = 0.46
_HELD_SHADE = 0.8


class TouchButton(ButtonBehavior, Label):
    """A large flat button of one colour; its text picks dark or light for contrast."""

    colour = ColorProperty(KEY_COLOUR)
    text_colour = ColorProperty((0, 0, 0, 1))

    def on_colour(self, _button: object, colour: list[float]) -> None:
        self.text_colour = readable_text_on(tuple(colour))  # type: ignore[arg-type]


class _DrawnKey:
    """One key of a `KeyPanel`: its place and the canvas instructions that draw it."""

    __slots__ = ("colour", "font", "label", "place", "shade", "shape")

    def __init__(self, place: KeyRect) -> None:
        self.place = place
        self.colour: RGBA = rgba(
            SPECIAL_KEY_COLOUR if place.key.kind in _SPECIAL_KINDS else KEY_COLOUR
        )
        self.font = _SYMBOL_FONT if place.key.kind in _SYMBOL_KINDS else _TEXT_FONT
        # Added to the canvas in this order: key, then its label over it.
        self.shade = Color(*self.colour)
        self.shape = SmoothRoundedRectangle()
        self.label = Rectangle()

    def contains(self, x: float, y: float) -> bool:
        left, bottom = self.shape.pos
        width, height = self.shape.size
        return left <= x <= left + width and bottom <= y <= bottom + height

    def centre_label(self) -> None:
        left, bottom = self.shape.pos
        width, height = self.shape.size
        label_width, label_height = self.label.size
        self.label.pos = (
            int(left + (width - label_width) / 2), int(bottom + (height - label_height) / 2)
        )


class KeyPanel(Widget):
    """A panel of keys laid out by rows; a tap dispatches `on_key(key)`.

    The panel is one widget drawing all its keys on its own canvas: a widget per key
    (some 45 on the comment page) cost megabytes of properties, bindings and canvases
    on a kiosk short of memory. A key is taken on touch down and dispatched on touch
    up if the touch is still on it, as a button's release; a touch that slides off
    lets it go."""

    background = ColorProperty(KEYBOARD_BACKGROUND)
    shift = BooleanProperty(False)
    __events__ = ("on_key",)

    def __init__(self, rows: tuple[tuple[Key, ...], ...] = KEYBOARD_ROWS, **kwargs: object):
        super().__init__(**kwargs)
        self._keys = [_DrawnKey(place) for place in key_rects(rows)]
        # Label textures by (text, font, font size), shared by keys that look alike;
        # only the current font size is kept.
        self._textures: dict[tuple[str, str, float], Texture] = {}
        # Which key each touch holds down, by the touch's uid.
        self._held: dict[int, _DrawnKey] = {}
        for key in self._keys:
            for instruction in (
                key.shade, key.shape, Color(*readable_text_on(key.colour)), key.label
            ):
                self.canvas.add(instruction)
        # Once a frame at most: a panel's size changes a few times while laid out.
        self._relabel = Clock.create_trigger(self._label_keys)
        self.bind(pos=self._place_keys, size=self._place_keys, shift=self._relabel)
        self._place_keys()

    def label_of(self, key: Key) -> str:
        """The text on `key` as the panel shows it now."""
        return key.label.upper() if self.shift and key.kind == "char" else key.label

    def _place_keys(self, *_args: object) -> None:
        width, height = self.size
        for key in self._keys:
            place = key.place
            key_width, key_height = place.width * width, place.height * height
            key.shape.pos = (self.x + place.x * width, self.top - (place.y + place.height) * height)
            key.shape.size = (key_width, key_height)
            key.shape.radius = [min(key_width, key_height) * _RADIUS]
            key.centre_label()
        self._relabel()

    def _label_keys(self, *_args: object) -> None:
        textures: dict[tuple[str, str, float], Texture] = {}
        for key in self._keys:
            font_size = key.shape.size[1] * _FONT_SIZE
            name = (self.label_of(key.place.key), key.font, font_size)
            texture = textures.get(name) or self._textures.get(name) or _render(*name)
            textures[name] = texture
            key.label.texture = texture
            key.label.size = texture.size
            key.centre_label()
        # Both cases of the letters stay: a one-shot shift comes and goes while typing.
        kept = {font_size for _text, _font, font_size in textures}
        self._textures = {
            name: texture for name, texture in self._textures.items() if name[2] in kept
        } | textures

    def _key_at(self, touch: MotionEvent) -> _DrawnKey | None:
        return next((key for key in self._keys if key.contains(*touch.pos)), None)

    def _shade_keys(self) -> None:
        held = list(self._held.values())
        for key in self._keys:
            r, g, b, a = key.colour
            key.shade.rgba = (
                (r * _HELD_SHADE, g * _HELD_SHADE, b * _HELD_SHADE, 1) if key in held
                else (r, g, b, a)
            )

    def _let_go(self, touch: MotionEvent) -> _DrawnKey | None:
        touch.ungrab(self)
        key = self._held.pop(touch.uid, None)
        self._shade_keys()
        return key

    def on_touch_down(self, touch: MotionEvent) -> bool:
        key = None if touch.is_mouse_scrolling else self._key_at(touch)
        if key is None:
            return super().on_touch_down(touch)
        touch.grab(self)
        self._held[touch.uid] = key
        self._shade_keys()
        return True

    def on_touch_move(self, touch: MotionEvent) -> bool:
        if touch.grab_current is not self:
            return super().on_touch_move(touch)
        key = self._held.get(touch.uid)
        if key is not None and not key.contains(*touch.pos):
            self._let_go(touch)
        return True

    def on_touch_up(self, touch: MotionEvent) -> bool:
        if touch.grab_current is not self:
            return super().on_touch_up(touch)
        key = self._let_go(touch)
        if key is not None and key.contains(*touch.pos):
            self.dispatch("on_key", key.place.key)
        return True

    def on_key(self, key: Key) -> None:
        """Default handler; the page binds the real one."""


def _render(text: str, font: str, font_size: float) -> Texture:
    """A label's texture in white; the panel tints it with the key's text colour."""
    label = CoreLabel(text=text, font_name=font, font_size=font_size)
    label.refresh()
    return label.texture


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
