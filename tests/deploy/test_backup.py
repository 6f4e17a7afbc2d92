"""deploy/server/backup.sh: a backup of a server database holding ratings uploaded by a
kiosk, restored into an empty database, gives back every row of every table — on SQLite and
on a real PostgreSQL cluster."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy_support import REPO, server_test_helpers
from sqlalchemy import select

from hailong.config.settings import ServerSettings
from hailong.sync.server.db import make_engine, migrate
from hailong.sync.server.models import Base, Rating

server_test_helpers()
from pg_cluster import Cluster, start_cluster  # noqa: E402
from server_harness import RatingMaker, enroll, make_org, serve, statuses, upload  # noqa: E402

BACKUP = REPO / "deploy" / "server" / "backup.sh"
RATINGS = 300


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    running = start_cluster()
    yield running
    running.stop()


def settings_file(folder: Path, url: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "server.toml"
    path.write_text(f'[server]\ndatabase_url = "{url}"\ndata_dir = "{folder}"\n')
    return path


def backup_sh(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["bash", str(BACKUP), *args, "--python", sys.executable],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done


def fill(url: str, data_dir: Path) -> set[str]:
    """A unit, a kiosk and RATINGS ratings uploaded through the real API; their ids."""
    migrate(url)
    with serve(ServerSettings(database_url=url, data_dir=data_dir)) as running:
        org = make_org(running.sessions)
        kiosk = enroll(running, org.counter_ids[0])
        maker = RatingMaker(org.counter_ids[0])
        items = [maker.item(org.officer_ids[n % 3], (5, 4, 3, 2)[n % 4]) for n in range(RATINGS)]
        assert statuses(upload(running, kiosk, maker.batch(items))) == ["accepted"] * RATINGS
    return {item["id"] for item in items}


def everything(url: str) -> dict[str, list[tuple]]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: sorted(
                    (tuple(row) for row in connection.execute(select(table))), key=repr
                )
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def rating_ids(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {str(value) for value in connection.scalars(select(Rating.id))}
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_restore_into_an_empty_database_gives_back_every_rating(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        source_url = f"sqlite:///{tmp_path / 'source' / 'server.db'}"
        target_url = f"sqlite:///{tmp_path / 'target' / 'server.db'}"
        (tmp_path / "source").mkdir()
    else:
        cluster: Cluster = request.getfixturevalue("cluster")
        source_url, target_url = cluster.create_database("source"), cluster.create_database("t")
    ids = fill(source_url, tmp_path / "source")
    before = everything(source_url)

    made = backup_sh("--config", str(settings_file(tmp_path / "source", source_url)),
                     "--dest", str(tmp_path / "backups"))
    saved = Path(made.stdout.strip())
    assert saved.parent == tmp_path / "backups" and saved.is_file()
    assert saved.suffix == (".sqlite" if backend == "sqlite" else ".pgdump")

    target_config = settings_file(tmp_path / "target", target_url)
    backup_sh("restore", "--config", str(target_config), str(saved))

    after = everything(target_url)
    assert after == before
    assert rating_ids(target_url) == ids
    # The restored database is at the newest schema: the server starts on it.
    migrate(target_url)


def test_only_the_newest_backups_are_kept(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    migrate(url)
    config = settings_file(tmp_path, url)
    backups = tmp_path / "backups"
    backups.mkdir()
    for n in range(4):
        (backups / f"hailong-2020010{n}T000000Z.sqlite").write_bytes(b"old")
        subprocess.run(["touch", "-d", f"2020-01-0{n + 1}", str(backups /
                        f"hailong-2020010{n}T000000Z.sqlite")], check=True, timeout=10)
    newest = Path(backup_sh("--config", str(config), "--dest", str(backups),
                            "--keep", "2").stdout.strip())
    assert sorted(backups.iterdir()) == sorted(
        [backups / "hailong-20200103T000000Z.sqlite", newest]
    )


def test_a_backup_of_the_wrong_kind_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    migrate(url)
    wrong = tmp_path / "hailong-x.pgdump"
    wrong.write_bytes(b"PGDMP")
    done = subprocess.run(
        ["bash", str(BACKUP), "restore", "--config", str(settings_file(tmp_path, url)),
         "--python", sys.executable, str(wrong)],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 1
    assert "is not a .sqlite backup" in done.stderr
