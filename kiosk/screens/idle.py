"""The idle screen: who is serving, the question, and one touch button per level."""

from __future__ import annotations

from pathlib import Path

from kivy.lang import Builder
from kivy.properties import BooleanProperty, ColorProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout

from hailong.kiosk.screens.widgets import FlatScreen
from hailong.kiosk.staff import widgets as staff_widgets  # noqa: F401  (LanguageToggle)
from hailong.kiosk.viewmodels import IdleView, LevelButtonView

Builder.load_file(str(Path(__file__).with_name("idle.kv")))


class LevelButton(ButtonBehavior, BoxLayout):
    button = NumericProperty(0)
    label = StringProperty("")
    colour = ColorProperty((0.5, 0.5, 0.5, 1))
    text_colour = ColorProperty((1, 1, 1, 1))
    mouth = NumericProperty(0.0)


class IdleScreen(FlatScreen):
    """Shows an `IdleView`; a tap on a level dispatches `on_rate(button)`, a tap on
    the language toggle `on_language_choice(language)`."""

    officer_present = BooleanProperty(False)
    headline = StringProperty("")
    officer_title = StringProperty("")
    place = StringProperty("")
    photo_source = StringProperty("")
    question = StringProperty("")
    box_warning = StringProperty("")
    language = StringProperty("vi")

    __events__ = ("on_rate", "on_language_choice")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._buttons: tuple[LevelButtonView, ...] = ()

    def show(self, view: IdleView) -> None:
        self.officer_present = view.officer_present
        self.headline = view.headline
        self.officer_title = view.title
        self.place = view.place
        self.photo_source = str(view.photo) if view.photo else ""
        self.question = view.question
        self.box_warning = view.box_warning
        if view.buttons != self._buttons:
            self._build_buttons(view.buttons)

    def _build_buttons(self, buttons: tuple[LevelButtonView, ...]) -> None:
        row = self.ids.buttons
        row.clear_widgets()
        for view in buttons:
            widget = LevelButton(
                button=view.button,
                label=view.label,
                colour=view.colour,
                text_colour=view.text_colour,
                mouth=view.mouth,
            )
            widget.bind(on_release=lambda w: self.dispatch("on_rate", w.button))
            row.add_widget(widget)
        self._buttons = buttons

    def on_rate(self, button: int) -> None:
        """Default handler; the app binds the real one."""

    def on_language_choice(self, language: str) -> None:
        """Default handler; the staff desk binds the real one."""
