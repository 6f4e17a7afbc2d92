import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hailong.kiosk.vi_keyboard import (
    KEYBOARD_ROWS,
    Composer,
    Key,
    Tone,
    key_rects,
    keys_for,
    place_tone,
    press,
)

LOWER_VOWELS = "aăâeêioôơuưy"
TONES = "\u0301\u0300\u0309\u0303\u0323"
# The 134 letters of Vietnamese beyond the plain Latin ones: each vowel with each of
# the five tones, the six vowels with their own mark, and đ; lower and upper case.
LOWER_LETTERS = [
    unicodedata.normalize("NFC", vowel + tone) for vowel in LOWER_VOWELS for tone in TONES
] + list("ăâêôơưđ")
ALL_LETTERS = LOWER_LETTERS + [letter.upper() for letter in LOWER_LETTERS]
LAYOUT_KEYS = [key for row in KEYBOARD_ROWS for key in row]


def typed(keys, max_length=1000):
    composer = Composer(max_length)
    for key in keys:
        press(composer, key)
    return composer.text


def layout_key(key):
    """The key on the keyboard a person would press for `key`."""
    return next(k for k in LAYOUT_KEYS if (k.kind, k.value) == (key.kind, key.value))


def test_there_are_134_letters_to_reach():
    assert len(set(ALL_LETTERS)) == 134
    assert all(len(letter) == 1 for letter in ALL_LETTERS)


@given(st.sampled_from(ALL_LETTERS))
def test_every_vietnamese_letter_can_be_typed_from_the_keyboards_keys(letter):
    keys = [layout_key(key) for key in keys_for(letter)]
    assert typed(keys) == letter


@pytest.mark.parametrize(
    "word",
    ["hoà", "hoè", "thuỷ", "hoàn", "toán", "người", "thuở", "quý", "quốc", "giữ", "gì",
     "của", "mùa", "ngoài", "xoáy", "khuỷu", "nghiêng", "Việt", "Đường", "được", "khuyến",
     "quà", "tuổi", "hỏi"],
)
def test_tones_land_where_vietnamese_writes_them(word):
    assert typed(keys_for(word)) == word


def test_the_tone_may_be_pressed_before_the_last_letters():
    composer = Composer(100)
    for key in keys_for("hoa"):
        press(composer, key)
    composer.tone(Tone.HUYEN)
    assert composer.text == "hoà"
    composer.type("n")
    assert composer.text == "hoàn"  # moved with the syllable, not left behind


def test_another_tone_replaces_the_mark_and_the_same_one_removes_it():
    composer = Composer(100, "viêt")
    composer.tone(Tone.SAC)
    assert composer.text == "viết"
    composer.tone(Tone.NANG)
    assert composer.text == "việt"
    composer.tone(Tone.NANG)
    assert composer.text == "viêt"


def test_a_tone_without_a_vowel_to_carry_it_changes_nothing():
    composer = Composer(100, "chờ ")
    assert not composer.tone(Tone.SAC)
    assert composer.text == "chờ "
    composer = Composer(100, "ng")
    assert not composer.tone(Tone.HOI)


def test_tones_mark_only_the_last_word():
    composer = Composer(100, "chờ qua")
    composer.tone(Tone.SAC)
    assert composer.text == "chờ quá"


def test_backspace_takes_letters_and_moves_the_tone_back():
    composer = Composer(100, "hoàn")
    composer.backspace()
    assert composer.text == "hoà"
    composer.backspace()
    assert composer.text == "ho"  # the tone went with its letter
    composer = Composer(100, "được")
    composer.backspace()
    assert composer.text == "đượ"
    assert Composer(100).backspace() is False


def test_shift_makes_only_the_next_letter_a_capital():
    composer = Composer(100)
    composer.toggle_shift()
    for char in "ưng":
        composer.type(char)
    assert composer.text == "Ưng"
    assert not composer.shift


def test_the_text_stops_at_its_limit():
    composer = Composer(3)
    for char in "abcd":
        composer.type(char)
    assert composer.text == "abc"
    assert composer.space() is False


def test_a_key_types_one_character():
    with pytest.raises(ValueError, match="one character"):
        Composer(10).type("ab")


def test_the_sentence_of_the_acceptance_test():
    assert typed(keys_for("Người dân chờ quá lâu")) == "Người dân chờ quá lâu"


@given(st.lists(st.sampled_from(LAYOUT_KEYS), max_size=60), st.integers(1, 40))
def test_whatever_is_pressed_the_text_is_nfc_and_within_its_limit(keys, limit):
    composer = Composer(limit)
    for key in keys:
        press(composer, key)
        assert unicodedata.is_normalized("NFC", composer.text)
        assert len(composer.text) <= limit


@given(st.lists(st.sampled_from(LOWER_LETTERS + list("bcdghklmnpqrstvx ")), max_size=12))
def test_typing_a_text_key_by_key_gives_it_back_with_its_tones_in_place(chars):
    words = "".join(chars).split(" ")
    # One tone per syllable, where the orthography puts it.
    text = " ".join(place_tone(*split_tone(word)) for word in words)
    assert typed(keys_for(text)) == text


def split_tone(word):
    bare = unicodedata.normalize(
        "NFC", "".join(c for c in unicodedata.normalize("NFD", word) if c not in TONES)
    )
    tone = next((Tone(c) for c in unicodedata.normalize("NFD", word) if c in TONES), None)
    return bare, tone


def test_the_keys_fill_the_keyboard_without_overlapping():
    rects = key_rects()
    assert len(rects) == len(LAYOUT_KEYS)
    for rect in rects:
        assert rect.x > 0 and rect.x + rect.width < 1
        assert rect.y > 0 and rect.y + rect.height < 1
    for a in rects:
        for b in rects:
            if a is not b:
                assert (a.x + a.width <= b.x or b.x + b.width <= a.x
                        or a.y + a.height <= b.y or b.y + b.height <= a.y)


def test_tone_keys_show_the_tone_on_a_letter():
    assert [Key("tone", tone.value).label for tone in Tone] == ["á", "à", "ả", "ã", "ạ"]
