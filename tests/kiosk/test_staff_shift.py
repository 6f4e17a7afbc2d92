"""When an officer's shift ends, from the counter's opening hours (Asia/Ho_Chi_Minh, +07)."""

from datetime import UTC, datetime, timedelta, timezone

from hailong.config.settings import OpeningHours, OpeningPeriod
from hailong.kiosk.staff.shift import next_shift_end, shift_over

HANOI = timezone(timedelta(hours=7))
HOURS = OpeningHours()  # Mon–Fri 07:30–11:30 and 13:30–17:00
SATURDAY_MORNING = OpeningHours(periods=(
    *OpeningHours().periods, OpeningPeriod(days=(6,), start="08:00", end="11:00"),
))


def at(day, hh, mm=0):
    # 2026-11-23 is a Monday.
    return datetime(2026, 11, 23, hh, mm, tzinfo=HANOI) + timedelta(days=day)


def test_the_end_of_the_period_under_way_or_next_that_day():
    assert next_shift_end(at(0, 9), HOURS) == at(0, 11, 30)
    assert next_shift_end(at(0, 12), HOURS) == at(0, 17)
    assert next_shift_end(at(0, 14), HOURS) == at(0, 17)
    assert next_shift_end(at(0, 6), HOURS) == at(0, 11, 30)


def test_none_after_the_last_period_on_a_closed_day_or_without_opening_hours():
    assert next_shift_end(at(0, 17), HOURS) is None
    assert next_shift_end(at(0, 20), HOURS) is None
    assert next_shift_end(at(5, 9), HOURS) is None  # Saturday
    assert next_shift_end(at(5, 9), SATURDAY_MORNING) == at(5, 11)
    assert next_shift_end(at(0, 9), OpeningHours(enabled=False)) is None


def test_any_time_zone_in_gives_the_same_moment():
    assert next_shift_end(at(0, 9).astimezone(UTC), HOURS) == at(0, 11, 30)


def test_the_lunch_break_does_not_end_the_shift_the_end_of_the_day_does():
    signed_in = at(0, 8)
    assert not shift_over(signed_in, at(0, 12), HOURS)
    assert not shift_over(signed_in, at(0, 16, 59), HOURS)
    assert shift_over(signed_in, at(0, 17), HOURS)


def test_signing_in_after_hours_lasts_until_the_next_working_days_end():
    late = at(0, 18)
    assert not shift_over(late, at(1, 9), HOURS)
    assert shift_over(late, at(1, 17, 1), HOURS)
    friday_evening = at(4, 18)
    assert not shift_over(friday_evening, at(7, 8), HOURS)  # the weekend has no end
    assert shift_over(friday_evening, at(7, 17), HOURS)


def test_a_kiosk_off_for_days_signs_out_at_once_and_disabled_hours_never_do():
    assert shift_over(at(0, 8), at(10, 8), HOURS)
    assert not shift_over(at(0, 8), at(10, 8), OpeningHours(enabled=False))
    assert not shift_over(at(0, 9), at(0, 8), HOURS)
