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
    previous one is kept and flagged "too_soon" (the previous one stays as it was),
    and a rating while nobody is signed in is kept and flagged "no_officer".
    """

    def __init__(
        self, scale: Sequence[ScaleLevel], counter_id: int, response_interval_s: float
    ) -> None:
        buttons = [level.button for level in scale]
        if not buttons:
            raise ValueError("a rating scale needs at least one level")
        if len(set(buttons)) != len(buttons):
            raise ValueError(f"each button may appear once in the scale, got {buttons}")
        if response_interval_s < 0:
            raise ValueError(f"response_interval_s must be ≥ 0, got {response_interval_s}")
        self._sipas_of = {level.button: level.sipas_level for level in scale}
        self._response_interval_s = response_interval_s
        self.counter_id = counter_id
        self.officer_id: int | None = None
        self._previous_s: float | None = None
        self._previous_box: BoxKey | None = None

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
    ) -> NewRating:
        sipas_level = self._sipas_of.get(button)
        if sipas_level is None:
            raise ValueError(
                f"button {button} is not on this {self.scale_size}-level scale "
                f"(buttons {sorted(self._sipas_of)})"
            )
        flags: list[Flag] = []
        if (
            self._previous_s is not None
            and monotonic_s - self._previous_s < self._response_interval_s
        ):
            flags.append("too_soon")
        if self.officer_id is None:
            flags.append("no_officer")
        # A box resends a press it has not seen acknowledged; the store de-duplicates it,
        # and it must not restart the response interval either.
        if box is None or box != self._previous_box:
            self._previous_s = monotonic_s
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
