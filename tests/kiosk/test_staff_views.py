"""The supervisor's figures and the staff screens' view-models, without a window."""

import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from hailong.i18n import current_language, set_language
from hailong.kiosk.staff.stats import figures, officer_figures, percent, period_starts
from hailong.kiosk.staff.views import (
    lock_message,
    pin_dots,
    roster_entries,
    supervisor_view,
    sync_line,
    technician_view,
)
from hailong.sync.store import StoredRating, SyncStatus
from hailong.sync.wire import Officer

HANOI = timezone(timedelta(hours=7))
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=HANOI)
OFFICERS = [Officer(id=1, name="Nguyễn Thị Lan", title="Chuyên viên"),
            Officer(id=2, name="Trần Văn Hùng", title="Chuyên viên chính", pin_hash="$argon2id$x")]
QUIET = SyncStatus(backlog=0, set_aside=0, oldest_pending_at=None, last_success_at=None,
                   last_error_at=None, last_error=None)


def rating(officer_id, level, when, flags=(), counter_id=1):
    return StoredRating(
        id=uuid.uuid4(), kiosk_seq=0, counter_id=counter_id, officer_id=officer_id, button=1,
        scale_size=4, sipas_level=level, source="touch", flags=tuple(flags), box=None,
        wall_time=when.astimezone(UTC), monotonic_ms=0, clock_trusted=True,
        boot_id=uuid.uuid4(),
    )


@pytest.fixture(autouse=True)
def english():
    previous = current_language()
    set_language("en")
    yield
    set_language(previous)


def test_periods_start_at_local_midnight_and_on_the_first():
    today, month = period_starts(NOW.astimezone(UTC), "Asia/Ho_Chi_Minh")
    assert today == datetime(2026, 11, 25, tzinfo=HANOI)
    assert month == datetime(2026, 11, 1, tzinfo=HANOI)
    # 23:30 UTC on the 24th is already the 25th in Hà Nội.
    late = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)
    assert period_starts(late, "Asia/Ho_Chi_Minh")[0] == datetime(2026, 11, 25, tzinfo=HANOI)


def test_figures_leave_flagged_ratings_out_of_both_indices():
    rows = [rating(1, 5, NOW), rating(1, 4, NOW), rating(1, 3, NOW), rating(1, 2, NOW),
            rating(1, 1, NOW, flags=["too_soon"])]
    result = figures(rows)
    assert (result.ratings, result.valid) == (5, 4)
    assert result.sipas_index == 50.0  # levels 4–5 of 4 valid
    assert result.decision766_rate == 75.0  # all but level 1–2
    assert figures([]).sipas_index is None


def test_one_row_per_officer_of_this_counter_today_and_this_month():
    today, _month = period_starts(NOW, "Asia/Ho_Chi_Minh")
    ratings = [
        rating(1, 5, NOW),
        rating(1, 2, NOW - timedelta(days=3)),
        rating(2, 4, NOW - timedelta(days=1)),
        rating(None, 5, NOW, flags=["no_officer"]),
        rating(1, 1, NOW, counter_id=9),  # another counter's
    ]
    rows = officer_figures(ratings, OFFICERS, 1, today, no_officer="(nobody)")
    assert [row.name for row in rows] == ["Nguyễn Thị Lan", "Trần Văn Hùng", "(nobody)"]
    lan, hung, nobody = rows
    assert (lan.today.ratings, lan.month.ratings, lan.month.sipas_index) == (1, 2, 50.0)
    assert (hung.today.ratings, hung.month.ratings) == (0, 1)
    assert (nobody.month.ratings, nobody.month.valid) == (1, 0)

    view = supervisor_view(rows, QUIET, "Asia/Ho_Chi_Minh")
    assert view.rows[0].sipas == "50.0 %"
    assert view.rows[0].d766 == "50.0 %"
    assert view.rows[2].sipas == "—"
    assert percent(None) == "—"


def test_the_sync_line_shows_the_backlog_and_a_newer_error():
    failing = SyncStatus(
        backlog=12, set_aside=1, oldest_pending_at=None,
        last_success_at=datetime(2026, 11, 25, 1, 0, tzinfo=UTC),
        last_error_at=datetime(2026, 11, 25, 2, 0, tzinfo=UTC), last_error="timed out",
    )
    line = sync_line(failing, "Asia/Ho_Chi_Minh")
    assert "12" in line and "25/11/2026 08:00" in line and "timed out" in line
    assert "never" in sync_line(QUIET, "Asia/Ho_Chi_Minh")


def test_the_roster_shows_photos_that_exist_and_who_has_a_pin(tmp_path: Path):
    (tmp_path / "2.png").write_bytes(b"png")
    first, second = roster_entries(OFFICERS, tmp_path)
    assert (first.photo, first.has_pin) == (None, False)
    assert (second.photo, second.has_pin) == (tmp_path / "2.png", True)


def test_pin_feedback_never_shows_the_digits():
    assert pin_dots("2468") == "• • • •"
    assert lock_message(29.4) == "Too many wrong PINs. Try again in 29 s."
    assert lock_message(61) == "Too many wrong PINs. Try again in 2 min."


def test_the_technicians_view_offers_auto_the_ports_found_and_the_saved_one():
    view = technician_view(
        box_status="disconnected", firmware="", serial="", version="1.2.3",
        clock_trusted=False, kiosk_id=None, status=QUIET, server_url="http://127.0.0.1:8080/",
        port="/dev/ttyUSB7", ports=["/dev/ttyACM0", "/dev/ttyACM0"], timezone="Asia/Ho_Chi_Minh",
    )
    assert view.ports == ("auto", "/dev/ttyACM0", "/dev/ttyUSB7")
    assert "not connected" in view.box
    assert "NOT synchronised" in view.clock
    assert view.enrollment == "Not enrolled"
    assert view.version == "App version 1.2.3"
