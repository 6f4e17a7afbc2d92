"""Shown instead of the rating screens until a technician enrolls the kiosk."""

from __future__ import annotations

from pathlib import Path

from kivy.lang import Builder
from kivy.properties import ColorProperty
from kivy.uix.screenmanager import Screen

from hailong.kiosk.viewmodels import NOT_ENROLLED_BACKGROUND

Builder.load_file(str(Path(__file__).with_name("not_enrolled.kv")))


class NotEnrolledScreen(Screen):
    background = ColorProperty(NOT_ENROLLED_BACKGROUND)
