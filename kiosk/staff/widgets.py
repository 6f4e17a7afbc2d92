"""Small widgets of the staff screens: a coloured button, the PIN keypad, the
discreet mark in the idle screen's corner that opens the staff menu when held, and
the citizen's language toggle."""

from __future__ import annotations

from pathlib import Path

from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import ColorProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from hailong.kiosk.staff.views import KEYPAD_ROWS

Builder.load_file(str(Path(__file__).with_name("widgets.kv")))


class StaffButton(ButtonBehavior, Label):
    colour = ColorProperty((0.3, 0.3, 0.3, 1))


class Keypad(GridLayout):
    """Digits, "clear" and "ok"; dispatches `on_key(name)`."""

    key_colour = ColorProperty((0.3, 0.3, 0.3, 1))
    __events__ = ("on_key",)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cols=len(KEYPAD_ROWS[0]), **kwargs)
        for row in KEYPAD_ROWS:
            for name in row:
                key = KeypadKey(name=name)
                key.bind(on_release=lambda k: self.dispatch("on_key", k.name))
                self.add_widget(key)

    def on_key(self, name: str) -> None:
        """Default handler; the screen binds the real one."""


class KeypadKey(ButtonBehavior, Label):
    name = StringProperty("")


class LanguageToggle(BoxLayout):
    """ "Tiếng Việt | English": each language named in itself, the current one lit.
    A tap on either half dispatches `on_choose(language)`."""

    language = StringProperty("vi")
    __events__ = ("on_choose",)

    def on_touch_down(self, touch: object) -> bool:
        if not self.collide_point(*touch.pos):  # type: ignore[attr-defined]
            return False
        left = touch.x < self.center_x  # type: ignore[attr-defined]
        self.dispatch("on_choose", "vi" if left else "en")
        return True

    def on_choose(self, language: str) -> None:
        """Default handler; the screen binds the real one."""


class StaffMark(Widget):
    """Held for `hold_s`, it dispatches `on_hold`; a tap or a brush does nothing, so a
    citizen leaning on the corner does not open the staff menu."""

    hold_s = NumericProperty(3.0)
    __events__ = ("on_hold",)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._pending = None

    def on_touch_down(self, touch: object) -> bool:
        if not self.collide_point(*touch.pos):  # type: ignore[attr-defined]
            return False
        touch.grab(self)  # type: ignore[attr-defined]
        self._cancel()
        self._pending = Clock.schedule_once(lambda _dt: self.dispatch("on_hold"), self.hold_s)
        return True

    def on_touch_up(self, touch: object) -> bool:
        if touch.grab_current is not self:  # type: ignore[attr-defined]
            return False
        touch.ungrab(self)  # type: ignore[attr-defined]
        self._cancel()
        return True

    def _cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    def on_hold(self) -> None:
        """Default handler; the staff desk binds the real one."""
