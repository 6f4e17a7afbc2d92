"""The technician's on-screen keyboard as plain Python: its layout and what a key
does to a text field at its cursor."""

from itertools import pairwise

import pytest

from hailong.kiosk.vi_keyboard import (
    URL_KEYBOARD_ROWS,
    Key,
    key_rects,
    keys_for,
    press_at,
)

BACKSPACE = Key("backspace", "")
SHIFT = Key("shift", "")


def typed(keys, text="", cursor=None, max_length=200):
    cursor = len(text) if cursor is None else cursor
    shift = False
    for key in keys:
        text, cursor, shift = press_at(text, cursor, key, shift=shift, max_length=max_length)
    return text, cursor


def test_every_sign_of_a_server_url_and_a_code_has_its_key():
    on_board = {key.value for row in URL_KEYBOARD_ROWS for key in row if key.kind == "char"}
    assert set("abcdefghijklmnopqrstuvwxyz0123456789:/.-_") == on_board
    assert not any(key.kind == "tone" for row in URL_KEYBOARD_ROWS for key in row)
    # Every key inside the panel, none overlapping the next in its row.
    rects = key_rects(URL_KEYBOARD_ROWS)
    assert all(r.x > 0 and r.x + r.width < 1 and r.y > 0 and r.y + r.height < 1 for r in rects)
    for left, right in pairwise(rects):
        if left.y == right.y:
            assert left.x + left.width < right.x


@pytest.mark.parametrize("url", ["http://127.0.0.1:8181", "https://hai-long.example_x/api"])
def test_a_url_typed_key_by_key_comes_out_as_typed(url):
    assert typed(keys_for(url)) == (url, len(url))


def test_keys_act_at_the_cursor_and_leave_the_rest_alone():
    # The cursor after "http": the missing ":" goes in there.
    assert typed([Key("char", ":")], "http//x", cursor=4) == ("http://x", 5)
    assert typed([BACKSPACE, BACKSPACE], "http://x", cursor=7) == ("http:x", 5)
    assert typed([BACKSPACE], "abc", cursor=0) == ("abc", 0)


def test_shift_makes_one_capital():
    assert typed([SHIFT, Key("char", "a"), Key("char", "b")]) == ("Ab", 2)


def test_a_full_field_takes_no_more_and_loses_nothing():
    assert typed([Key("char", "z")], "abcd", cursor=2, max_length=4) == ("abcd", 2)
    # Longer than the limit already (typed on a USB keyboard): kept whole.
    assert typed([Key("char", "z")], "abcdef", cursor=6, max_length=4) == ("abcdef", 6)
    assert typed([BACKSPACE], "abcdef", cursor=6, max_length=4) == ("abcde", 5)
