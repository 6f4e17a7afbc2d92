"""The rating session: button → SIPAS level, and misuse flagged but never dropped."""

from __future__ import annotations

import pytest

from hailong.config.settings import DEFAULT_SCALE, ScaleLevel
from hailong.kiosk.session import BoxKey, NewRating, RatingSession

THREE_LEVELS = (
    ScaleLevel(button=1, label="Rất hài lòng", sipas_level=5, colour="#1b7f3b", icon="a"),
    ScaleLevel(button=2, label="Hài lòng", sipas_level=4, colour="#6aa84f", icon="b"),
    ScaleLevel(button=3, label="Không hài lòng", sipas_level=2, colour="#cc0000", icon="c"),
)


@pytest.mark.parametrize(
    ("scale", "button", "sipas_level"),
    [
        (DEFAULT_SCALE, 1, 5),
        (DEFAULT_SCALE, 2, 4),
        (DEFAULT_SCALE, 3, 3),
        (DEFAULT_SCALE, 4, 2),
        (THREE_LEVELS, 1, 5),
        (THREE_LEVELS, 3, 2),
    ],
)
def test_button_maps_to_its_sipas_level_and_keeps_the_raw_button(
    scale: tuple[ScaleLevel, ...], button: int, sipas_level: int
) -> None:
    session = RatingSession(scale, counter_id=3, response_interval_s=5)
    session.sign_in(11)
    rating = session.rate(button, "touch", monotonic_s=100.0)
    assert rating == NewRating(
        counter_id=3,
        officer_id=11,
        button=button,
        scale_size=len(scale),
        sipas_level=sipas_level,
        source="touch",
        flags=(),
        box=None,
    )


@pytest.mark.parametrize(
    ("scale", "button"), [(DEFAULT_SCALE, 5), (DEFAULT_SCALE, 0), (THREE_LEVELS, 4)]
)
def test_a_button_outside_the_scale_is_a_clear_error(
    scale: tuple[ScaleLevel, ...], button: int
) -> None:
    session = RatingSession(scale, counter_id=3, response_interval_s=5)
    with pytest.raises(ValueError, match=rf"button {button} is not on this {len(scale)}-level"):
        session.rate(button, "box", monotonic_s=1.0)


# (seconds of each press, officer signed in?, the flags each press gets)
PRESS_TABLES = [
    pytest.param([0.0], True, [()], id="first press"),
    pytest.param([0.0, 5.0], True, [(), ()], id="exactly the interval apart"),
    pytest.param([0.0, 4.999], True, [(), ("too_soon",)], id="just inside the interval"),
    pytest.param(
        [0.0, 1.0, 2.0, 8.0],
        True,
        [(), ("too_soon",), ("too_soon",), ()],
        id="a child's burst: each measured from the press before",
    ),
    pytest.param(
        [0.0, 3.0, 6.0, 9.0],
        True,
        [(), ("too_soon",), ("too_soon",), ("too_soon",)],
        id="steady presses inside the interval stay flagged",
    ),
    pytest.param([0.0], False, [("no_officer",)], id="nobody signed in"),
    pytest.param(
        [0.0, 1.0], False, [("no_officer",), ("too_soon", "no_officer")], id="both flags"
    ),
]


@pytest.mark.parametrize(("times", "signed_in", "expected"), PRESS_TABLES)
def test_flags(times: list[float], signed_in: bool, expected: list[tuple[str, ...]]) -> None:
    session = RatingSession(DEFAULT_SCALE, counter_id=1, response_interval_s=5.0)
    if signed_in:
        session.sign_in(4)
    assert [session.rate(1, "touch", t).flags for t in times] == expected


def test_zero_interval_never_flags_too_soon() -> None:
    session = RatingSession(DEFAULT_SCALE, counter_id=1, response_interval_s=0)
    session.sign_in(4)
    assert [session.rate(2, "box", t).flags for t in (1.0, 1.0, 1.0)] == [(), (), ()]


def test_sign_out_attributes_later_ratings_to_nobody() -> None:
    session = RatingSession(DEFAULT_SCALE, counter_id=1, response_interval_s=0)
    session.sign_in(4)
    first = session.rate(1, "touch", 0.0)
    session.sign_out()
    second = session.rate(1, "touch", 10.0)
    assert (first.officer_id, first.flags) == (4, ())
    assert (second.officer_id, second.flags) == (None, ("no_officer",))


def test_a_resent_box_press_does_not_restart_the_interval() -> None:
    session = RatingSession(DEFAULT_SCALE, counter_id=1, response_interval_s=5.0)
    session.sign_in(4)
    press = BoxKey(serial="HL0001", boot_nonce=9, seq=1)
    session.rate(1, "box", 0.0, press)
    session.rate(1, "box", 4.0, press)  # the box resent it; the store keeps the first
    later = session.rate(2, "box", 5.5, BoxKey(serial="HL0001", boot_nonce=9, seq=2))
    assert later.flags == ()
    assert later.box == BoxKey("HL0001", 9, 2)


@pytest.mark.parametrize(
    ("scale", "interval", "message"),
    [
        ((), 5.0, "at least one level"),
        ((DEFAULT_SCALE[0], DEFAULT_SCALE[0]), 5.0, "once in the scale"),
        (DEFAULT_SCALE, -1.0, "response_interval_s"),
    ],
)
def test_bad_construction_is_refused(
    scale: tuple[ScaleLevel, ...], interval: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RatingSession(scale, counter_id=1, response_interval_s=interval)


def _session() -> RatingSession:
    session = RatingSession(DEFAULT_SCALE, counter_id=3, response_interval_s=5)
    session.sign_in(11)
    return session


def test_a_tap_and_a_press_at_the_same_moment_are_one_rating() -> None:
    session = _session()
    press = BoxKey("HL0001", 1, 1)
    first = session.rate(2, "touch", monotonic_s=10.0)
    assert first is not None and first.button == 2
    assert session.rate(1, "box", monotonic_s=10.3, box=press) is None
    # The box resends the merged press when its acknowledgement is lost: still merged.
    assert session.rate(1, "box", monotonic_s=10.9, box=press) is None
    third = session.rate(3, "box", monotonic_s=11.0, box=BoxKey("HL0001", 1, 2))
    assert third is not None and third.flags == ("too_soon",)


def test_a_press_then_a_tap_merge_too_but_not_two_of_one_source() -> None:
    session = _session()
    assert session.rate(1, "box", monotonic_s=10.0, box=BoxKey("HL0001", 1, 1)) is not None
    assert session.rate(1, "touch", monotonic_s=10.5) is None
    again = session.rate(1, "touch", monotonic_s=10.6)
    assert again is not None and again.flags == ("too_soon",)
    apart = session.rate(4, "box", monotonic_s=12.0, box=BoxKey("HL0001", 1, 2))
    assert apart is not None


def test_outside_opening_hours_is_flagged() -> None:
    rating = _session().rate(1, "touch", monotonic_s=1.0, open_now=False)
    assert rating is not None and rating.flags == ("outside_hours",)
