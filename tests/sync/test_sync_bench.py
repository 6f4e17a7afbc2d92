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


def test_a_small_fleet_reconnects_and_every_backlog_is_stored(tmp_path):
    import sqlalchemy as sa

    from hailong.sync.bench_reconnect import (
        SECTION_RECONNECT,
        reconnect_markdown,
        run_reconnect,
    )

    url = f"sqlite:///{tmp_path / 'server' / 'server.db'}"
    result = run_reconnect(tmp_path / "server", url, kiosks=8, ratings_each=3, workers=1)

    assert result.through == 8 and result.failed == 0 and result.server_errors == 0
    assert result.stored == 24
    assert result.client_cpu_s > 0 and result.server_cpu_s > 0
    assert {c.kind for c in result.calls} == {"heartbeat", "batch"}
    assert sum(c.status == 200 for c in result.calls) == 16
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM ratings")).scalar() == 24
    finally:
        engine.dispose()
    text = reconnect_markdown([result], "cmd", "today", "here")
    assert text.startswith(SECTION_RECONNECT)
    assert "| SQLite | 200: 16 | 0 |" in text
    assert "8 of 8 in" in text


def test_a_small_ingest_runs_its_rounds_on_postgresql(tmp_path):
    from hailong.sync.bench import ingest_markdown, run_ingest

    result = run_ingest(400, tmp_path, workers=1, clients=2, rounds=2)

    assert [r.http.ratings for r in result.rounds] == [400, 400]
    assert all(r.copy.ratings == 400 and r.http.per_s > 0 for r in result.rounds)
    text = ingest_markdown(result, "cmd")
    assert text.startswith(SECTION_INGEST)
    assert "| 1 | 400 |" in text and "| 2 | 400 |" in text and "| **median** |" in text
    assert "2 rounds, each into a new database" in " ".join(text.split())
