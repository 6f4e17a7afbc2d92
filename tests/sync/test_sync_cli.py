"""`hailong sync status` and `hailong sync push` on a real kiosk database and a real
HTTP peer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from ingest_peer import IngestPeer, status
from outbox_helpers import hold, record_many

from hailong.cli import build_parser, dispatch
from hailong.sync.store import KioskStore


def main(argv: list[str]) -> int:
    """The command's own handler, without `hailong.cli.main`'s process-wide logging set-up."""
    return dispatch(build_parser().parse_args(argv))


@pytest.fixture
def kiosk_toml(tmp_path: Path, peer: IngestPeer) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f'[kiosk]\ndata_dir = "{tmp_path / "data"}"\n\n'
        f'[sync]\nserver_url = "{peer.url}"\ntimeout_s = 2.0\nbatch_max_items = 4\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def kiosk_db(tmp_path: Path, peer: IngestPeer) -> Path:
    path = tmp_path / "data" / "kiosk.db"
    with KioskStore(path) as store:
        store.set_state("token", peer.token)
        record_many(store, 10)
    return path


def test_status_of_a_fresh_backlog(kiosk_toml: Path, kiosk_db: Path) -> None:
    """Through the installed command, as a technician runs it."""
    hailong = Path(sys.executable).with_name("hailong")
    done = subprocess.run(
        [str(hailong), "sync", "status", "--config", str(kiosk_toml)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HAILONG_LANG": "en"},
    )
    assert done.returncode == 0, done.stderr
    assert f"Kiosk database: {kiosk_db}" in done.stdout
    assert "Waiting to upload: 10" in done.stdout
    assert "Oldest waiting rating: 2025-06-01" in done.stdout
    assert "Set aside (refused by the server): 0" in done.stdout
    assert "Last successful upload: never" in done.stdout
    assert "Last failed upload: never" in done.stdout
    assert done.stderr == ""


def test_push_uploads_with_a_progress_bar_then_status_shows_it(
    kiosk_toml: Path,
    kiosk_db: Path,
    peer: IngestPeer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["sync", "push", "--config", str(kiosk_toml)]) == 0
    out, err = capsys.readouterr()
    assert "Uploaded 10 ratings; 0 set aside by the server." in out
    assert "[------------------------------] 0/10" in err
    assert "[############------------------] 4/10" in err
    assert "[##############################] 10/10" in err
    assert len(peer.stored) == 10

    assert main(["sync", "status", "--config", str(kiosk_toml)]) == 0
    out, _ = capsys.readouterr()
    assert "Waiting to upload: 0" in out
    assert "Oldest waiting rating" not in out
    assert "Last successful upload: never" not in out


def test_push_says_what_it_leaves_held_for_a_citizen(
    kiosk_toml: Path,
    kiosk_db: Path,
    peer: IngestPeer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with KioskStore(kiosk_db) as store:
        hold(store, n=20)
    assert main(["sync", "push", "--config", str(kiosk_toml)]) == 0
    out, _ = capsys.readouterr()
    assert "Uploaded 10 ratings; 0 set aside by the server." in out
    assert "1 rating is held while its citizen answers the follow-up questions" in out
    assert len(peer.stored) == 10


def test_a_failed_push_exits_non_zero_with_the_error(
    kiosk_toml: Path,
    kiosk_db: Path,
    peer: IngestPeer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    peer.faults.append(status(429, retry_after="30"))
    assert main(["sync", "push", "--config", str(kiosk_toml)]) == 1
    _, err = capsys.readouterr()
    assert "Upload failed:" in err and "answered 429" in err
    assert "wait 30 s" in err
    assert "10 ratings still wait on the kiosk; none is lost." in err

    assert main(["sync", "status", "--config", str(kiosk_toml)]) == 0
    out, _ = capsys.readouterr()
    assert "Waiting to upload: 10" in out
    assert "Last failed upload: " in out and "answered 429" in out


def test_push_without_enrollment_says_so(
    kiosk_toml: Path, kiosk_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with KioskStore(kiosk_db) as store:
        store.delete_state("token")
    assert main(["sync", "push", "--config", str(kiosk_toml)]) == 1
    assert "not enrolled" in capsys.readouterr().err


def test_a_missing_database_is_reported_not_created(
    kiosk_toml: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sync", "status", "--config", str(kiosk_toml)]) == 1
    assert "No kiosk database at" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()
