"""What each screen shows, computed as plain data from the controller's state.

No Kivy here: the screens copy these values into widgets, and tests check them
without a window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hailong.config.settings import ScaleLevel
from hailong.i18n import _

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
    card: OfficerCard | None, scale: Sequence[ScaleLevel], box_status: BoxStatus
) -> IdleView:
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
        question=_("Are you satisfied with the service of officer {name}?").format(
            name=card.name
        ),
        buttons=buttons,
        box_warning=box_warning,
    )
