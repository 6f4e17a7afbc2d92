"""The staff screens, shown over the citizen's screens by `StaffDesk`. Each copies
a plain view (`hailong.kiosk.staff.views`) into its widgets and dispatches what
was touched; none of them talks to the controller."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from kivy.lang import Builder
from kivy.properties import BooleanProperty, ColorProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from hailong.kiosk.screens.keyboard import FieldKeyboard
from hailong.kiosk.screens.widgets import FlatScreen  # also registers PhotoFrame for KV
from hailong.kiosk.staff import widgets as _staff_widgets  # noqa: F401  (Keypad, StaffButton)
from hailong.kiosk.staff.views import (
    STAFF_BACKGROUND,
    TECHNICIAN_KEYBOARD,
    RosterEntry,
    SupervisorView,
    TechnicianView,
)
from hailong.kiosk.vi_keyboard import URL_KEYBOARD_ROWS
from hailong.kiosk.viewmodels import rgba

for _name in ("menu", "roster", "pin", "supervisor", "technician"):
    Builder.load_file(str(Path(__file__).with_name(f"{_name}.kv")))


class StaffScreen(FlatScreen):
    """A staff screen: all of them share one dark background."""

    background = ColorProperty(rgba(STAFF_BACKGROUND))


class MenuScreen(StaffScreen):
    """Sign in, sign out, supervisor, technician, back: dispatches `on_choice(name)`."""

    status = StringProperty("")
    officer_present = BooleanProperty(False)
    __events__ = ("on_choice",)

    def on_choice(self, name: str) -> None:
        """Default handler; the desk binds the real one."""


class RosterCell(ButtonBehavior, BoxLayout):
    officer_id = NumericProperty(0)
    name = StringProperty("")
    photo = StringProperty("")


class RosterScreen(StaffScreen):
    """The officers' photos; dispatches `on_pick(officer_id)` and `on_back`."""

    message = StringProperty("")
    __events__ = ("on_pick", "on_back")

    def show(self, entries: Sequence[RosterEntry]) -> None:
        grid = self.ids.roster
        grid.clear_widgets()
        for entry in entries:
            cell = RosterCell(
                officer_id=entry.officer_id,
                name=entry.name,
                photo=str(entry.photo) if entry.photo else "",
            )
            cell.bind(on_release=lambda c: self.dispatch("on_pick", c.officer_id))
            grid.add_widget(cell)

    def on_pick(self, officer_id: int) -> None:
        """Default handler."""

    def on_back(self) -> None:
        """Default handler."""


class PinScreen(StaffScreen):
    """A keypad for one PIN; dispatches `on_key(name)` and `on_back`."""

    heading = StringProperty("")
    dots = StringProperty("")
    message = StringProperty("")
    locked = StringProperty("")
    busy = BooleanProperty(False)
    __events__ = ("on_key", "on_back")

    def on_key(self, name: str) -> None:
        """Default handler."""

    def on_back(self) -> None:
        """Default handler."""


class SupervisorScreen(StaffScreen):
    sync = StringProperty("")
    __events__ = ("on_back",)

    def show(self, view: SupervisorView) -> None:
        from hailong.i18n import _

        table = self.ids.table
        table.clear_widgets()
        header = (_("Officer"), _("Today"), _("valid"), _("This month"), _("valid"),
                  _("SIPAS index"), _("Decision 766"))
        for text in header:
            table.add_widget(TableCell(text=text, bold=True))
        for row in view.rows:
            for text in (row.name, row.today, row.today_valid, row.month, row.month_valid,
                         row.sipas, row.d766):
                table.add_widget(TableCell(text=text))
        self.sync = view.sync

    def table_texts(self) -> list[list[str]]:
        """The table as drawn, row by row (the header first)."""
        table = self.ids.table
        cells = [cell.text for cell in reversed(table.children)]
        return [cells[i : i + table.cols] for i in range(0, len(cells), table.cols)]

    def on_back(self) -> None:
        """Default handler."""


class TableCell(Label):
    pass


class TestLight(Label):
    lit = BooleanProperty(False)
    colour = ColorProperty((0.5, 0.5, 0.5, 1))


class TechnicianScreen(StaffScreen):
    """Dispatches `on_button_test(on)`, `on_save(field, value)`, `on_enroll(code)`,
    `on_back`. Its text fields are typed on its own on-screen keyboard, which takes
    the place of the status lines while one of them has the focus."""

    box = StringProperty("")
    version = StringProperty("")
    clock = StringProperty("")
    enrollment = StringProperty("")
    sync = StringProperty("")
    message = StringProperty("")
    message_ok = BooleanProperty(True)
    testing = BooleanProperty(False)
    __events__ = ("on_button_test", "on_save", "on_enroll", "on_back")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        # The status lines and the keyboard take turns in the left column: held here,
        # since the one off screen has no other owner.
        self._status = self.ids.status
        # The column itself, not the weak proxy `ids` holds, so that `parent` compares.
        self._left = self._status.parent
        self._keyboard = FieldKeyboard(
            rows=URL_KEYBOARD_ROWS, background=rgba(TECHNICIAN_KEYBOARD),
            size_hint_y=None,
        )
        self._keys = BoxLayout(orientation="vertical")
        self._keys.add_widget(Widget())
        self._keys.add_widget(self._keyboard)
        self._keys.bind(width=lambda _box, width: setattr(self._keyboard, "height", width * 0.62))
        for field in (self.ids.server_url, self.ids.code):
            field.bind(focus=self._focus_changed)

    def _focus_changed(self, field: object, focused: bool) -> None:
        """The on-screen keyboard comes with the focus of a text field and goes with it
        (a USB keyboard types into the field as well)."""
        left = self._left
        if focused:
            self._keyboard.target = field
            self._keyboard.shift = False
            if self._status.parent is left:
                left.remove_widget(self._status)
                left.add_widget(self._keys, index=len(left.children))
        elif self._keyboard.target is field:
            self._keyboard.target = None
            if self._keys.parent is left:
                left.remove_widget(self._keys)
                left.add_widget(self._status, index=len(left.children))

    def show(self, view: TechnicianView, *, fields: bool) -> None:
        """With `fields`, the port and URL fields are set too."""
        self.box = view.box
        self.version = view.version
        self.clock = view.clock
        self.enrollment = view.enrollment
        self.sync = view.sync
        self.ids.port.values = list(view.ports)
        if fields:
            self.ids.port.text = view.port
            self.ids.server_url.text = view.server_url

    def reset(self) -> None:
        """As a technician opening it finds it: no test under way, no message."""
        self.ids.test_toggle.state = "normal"
        self.ids.server_url.focus = False
        self.ids.code.focus = False
        self.ids.code.text = ""
        self.say("", ok=True)

    def show_lights(self, colours: Sequence[tuple[float, float, float, float]]) -> None:
        row = self.ids.lights
        row.clear_widgets()
        for number, colour in enumerate(colours, start=1):
            row.add_widget(TestLight(text=str(number), colour=colour))

    def light(self, button: int) -> None:
        for widget in self.ids.lights.children:
            widget.lit = widget.text == str(button)

    def say(self, text: str, ok: bool) -> None:
        self.message = text
        self.message_ok = ok

    def on_button_test(self, on: bool) -> None:
        """Default handler."""

    def on_save(self, field: str, value: str) -> None:
        """Default handler."""

    def on_enroll(self, code: str) -> None:
        """Default handler."""

    def on_back(self) -> None:
        """Default handler."""
