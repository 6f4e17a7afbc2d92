"""The scoreboard benchmark runs end to end, briefly, against the tests' PostgreSQL,
and its synthetic year is what it claims to be."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from pathlib import Path

from pg_cluster import Cluster

from hailong.sync.server import bench_scores
from hailong.sync.server.bench_scores import SECTION, Desk, RatingRows, per_day, working_days


def test_a_tiny_run_writes_its_section_with_figures(pg_cluster: Cluster, tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n## Another one\n\nKept.\n", encoding="utf-8")
    url = pg_cluster.create_database("bench_scores")

    assert bench_scores.main(["--ratings", "20000", "--runs", "3", "--database-url", url,
                              "--update", str(doc)]) == 0

    text = doc.read_text(encoding="utf-8")
    assert "## Another one\n\nKept." in text
    section = text[text.index(SECTION):]
    assert "20,000 ratings in " in section
    counted = re.search(r"; ([\d,]+) counted\)", section)
    assert counted is not None
    # One unit of 20 gets about a twentieth of the ratings.
    assert 700 <= int(counted.group(1).replace(",", "")) <= 1300
    rows = re.findall(r"^\| [^|]+ \| 3 \| ([\d.]+) ms \| ([\d.]+) ms \| ([\d.]+) ms \|$",
                      section, re.MULTILINE)
    assert len(rows) == 3
    for median, p95, top in rows:
        assert 0 < float(median) <= float(p95) <= float(top)
    assert re.search(r"p95 ≤ 200 ms: \*\*(met|NOT met)\*\*", section)


def test_the_year_has_its_working_days_and_every_rating() -> None:
    days = working_days(2025)
    assert len(days) == 261
    assert all(day.weekday() < 5 for day in days)
    assert days[0] == date(2025, 1, 1) and days[-1] == date(2025, 12, 31)
    assert per_day(1000, 261).count(4) == 217 and sum(per_day(1000, 261)) == 1000


def test_rows_are_time_ordered_in_office_hours_and_mostly_valid() -> None:
    desks = [Desk(c, c, f"00000000-0000-4000-8000-00000000000{c}", (c * 10, c * 10 + 1))
             for c in range(1, 4)]
    lines = list(RatingRows(desks, 5000, 2025).lines())
    assert len(lines) == 5000
    fields = [line.rstrip("\n").split("\t") for line in lines]
    assert all(len(f) == len(bench_scores.COLUMNS) for f in fields)
    times = [f[16] for f in fields]
    assert times == sorted(times)
    hours = {int(t[11:13]) for t in times}
    assert hours <= {7, 8, 9, 10, 11, 13, 14, 15, 16}
    flagged = sum(f[10] == "t" for f in fields)
    assert 50 <= flagged <= 250  # ~3 %
    levels = Counter(int(f[7]) for f in fields)
    assert set(levels) == {1, 2, 3, 4, 5} and levels[5] > levels[1]
    assert len({f[0] for f in fields}) == 5000
    per_kiosk = [int(f[2]) for f in fields if f[1] == "1"]
    assert per_kiosk == list(range(1, len(per_kiosk) + 1))
    assert list(RatingRows(desks, 50, 2025).lines()) == list(RatingRows(desks, 50, 2025).lines())
