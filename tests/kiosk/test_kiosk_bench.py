"""The kiosk benchmark still runs end to end (briefly): `make bench` runs it at length."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui


def test_the_kiosk_benchmark_measures_and_writes_its_section(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n## Other\n\nkept\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "hailong.kiosk.bench", "--starts", "1", "--presses", "5",
         "--ratings", "1000", "--visits", "1", "--update", str(doc)],
        capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = doc.read_text(encoding="utf-8")
    assert "## Other\n\nkept" in text
    assert re.search(r"Cold start to idle screen drawn \(median of 1\) \| \d+\.\d\d s", text)
    assert re.search(r"Press to thank-you drawn \(5 presses\) \| p50 \d+\.\d ms", text)
    assert re.search(r"Resident memory after 1,000 ratings \| \d+\.\d MB", text)
    assert re.search(r"Resident memory after a technician's visits \| idle \d+\.\d MB; "
                     r"once closed after each visit: \d+\.\d MB \|", text)
    assert re.search(r"Proportional set size at the end [^:]+: \d+\.\d MB\.", text)
    # Resident memory split by where it lies, for the kiosk and the bare app.
    for part in ("graphics libraries", "heap and anonymous", "other mapped files"):
        assert re.search(rf"\| {part}[^|]* \| \d+\.\d MB \| \d+\.\d MB \| [+-]\d+\.\d MB \|",
                         text), part
    assert re.search(r"Pydantic's import and first model, on top of what the kiosk loads "
                     r"anyway \(Kivy, TLS and HTTP, SQLite\): \d+\.\d MB \(the bare Kivy app "
                     r"plus it: \d+\.\d MB\)", text)
    # The press split into its stages, each timed from the app's own trace.
    for stage in ("press → box press", "box press → rated", "rated → ui woke",
                  "flip thanks → drawn thanks"):
        assert re.search(rf"\| {stage} \| [^|]+ \| \d+\.\d ms \| \d+\.\d ms \|", text), stage


def test_memory_parts_add_up_to_the_resident_memory() -> None:
    import os

    from hailong.kiosk.bench import _rss_mb, memory_parts

    parts = memory_parts(os.getpid())
    assert abs(sum(parts.values()) - _rss_mb(os.getpid())) < 2.0
    # This interpreter's own library is a mapped file, its objects are on the heap.
    assert parts["other mapped files (Python, Kivy, SDL, extensions)"] > 1.0
    assert parts["heap and anonymous (objects, textures, driver buffers)"] > 1.0
