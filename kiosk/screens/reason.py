"""Why was the citizen not satisfied: large choices, the same whatever level was
pressed (nothing here tells the officer which it was), and "Skip"."""

from __future__ import annotations

from pathlib import Path

from kivy.lang import Builder
from kivy.properties import ColorProperty

from hailong.kiosk.screens.keyboard import TouchButton
from hailong.kiosk.screens.widgets import FlatScreen
from hailong.kiosk.viewmodels import (
    CHOICE_COLOUR,
    PRIMARY_COLOUR,
    REASON_BACKGROUND,
    REASON_COLUMNS,
    SECONDARY_COLOUR,
    ReasonChoice,
)

Builder.load_file(str(Path(__file__).with_name("reason.kv")))


class ReasonButton(TouchButton):
    """One reason, its words large enough to read at arm's length."""


class ReasonScreen(FlatScreen):
    """Shows the reasons; a tap dispatches `on_reason(code)`, "Skip" `on_reason(None)`."""

    background = ColorProperty(REASON_BACKGROUND)
    choice_colour = ColorProperty(CHOICE_COLOUR)
    primary_colour = ColorProperty(PRIMARY_COLOUR)
    secondary_colour = ColorProperty(SECONDARY_COLOUR)
    columns = REASON_COLUMNS

    __events__ = ("on_reason",)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._choices: tuple[ReasonChoice, ...] = ()

    def show(self, choices: tuple[ReasonChoice, ...]) -> None:
        if choices == self._choices:
            return
        grid = self.ids.choices
        grid.clear_widgets()
        for choice in choices:
            button = ReasonButton(text=choice.label, colour=self.choice_colour)
            button.bind(on_release=lambda _b, code=choice.code: self.dispatch("on_reason", code))
            grid.add_widget(button)
        self._choices = choices

    def on_reason(self, code: str | None) -> None:
        """Default handler; the app binds the real one."""
