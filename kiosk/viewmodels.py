"""What each screen shows, computed as plain data from the controller's state.

No Kivy here: the screens copy these values into widgets, and tests check them
without a window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hailong.config.reasons import REASONS, ReasonCode
from hailong.config.settings import ScaleLevel
from hailong.i18n import _
from hailong.kiosk.flow import valid_phone
from hailong.kiosk.vi_keyboard import Key
from hailong.sync.wire import MAX_COMMENT

if TYPE_CHECKING:
    from hailong.kiosk.controller import BoxStatus, OfficerCard

RGBA = tuple[float, float, float, float]

# How far the mouth bends, from a frown (-1) to a broad smile (+1). A name we do not
# know gets a straight mouth rather than a guess at a feeling.
MOUTHS: dict[str, float] = {
    "very_happy": 1.0,
    "happy": 0.55,
    "neutral": 0.0,
    "unhappy": -0.55,
    "very_unhappy": -1.0,
}

# Plain backgrounds, also how tests and the screenshot tool recognise each screen.
# The thank-you's is a calm blue that is none of a scale's colours.
THANKS_BACKGROUND = "#1f4e79"
NOT_ENROLLED_BACKGROUND = "#edf0f4"

DARK_TEXT: RGBA = (0.10, 0.13, 0.18, 1.0)
LIGHT_TEXT: RGBA = (1.0, 1.0, 1.0, 1.0)


def mouth_points(
    curvature: float, cx: float, cy: float, radius: float, steps: int = 16
) -> list[float]:
    """A parabola for the mouth: its ends rise above its middle when `curvature` > 0
    (a smile) and drop below it when < 0 (a frown); 0 is a straight line.

    Returned flat (x0, y0, x1, y1, ...) as `Line(points=...)` wants them.
    """
    half_width = 0.5 * radius
    baseline = cy - 0.38 * radius
    depth = 0.26 * radius * max(-1.0, min(1.0, curvature))
    points: list[float] = []
    for i in range(steps + 1):
        t = -1.0 + 2.0 * i / steps
        points += [cx + t * half_width, baseline + depth * (t * t - 0.5)]
    return points


def rgba(colour: str) -> RGBA:
    """`#rrggbb` → Kivy's 0..1 floats."""
    value = colour.removeprefix("#")
    if len(value) != 6:
        raise ValueError(f"expected a colour like #1b7f3b, got {colour!r}")
    red, green, blue = (int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return (red, green, blue, 1.0)


def _luminance(colour: RGBA) -> float:
    """WCAG relative luminance."""

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.03928 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue, _alpha = colour
    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def readable_text_on(background: RGBA) -> RGBA:
    """Dark text on light buttons (yellow), white text on dark ones (green, red).

    Chooses by WCAG contrast ratio, so every label stays legible whatever colour a
    unit configures.
    """
    luminance = _luminance(background)
    contrast_with_white = (_luminance(LIGHT_TEXT) + 0.05) / (luminance + 0.05)
    contrast_with_dark = (luminance + 0.05) / (_luminance(DARK_TEXT) + 0.05)
    return LIGHT_TEXT if contrast_with_white >= contrast_with_dark else DARK_TEXT


@dataclass(frozen=True)
class LevelButtonView:
    button: int
    label: str
    colour: RGBA
    text_colour: RGBA
    mouth: float


@dataclass(frozen=True)
class IdleView:
    officer_present: bool
    headline: str
    title: str
    place: str
    photo: Path | None
    question: str
    buttons: tuple[LevelButtonView, ...]
    box_warning: str


def level_buttons(scale: Sequence[ScaleLevel]) -> tuple[LevelButtonView, ...]:
    """The touch buttons in the box's order: button 1 on the left."""
    views = []
    for level in sorted(scale, key=lambda lvl: lvl.button):
        colour = rgba(level.colour)
        views.append(
            LevelButtonView(
                button=level.button,
                label=level.label,
                colour=colour,
                text_colour=readable_text_on(colour),
                mouth=MOUTHS.get(level.icon, 0.0),
            )
        )
    return tuple(views)


def idle_view(
    card: OfficerCard | None,
    scale: Sequence[ScaleLevel],
    box_status: BoxStatus,
    question: str = "",
) -> IdleView:
    """`question`: the unit's own wording of the question (empty: the built-in one)."""
    # "connecting" counts too: a box that is never found may never leave it.
    box_warning = (
        _("Button box not connected") if box_status in ("disconnected", "connecting") else ""
    )
    buttons = level_buttons(scale)
    if card is None:
        return IdleView(
            officer_present=False,
            headline=_("This counter is taking a short break"),
            title="",
            place="",
            photo=None,
            question=_("Are you satisfied with the service at this counter?"),
            buttons=buttons,
            box_warning=box_warning,
        )
    return IdleView(
        officer_present=True,
        headline=card.name,
        title=card.title,
        place=" · ".join(part for part in (card.counter_name, card.unit_name) if part),
        photo=card.photo_path,
        question=question
        or _("Are you satisfied with the service of officer {name}?").format(name=card.name),
        buttons=buttons,
        box_warning=box_warning,
    )


# -- the follow-up after a low rating ----------------------------------------------------
# Each page has its own plain background so tests and the screenshot tool recognise it;
# none is a scale colour, and nothing on them depends on the level chosen (officer-blind).
# Light tints off the grey axis: the idle screen's anti-aliased text never hits them.
REASON_BACKGROUND = "#f6f1e7"
COMMENT_BACKGROUND = "#ecf4ec"
CONSENT_BACKGROUND = "#f1ecf6"
PHONE_BACKGROUND = "#e8f1f7"
# The reason choices, the "Send"/"Yes" buttons and the "Skip"/"No" ones: one colour
# each, so a test finds every button of a kind by its colour.
CHOICE_COLOUR = "#dde7f3"
PRIMARY_COLOUR = "#1f5fa8"
SECONDARY_COLOUR = "#687385"
KEYBOARD_BACKGROUND = "#cfd5dd"
KEY_COLOUR = "#fbfcfd"
SPECIAL_KEY_COLOUR = "#e4e8ee"
# Reasons are laid out in this many columns, filled row by row.
REASON_COLUMNS = 2


@dataclass(frozen=True)
class ReasonChoice:
    code: ReasonCode
    label: str


def reason_choices(codes: Sequence[ReasonCode]) -> tuple[ReasonChoice, ...]:
    """The policy's reasons in its order, labelled in the current language."""
    return tuple(ReasonChoice(code, _(REASONS[code].label)) for code in codes)


def choice_centre(box: tuple[int, int, int, int], index: int, count: int) -> tuple[int, int]:
    """Where to tap the `index`th of `count` reason choices, given the bounding box
    (x, y, width, height) of all of them on screen (for tests and screenshots)."""
    x, y, width, height = box
    rows = -(-count // REASON_COLUMNS)
    row, column = divmod(index, REASON_COLUMNS)
    return (x + int((column + 0.5) * width / REASON_COLUMNS), y + int((row + 0.5) * height / rows))


@dataclass(frozen=True)
class PhoneView:
    digits: str
    can_send: bool
    hint: str


# 0 and nine digits (the keypad has no "+"): a longer entry can only be a mistake.
PHONE_MAX_LENGTH = 10
PHONE_BACKSPACE = "backspace"


def phone_key(digits: str, key: str) -> str:
    """The number after a keypad key: a digit, or `PHONE_BACKSPACE`."""
    if key == PHONE_BACKSPACE:
        return digits[:-1]
    if len(key) != 1 or not key.isdigit():
        raise ValueError(f"the keypad has digits and backspace only, got {key!r}")
    return digits + key if len(digits) < PHONE_MAX_LENGTH else digits


def phone_view(digits: str) -> PhoneView:
    """The number as typed so far, and whether "Send" may be pressed."""
    if valid_phone(digits):
        return PhoneView(digits, True, "")
    return PhoneView(
        digits,
        False,
        _("A mobile number has 10 digits and starts with 0.") if digits else "",
    )


def comment_counter(text: str) -> str:
    return _("{used} of {limit} characters").format(used=len(text), limit=MAX_COMMENT)


# What fits the comment box at once; the start of a longer comment scrolls out of view.
COMMENT_VISIBLE_CHARS = 110


def comment_display(text: str) -> str:
    if len(text) <= COMMENT_VISIBLE_CHARS:
        return text
    return "…" + text[-(COMMENT_VISIBLE_CHARS - 1) :]


# The phone keypad: digits and backspace only, laid out like a phone's.
KEYPAD_ROWS: tuple[tuple[Key, ...], ...] = (
    tuple(Key("char", d) for d in "123"),
    tuple(Key("char", d) for d in "456"),
    tuple(Key("char", d) for d in "789"),
    (Key("char", "0"), Key("backspace", "")),
)
