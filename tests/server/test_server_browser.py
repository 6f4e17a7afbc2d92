"""The supervisor's pages in real headless Chromium: log in through the form,
open the officer table, filter a date range, export it; and the screenshots
command."""

from __future__ import annotations

import csv
import struct
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from server_harness import RatingMaker, RunningServer, enroll, make_org, make_user, statuses, upload

from hailong.sync.server.browser import Chromium
from hailong.sync.server.screenshots import capture

# Two local days (UTC+7) of March 2026; 03:00 UTC is 10:00 in Hanoi.
FIRST_DAY = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
LATER_DAY = datetime(2026, 3, 20, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    with Chromium() as chromium:
        yield chromium


def test_log_in_filter_a_date_range_and_export_it(
    server: RunningServer, browser: Chromium, tmp_path: Path
) -> None:
    place = make_org(server.sessions, officers=2)
    first, second = place.officer_ids
    username, password = make_user(server.sessions, "supervisor", place.unit_id)
    kiosk = enroll(server, place.counter_ids[0])
    maker = RatingMaker(kiosk.counter_id)
    items = [maker.item(first, level, wall_time=FIRST_DAY) for level in (5, 4, 3)]
    items += [maker.item(first, level, wall_time=LATER_DAY) for level in (1, 2)]
    items.append(maker.item(second, 5, wall_time=LATER_DAY))
    batch = maker.batch(items)
    batch["boot_id"] = str(uuid.uuid4())  # sent after a restart: the wall times stand
    assert set(statuses(upload(server, kiosk, batch))) == {"accepted"}

    browser.goto(f"{server.base_url}/")
    assert browser.evaluate("location.pathname") == "/login"
    browser.type_into("input[name=username]", username)
    browser.type_into("input[name=password]", password)
    browser.expect_navigation()
    browser.click("form.login button[type=submit]")
    browser.wait_for("Page.loadEventFired")
    assert browser.evaluate("location.pathname") == "/"
    row = f'tr[data-officer-id="{first}"]'
    cells = f"Array.from(document.querySelectorAll('{row} td')).map(c => c.textContent.trim())"
    assert browser.evaluate(cells)[3:7] == ["5", "5", "0", "40.0%"]

    browser.evaluate("document.querySelector('input[name=from]').value = '2026-03-10'")
    browser.evaluate("document.querySelector('input[name=to]').value = '2026-03-10'")
    browser.expect_navigation()
    browser.click("form.period button[type=submit]")
    browser.wait_for("Page.loadEventFired")
    assert browser.evaluate("location.search") == "?from=2026-03-10&to=2026-03-10"
    assert browser.evaluate(cells)[3:7] == ["3", "3", "0", "66.7%"]
    assert browser.text(f'tr[data-officer-id="{second}"] td.sipas') == "—"

    with browser.download("#export-csv", tmp_path).open(encoding="utf-8", newline="") as handle:
        exported = list(csv.DictReader(handle))
    assert len(exported) == 3
    assert {row["officer_id"] for row in exported} == {str(first)}
    assert sorted(row["sipas_level"] for row in exported) == ["3", "4", "5"]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_screenshots_command_photographs_every_page(tmp_path: Path) -> None:
    written = capture(tmp_path)
    names = {path.name for path in written}
    assert {"dashboard-login.png", "dashboard-officers.png", "dashboard-officer.png",
            "dashboard-fleet.png", "dashboard-fleet-phone.png", "dashboard-audit.png",
            "dashboard-public.png"} <= names
    for path in written:
        width, height = png_size(path)
        assert width == (390 if path.stem.endswith("-phone") else 1280), path
        assert height >= 600, path
