"""The rating session at one counter: who is serving, and what a press means.

Pure: no clock reads and no I/O. The caller passes the monotonic time of each press
and stores the `NewRating` it gets back; the store adds the id, sequence number and
times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hailong.config.settings import ScaleLevel
from hailong.sync.wire import Flag, Source


@dataclass(frozen=True)
class BoxKey:
    """Where a press came from on the rating box. The box resends a press until the
    host acknowledges it, so this triple identifies one physical press."""

    serial: str
    boot_nonce: int
    seq: int


@dataclass(frozen=True)
class NewRating:
    """What the session decided about one press or tap, before it is stored."""

    counter_id: int
    officer_id: int | None
    button: int
    scale_size: int
    sipas_level: int
    source: Source
    flags: tuple[Flag, ...]
    box: BoxKey | None


class RatingSession:
    """Turns presses into ratings for the officer currently signed in at the counter.

    Misuse is flagged, never dropped: a rating inside `response_interval_s` of the
    previous one is kept and flagged "too_soon" (the previous one stays as it was), a
    rating while nobody is signed in is flagged "no_officer", and one outside opening
    hours "outside_hours".

    One citizen may press a box button and touch the screen together: a press and a
    tap from the other source within `COINCIDENCE_S` of each other are one rating,
    the first.
    """

    COINCIDENCE_S = 0.8

    def __init__(
        self, scale: Sequence[ScaleLevel], counter_id: int, response_interval_s: float
    ) -> None:
        if response_interval_s < 0:
            raise ValueError(f"response_interval_s must be ≥ 0, got {response_interval_s}")
        self.set_scale(scale)
        self._response_interval_s = response_interval_s
        self.counter_id = counter_id
        self.officer_id: int | None = None
        self._previous_s: float | None = None
        self._previous_source: Source | None = None
        self._previous_box: BoxKey | None = None
        self._merged_box: BoxKey | None = None

    def set_scale(self, scale: Sequence[ScaleLevel]) -> None:
        buttons = [level.button for level in scale]
        if not buttons:
            raise ValueError("a rating scale needs at least one level")
        if len(set(buttons)) != len(buttons):
            raise ValueError(f"each button may appear once in the scale, got {buttons}")
        self._sipas_of = {level.button: level.sipas_level for level in scale}

    @property
    def scale_size(self) -> int:
        return len(self._sipas_of)

    def sign_in(self, officer_id: int) -> None:
        self.officer_id = officer_id

    def sign_out(self) -> None:
        self.officer_id = None

    def rate(
        self,
        button: int,
        source: Source,
        monotonic_s: float,
        box: BoxKey | None = None,
        *,
        open_now: bool = True,
    ) -> NewRating | None:
        """The rating this press or tap makes; None when it is the other half of a
        press and a tap made together (the box is still acknowledged)."""
        sipas_level = self._sipas_of.get(button)
        if sipas_level is None:
            raise ValueError(
                f"button {button} is not on this {self.scale_size}-level scale "
                f"(buttons {sorted(self._sipas_of)})"
            )
        if box is not None and box == self._merged_box:
            return None  # the box resending a press already merged with a tap
        if (
            self._previous_s is not None
            and self._previous_source not in (None, source)
            and monotonic_s - self._previous_s < self.COINCIDENCE_S
        ):
            # Only once: a third action is a rating of its own again.
            self._previous_source = None
            self._merged_box = box
            return None
        flags: list[Flag] = []
        if (
            self._previous_s is not None
            and monotonic_s - self._previous_s < self._response_interval_s
        ):
            flags.append("too_soon")
        if self.officer_id is None:
            flags.append("no_officer")
        if not open_now:
            flags.append("outside_hours")
        # A box resends a press it has not seen acknowledged; the store de-duplicates it,
        # and it must not restart the response interval either.
        if box is None or box != self._previous_box:
            self._previous_s = monotonic_s
            self._previous_source = source
        self._previous_box = box
        return NewRating(
            counter_id=self.counter_id,
            officer_id=self.officer_id,
            button=button,
            scale_size=self.scale_size,
            sipas_level=sipas_level,
            source=source,
            flags=tuple(flags),
            box=box,
        )
