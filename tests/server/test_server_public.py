"""The public page: unit figures and a 12-month trend, with no login and no
personal data."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime

import pytest
from server_harness import RatingMaker, RunningServer, enroll, statuses, upload

from hailong.sync.server import org
from hailong.sync.server.public import chart_y, last_months, local_month, next_month
from hailong.sync.server.web import LOCAL_TZ


def test_the_last_twelve_months_cross_the_new_year() -> None:
    months = last_months(date(2026, 3, 17))
    assert len(months) == 12
    assert months[0] == date(2025, 4, 1) and months[-1] == date(2026, 3, 1)
    assert months[8:10] == [date(2025, 12, 1), date(2026, 1, 1)]
    assert next_month(date(2025, 12, 1)) == date(2026, 1, 1)


def test_a_month_is_a_vietnamese_calendar_month() -> None:
    period = local_month(date(2026, 1, 1))
    assert period.start == datetime(2025, 12, 31, 17, tzinfo=UTC)
    assert period.end == datetime(2026, 1, 31, 17, tzinfo=UTC)


def test_the_chart_scale_puts_zero_on_the_axis_and_the_target_between() -> None:
    assert chart_y(0) == 130 and chart_y(100) == 10
    assert chart_y(85) == pytest.approx(28.0)


def test_the_public_page_shows_units_and_never_an_officer_or_a_comment(
    server: RunningServer,
) -> None:
    secret_name = f"Hoàng Văn Bí Mật {uuid.uuid4().hex[:6]}"
    with server.sessions() as session:
        unit = org.add_unit(session, f"Trung tâm Công khai {uuid.uuid4().hex[:6]}")
        counter = org.add_counter(session, unit.id, "Quầy công khai")
        officer = org.add_officer(session, unit.id, secret_name, "Chuyên viên bí mật")
        unit_id, unit_name, counter_id, officer_id = unit.id, unit.name, counter.id, officer.id
    kiosk = enroll(server, counter_id)
    maker = RatingMaker(counter_id)
    items = [maker.item(officer_id, level) for level in (5, 5, 4, 3)]
    items.append(maker.item(officer_id, 1, flags=("too_soon",)))
    assert set(statuses(upload(server, kiosk, maker.batch(items)))) == {"accepted"}

    page = server.http().get("/public")
    assert page.status_code == 200
    html = page.text
    section = re.search(rf'data-unit-id="{unit_id}">(.*?)</section>', html, re.S)
    assert section is not None and unit_name in section.group(1)
    # this month: 5, 5, 4, 3 valid (the flagged 1 left out) → SIPAS 75 %, 766 100 %
    this_month = datetime.now(LOCAL_TZ).strftime("%Y-%m")
    row = re.search(rf'data-month="{this_month}">(.*?)</tr>', section.group(1), re.S)
    assert row is not None
    assert re.findall(r'class="num">([^<]*)<', row.group(1)) == ["4", "75.0%", "100.0%"]
    assert section.group(1).count("<tr data-month=") == 12
    assert "<svg" in section.group(1) and '<rect class="bar below"' in section.group(1)
    for text in (secret_name, "Bí Mật", "Chuyên viên bí mật"):
        assert text not in html
    assert "https://" not in html and "/static/style.css" in html
    assert "/officers/" not in html and "/api/v1/officers" not in html
    assert "Log out" not in html
