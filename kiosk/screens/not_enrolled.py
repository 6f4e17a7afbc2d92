"""Shown instead of the rating screens until a technician enrolls the kiosk."""

from __future__ import annotations

from pathlib import Path

from kivy.lang import Builder
from kivy.properties import ColorProperty

from hailong.kiosk.screens.widgets import FlatScreen
from hailong.kiosk.viewmodels import NOT_ENROLLED_BACKGROUND

Builder.load_file(str(Path(__file__).with_name("not_enrolled.kv")))


class NotEnrolledScreen(FlatScreen):
    background = ColorProperty(NOT_ENROLLED_BACKGROUND)
