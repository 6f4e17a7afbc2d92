"""The press-to-commit benchmark: its arithmetic, and a 20-press run of the real thing
(the 1,000-press run is `make bench`, not part of the suite)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hailong.device.bench import SECTION, percentile, update_section


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([3.0], 99) == 3.0
    assert percentile([5, 1, 4, 2, 3], 50) == 3
    with pytest.raises(ValueError):
        percentile([], 50)


def test_update_section_replaces_only_its_own_section(tmp_path):
    doc = tmp_path / "benchmarks.md"
    update_section(doc, f"{SECTION}\n\nfirst\n")
    assert doc.read_text() == f"{SECTION}\n\nfirst\n"
    doc.write_text(f"# Benchmarks\n\nintro\n\n{SECTION}\n\nold\n\n## Sync: upload\n\nkept\n")
    update_section(doc, f"{SECTION}\n\nnew\n")
    assert doc.read_text() == (
        f"# Benchmarks\n\nintro\n\n{SECTION}\n\nnew\n\n## Sync: upload\n\nkept\n"
    )


def test_a_short_run_measures_both_and_writes_its_section(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nHow they are run.\n")
    bench = [sys.executable, "-m", "hailong.device.bench", "--presses", "20", "--json"]
    result = subprocess.run(
        [*bench, "--dir", str(tmp_path), "--update", str(doc)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    for name in ("press_to_commit", "raw_commit"):
        s = data[name]
        assert s["count"] == 20
        assert 0 < s["p50_ms"] <= s["p99_ms"] <= s["max_ms"] < 1000
    assert data["machine"]["cpus"] >= 1 and data["machine"]["python"]
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\nHow they are run.\n\n" + SECTION)
    assert "| press on the line → rating committed | 20 |" in text
    assert "python -m hailong.device.bench --presses 20" in text
    assert list(tmp_path.iterdir()) == [doc]  # the databases went with their folder
