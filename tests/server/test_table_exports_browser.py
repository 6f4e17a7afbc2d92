"""In real headless Chromium: a click on the CSV link of the trends page's table
downloads the rows the page shows, with the page's filters."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

from analytics_helpers import given, post_ratings
from server_harness import RunningServer, make_org, signed_in

from hailong.sync.server.auth import SESSION_COOKIE
from hailong.sync.server.browser import Chromium


def test_a_click_on_the_trend_tables_csv_link_downloads_its_rows(
    server: RunningServer, tmp_path: Path,
) -> None:
    place = make_org(server.sessions, officers=1)
    officer = place.officer_ids[0]
    monday = datetime(2026, 4, 6, 2, tzinfo=UTC)
    post_ratings(server, place.counter_ids[0],
                 [given(officer, level, monday + timedelta(days=day))
                  for day, level in ((0, 5), (0, 4), (1, 2), (8, 5))])
    # the session cookie of a supervisor of the unit, without the password hashing
    cookie = signed_in(server, "supervisor", place.unit_id).session.cookies[SESSION_COOKIE]
    with Chromium() as browser:
        browser.send("Network.setCookie", name=SESSION_COOKIE, value=cookie, url=server.base_url)
        browser.goto(f"{server.base_url}/trends?from=2026-04-01&to=2026-04-30&step=week")
        shown = browser.evaluate(
            "Array.from(document.querySelectorAll('table.trend-table tbody tr'))"
            ".map(r => Array.from(r.cells).map(c => c.textContent.trim()))")
        done = browser.download('p.export-links[data-table="trend"] a.export-csv', tmp_path)
    with done.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][0] == "Week"
    assert [(row[1], row[2]) for row in rows[1:]] == [(row[1], row[2]) for row in shown]
    assert [row[1] for row in rows[1:]] == ["0", "3", "1", "0", "0"]  # weeks of 30/03 … 27/04
