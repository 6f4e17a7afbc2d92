"""The key panel, one widget that draws its keys itself, in a real Kivy window (Xvfb):
a tap on a key dispatches it, a touch that slides off dispatches nothing, and the
shift upper-cases the letters it draws."""

import textwrap

import pytest
from xvfb import run_in_kivy_window

pytestmark = pytest.mark.gui

# A fresh interpreter: Kivy reads its environment once, at its first import, and the
# window belongs to this script alone. Touches go through the window's own dispatch.
SCRIPT = textwrap.dedent(
    """
    import json, pathlib, sys
    from hailong.kiosk.kivy_env import prepare_kivy_environment
    prepare_kivy_environment(pathlib.Path(sys.argv[1]))
    from kivy.base import EventLoop
    from kivy.clock import Clock
    from kivy.core.text import Label as CoreLabel
    from kivy.graphics import Color, Rectangle, SmoothRoundedRectangle
    from kivy.tests.common import UnitTestTouch
    from hailong.kiosk.screens.keyboard import KeyPanel
    from hailong.kiosk.vi_keyboard import KEYBOARD_ROWS, key_rects

    EventLoop.ensure_window()
    window = EventLoop.window
    panel = KeyPanel()
    window.add_widget(panel)
    Clock.tick()
    places = key_rects(KEYBOARD_ROWS)
    pressed = []
    panel.bind(on_key=lambda _panel, key: pressed.append(key.value or key.kind))

    def centre(value):
        place = next(p for p in places if p.key.value == value)
        x, y = place.centre
        return panel.x + x * panel.width, panel.top - y * panel.height

    def drawn():
        # One label rectangle per key, in the order of key_rects.
        return [i.texture for i in panel.canvas.children if type(i) is Rectangle]

    result = {}
    touch = UnitTestTouch(*centre("q"))
    touch.touch_down()
    touch.touch_up()
    result["tap"] = list(pressed)

    pressed.clear()
    x, y = centre("q")
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    touch.touch_move(x + 2, y + 2)
    touch.touch_up()
    result["wobble"] = list(pressed)

    def shade_of(value):
        # The colour each key's shape is drawn in: the last one set before it.
        shades, colour = [], None
        for instruction in panel.canvas.children:
            if type(instruction) is Color:
                colour = instruction
            elif type(instruction) is SmoothRoundedRectangle:
                shades.append(list(colour.rgba))
        return next(shade for shade, p in zip(shades, places) if p.key.value == value)

    pressed.clear()
    touch = UnitTestTouch(*centre("q"))
    shades = [shade_of("q")]
    touch.touch_down()
    shades.append(shade_of("q"))
    touch.touch_move(*centre("w"))
    shades.append(shade_of("q"))
    touch.touch_up()
    result["slide"] = list(pressed)
    result["shades"] = shades

    touch = UnitTestTouch(*centre("q"))
    touch.touch_down()
    touch.touch_move(*centre("w"))
    touch.touch_move(*centre("q"))
    touch.touch_up()
    result["slide_back"] = list(pressed)

    lower = drawn()
    panel.shift = True
    Clock.tick()
    upper = drawn()
    labels = [panel.label_of(p.key) for p in places]
    panel.shift = False
    Clock.tick()
    again = drawn()
    index = {p.key.value: n for n, p in enumerate(places) if p.key.kind == "char"}
    font_size = places[0].height * panel.height * 0.46
    capital = CoreLabel(text="Q", font_size=font_size)
    capital.refresh()
    result["shift"] = {
        "labels": labels,
        "q_drawn_as_Q": upper[index["q"]].pixels == capital.texture.pixels,
        "q_changed": upper[index["q"]] is not lower[index["q"]],
        "digit_kept": upper[index["1"]] is lower[index["1"]],
        "lower_back_from_cache": again[index["q"]] is lower[index["q"]],
    }
    tones = [drawn()[n] for n, p in enumerate(places) if p.key.kind == "tone"]
    result["tone_textures"] = len(set(map(id, tones)))
    print(json.dumps(result))
    """
)


@pytest.fixture(scope="module")
def panel_run(tmp_path_factory):
    return run_in_kivy_window(SCRIPT, tmp_path_factory.mktemp("key-panel") / "kivy")


def test_a_tap_on_a_key_dispatches_that_key(panel_run):
    assert panel_run["tap"] == ["q"]


def test_a_touch_that_wobbles_on_its_key_still_dispatches_it(panel_run):
    assert panel_run["wobble"] == ["q"]


def test_a_touch_that_slides_off_its_key_dispatches_nothing(panel_run):
    assert panel_run["slide"] == []


def test_a_held_key_is_darkened_until_the_touch_slides_off(panel_run):
    before, held, slid_off = panel_run["shades"]
    assert held == pytest.approx([c * 0.8 for c in before[:3]] + [1])
    assert slid_off == before


def test_a_touch_that_slides_off_and_back_stays_cancelled(panel_run):
    assert panel_run["slide_back"] == []


def test_shift_draws_the_letters_in_capitals_and_leaves_the_rest(panel_run):
    shift = panel_run["shift"]
    labels = shift["labels"]
    assert labels[:10] == list("1234567890")
    assert "Q" in labels and "Đ" in labels and "q" not in labels
    assert {"⇧", "⌫", "␣", "á"} <= set(labels)
    assert shift["q_drawn_as_Q"]
    assert shift["q_changed"]
    assert shift["digit_kept"]
    assert shift["lower_back_from_cache"]


def test_keys_with_one_look_share_one_label_texture(panel_run):
    # The five tone keys show five different marks: five textures, not one per draw.
    assert panel_run["tone_textures"] == 5
