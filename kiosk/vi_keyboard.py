"""Typing Vietnamese on a touch screen, as plain Python: the composer behind the
on-screen keyboard, and the keyboard's layout.

The keyboard has a key for every base letter, one for each modified letter
(ă â ê ô ơ ư đ) and one for each of the five tones. A tone key marks the syllable
being typed, wherever its letters already are, so a citizen can press it before or
after the final consonant: the composer keeps each word as bare letters plus one
tone and places the tone itself.

Tone placement follows the "new" rule of the 1980s orthography reform (the one most
Vietnamese input methods default to): the tone sits on the syllable's main vowel, so
"hoà", "hoè", "thuỷ" (not "hòa", "hòe", "thủy"). In full:
1. "qu" and "gi" before another vowel are consonants ("quý", "giữ"; but "gì").
2. A vowel with its own mark (ă â ê ô ơ ư) takes the tone; of two, the second
   ("người", "thuở").
3. With a final consonant, the last vowel takes it ("hoàn", "toán").
4. Otherwise: of three vowels the middle one ("ngoài"); of two, the second in
   "oa", "oe", "uy" ("hoà", "thuỷ") and the first in any other pair ("của", "hai").

Pressing another tone on a marked syllable replaces the mark; pressing the same one
again takes it off. Output is always NFC.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Tone(StrEnum):
    """The five marked tones, by their Vietnamese names, as combining characters."""

    SAC = "\u0301"
    HUYEN = "\u0300"
    HOI = "\u0309"
    NGA = "\u0303"
    NANG = "\u0323"


TONE_NAMES: dict[Tone, str] = {
    Tone.SAC: "sắc",
    Tone.HUYEN: "huyền",
    Tone.HOI: "hỏi",
    Tone.NGA: "ngã",
    Tone.NANG: "nặng",
}

VOWELS = "aăâeêioôơuưy"
MODIFIED_LETTERS = "ăâêôơưđ"
_MARKED_VOWELS = "ăâêôơư"
_SECOND_VOWEL_PAIRS = ("oa", "oe", "uy")
_WORD_BREAKS = frozenset(" \n\t.,;:!?()\"'-/")
_TONE_CHARS = frozenset(tone.value for tone in Tone)


def _base(char: str) -> str:
    """A letter without its tone (its own mark, as in ư, stays)."""
    return unicodedata.normalize(
        "NFC",
        "".join(c for c in unicodedata.normalize("NFD", char) if c not in _TONE_CHARS),
    )



def _tone_of(char: str) -> Tone | None:
    for c in unicodedata.normalize("NFD", char):
        if c in _TONE_CHARS:
            return Tone(c)
    return None


def _with_tone(char: str, tone: Tone | None) -> str:
    base = _base(char)
    return base if tone is None else unicodedata.normalize("NFC", base + tone.value)


def tone_position(bare: str) -> int | None:
    """Which letter of the bare (untoned) syllable `bare` takes the tone; None when
    it has no vowel to carry one."""
    word = bare.lower()
    start = 0
    if word[:2] in ("qu", "gi") and len(word) > 2 and word[2] in VOWELS:
        start = 2
    while start < len(word) and word[start] not in VOWELS:
        start += 1
    end = start
    while end < len(word) and word[end] in VOWELS:
        end += 1
    if start == end:
        return None
    cluster = word[start:end]
    marked = [i for i, c in enumerate(cluster) if c in _MARKED_VOWELS]
    if marked:
        return start + marked[-1]
    if len(cluster) == 1:
        return start
    if end < len(word):
        return end - 1
    if len(cluster) >= 3:
        return start + 1
    return start + (1 if cluster in _SECOND_VOWEL_PAIRS else 0)


def place_tone(bare: str, tone: Tone | None) -> str:
    """`bare` with `tone` on the right vowel (unchanged when it has none), in NFC."""
    position = tone_position(bare) if tone is not None else None
    if position is None:
        return unicodedata.normalize("NFC", bare)
    return bare[:position] + _with_tone(bare[position], tone) + bare[position + 1 :]


def _split_word(text: str) -> tuple[str, str]:
    """The text before the word being typed, and that word."""
    cut = len(text)
    while cut > 0 and text[cut - 1] not in _WORD_BREAKS:
        cut -= 1
    return text[:cut], text[cut:]


def _word_parts(word: str) -> tuple[str, Tone | None]:
    tone = next((t for t in map(_tone_of, word) if t is not None), None)
    return "".join(_base(c) for c in word), tone


class Composer:
    """The text on the comment page as keys are pressed; `text` is always NFC and
    never longer than `max_length`."""

    def __init__(self, max_length: int, text: str = "") -> None:
        self.max_length = max_length
        self.text = unicodedata.normalize("NFC", text)[:max_length]
        # One-shot, like a phone's shift: the next letter only is a capital.
        self.shift = False

    def toggle_shift(self) -> None:
        self.shift = not self.shift

    def type(self, char: str) -> bool:
        """A letter, digit or punctuation key; False when the text is full."""
        if len(char) != 1:
            raise ValueError(f"one character per key, got {char!r}")
        if len(self.text) >= self.max_length:
            return False
        if self.shift and char.isalpha():
            char = char.upper()
            self.shift = False
        before, word = _split_word(self.text)
        if char in _WORD_BREAKS:
            self.text = before + word + char
            return True
        bare, tone = _word_parts(word)
        self.text = before + place_tone(bare + char, tone)
        return True

    def space(self) -> bool:
        return self.type(" ")

    def tone(self, tone: Tone) -> bool:
        """Mark the word being typed; False when it has no vowel to mark."""
        before, word = _split_word(self.text)
        bare, current = _word_parts(word)
        if tone_position(bare) is None:
            return False
        self.text = before + place_tone(bare, None if current is tone else tone)
        return True

    def backspace(self) -> bool:
        """Remove the last letter (with its marks); the word's tone, if it was on
        another letter, moves to where the shorter word wants it."""
        if not self.text:
            return False
        before, word = _split_word(self.text[:-1])
        removed = self.text[-1]
        bare, tone = _word_parts(word)
        if _tone_of(removed) is not None:
            tone = None
        self.text = before + place_tone(bare, tone)
        return True


# -- the layout ------------------------------------------------------------------------

KeyKind = Literal["char", "tone", "shift", "backspace", "space"]


@dataclass(frozen=True)
class Key:
    kind: KeyKind
    value: str
    # Width in key units; a row's units fill the keyboard's width.
    units: float = 1.0

    @property
    def label(self) -> str:
        if self.kind == "tone":
            return place_tone("a", Tone(self.value))
        return {"shift": "⇧", "backspace": "⌫", "space": "␣"}.get(self.kind, self.value)


def _chars(letters: str) -> tuple[Key, ...]:
    return tuple(Key("char", c) for c in letters)


KEYBOARD_ROWS: tuple[tuple[Key, ...], ...] = (
    _chars("1234567890"),
    _chars(MODIFIED_LETTERS) + tuple(Key("tone", t.value) for t in Tone),
    _chars("qwertyuiop"),
    _chars("asdfghjkl"),
    (Key("shift", "", 1.5), *_chars("zxcvbnm"), Key("backspace", "", 1.5)),
    (*_chars(",."), Key("space", " ", 6.0), *_chars("?!")),
)

# The technician's fields (server URL, enrollment code): no tones, and the few signs
# an address needs on a row of their own.
URL_KEYBOARD_ROWS: tuple[tuple[Key, ...], ...] = (
    _chars("1234567890"),
    _chars("qwertyuiop"),
    _chars("asdfghjkl"),
    (Key("shift", "", 1.5), *_chars("zxcvbnm"), Key("backspace", "", 1.5)),
    tuple(Key("char", sign, 2.0) for sign in ":/.-_"),
)

# Around the keys, as a fraction of the keyboard's width or height.
KEYBOARD_MARGIN = 0.01
KEY_GAP = 0.006


@dataclass(frozen=True)
class KeyRect:
    """Where a key sits in the keyboard, in fractions of its size; y from the top."""

    key: Key
    x: float
    y: float
    width: float
    height: float

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.width / 2, self.y + self.height / 2


def key_rects(rows: tuple[tuple[Key, ...], ...] = KEYBOARD_ROWS) -> list[KeyRect]:
    """Every key's place: rows of equal height, each row's keys sharing its width by
    their units and centred when a row has fewer units than the widest."""
    widest = max(sum(key.units for key in row) for row in rows)
    inner = 1 - 2 * KEYBOARD_MARGIN
    unit = inner / widest
    row_height = inner / len(rows)
    rects = []
    for r, row in enumerate(rows):
        x = KEYBOARD_MARGIN + (widest - sum(key.units for key in row)) * unit / 2
        y = KEYBOARD_MARGIN + r * row_height
        for key in row:
            width = key.units * unit
            rects.append(
                KeyRect(key, x + KEY_GAP / 2, y + KEY_GAP / 2, width - KEY_GAP,
                        row_height - KEY_GAP)
            )
            x += width
    return rects


def keys_for(text: str) -> list[Key]:
    """The keys a person presses to type `text` (for tests and the screenshot tool):
    each word's bare letters, shift before a capital, then the word's tone."""
    keys: list[Key] = []
    for number, word in enumerate(unicodedata.normalize("NFC", text).split(" ")):
        if number:
            keys.append(Key("space", " "))
        bare, tone = _word_parts(word)
        for char in bare:
            if char.isupper():
                keys.append(Key("shift", ""))
            keys.append(Key("char", char.lower()))
        if tone is not None:
            keys.append(Key("tone", tone.value))
    return keys


def press(composer: Composer, key: Key) -> bool:
    """What a key does to the composer."""
    if key.kind == "tone":
        return composer.tone(Tone(key.value))
    if key.kind == "shift":
        composer.toggle_shift()
        return True
    if key.kind == "backspace":
        return composer.backspace()
    return composer.type(key.value)


def press_at(
    text: str, cursor: int, key: Key, *, shift: bool, max_length: int
) -> tuple[str, int, bool]:
    """What `key` does to a text field holding `text` with its cursor at `cursor`:
    the new text, cursor and one-shot shift. The key acts on the text before the
    cursor as `press` would; the rest follows unchanged. Text already longer than
    `max_length` (e.g. typed on a real keyboard) is kept, not cut."""
    before, after = text[:cursor], text[cursor:]
    composer = Composer(max(max_length - len(after), len(before)), before)
    composer.shift = shift
    press(composer, key)
    return composer.text + after, len(composer.text), composer.shift
