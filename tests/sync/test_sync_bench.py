"""The sync benchmark still runs: a small backlog drained to a real server (SQLite)
through the real uploader, and its section written into a benchmarks file."""

from __future__ import annotations

from hailong.sync.bench import SECTION_DRAIN, SECTION_INGEST, main


def test_a_small_drain_runs_and_writes_its_section(tmp_path, capsys):
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"# Benchmarks\n\nintro\n\n{SECTION_INGEST}\n\nkept\n", encoding="utf-8")

    code = main(["--ratings", "200", "--sample", "20", "--only", "drain", "--update", str(doc),
                 "--dir", str(tmp_path)])

    assert code == 0
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\nintro\n\n")
    assert f"{SECTION_INGEST}\n\nkept\n" in text
    drain = text[text.index(SECTION_DRAIN):]
    assert "| batched (`Uploader.push_all`) | 200 |" in drain
    assert "| one POST per rating | 20 |" in drain
    assert "(scaled from 200 ratings)" in drain
    assert SECTION_DRAIN in capsys.readouterr().out


def test_sizes_below_one_are_refused(capsys):
    assert main(["--ratings", "0"]) == 2
    assert "--ratings" in capsys.readouterr().err
