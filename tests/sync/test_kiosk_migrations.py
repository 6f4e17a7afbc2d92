"""Kiosk database migrations: the schema Alembic builds is the models' schema, and an
upgrade in the field keeps every rating that has not reached the server."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from outbox_helpers import new_rating, record, record_many

from hailong.kiosk.session import BoxKey
from hailong.sync.kiosk_migrations import HEAD, alembic_config
from hailong.sync.kiosk_schema import metadata
from hailong.sync.store import KioskStore, StoreError
from hailong.sync.wire import ItemResult

HERE = Path(__file__).parent
REHEARSAL = HERE / "kiosk_future_migration"
FAILING = HERE / "kiosk_failing_migration"


def _revision(path: Path) -> str:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def test_the_rehearsals_follow_the_shipped_head() -> None:
    with sa.create_engine("sqlite://").connect() as connection:
        head = ScriptDirectory.from_config(alembic_config(connection)).get_current_head()
    assert head == "0002", "point the test migrations' down_revision at the new head"
    assert head == HEAD, "move kiosk_migrations.HEAD to the new head"


def _opens_with_alembic(path: Path) -> bool:
    """Whether opening the store at `path` in a fresh interpreter imports Alembic."""
    script = (
        "import sys; from pathlib import Path; from hailong.sync.store import KioskStore; "
        f"KioskStore(Path({str(path)!r})).close(); print('alembic' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=True)
    return done.stdout.strip() == "True"


def test_alembic_is_loaded_only_for_an_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    assert _opens_with_alembic(path)  # a new database is built by the migrations
    assert _revision(path) == HEAD
    assert not _opens_with_alembic(path)
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0001")
    engine.dispose()
    assert _opens_with_alembic(path)  # behind the head: upgraded again
    assert _revision(path) == HEAD


def test_the_migrated_schema_is_the_models_schema(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    KioskStore(path).close()
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_downgrade_to_nothing_and_back(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    KioskStore(path).close()
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
        assert sa.inspect(connection).get_table_names() == ["alembic_version"]
    engine.dispose()
    with KioskStore(path) as store:
        assert record(store).kiosk_seq == 1


def test_an_upgrade_keeps_every_unsynced_rating(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    with KioskStore(path) as store:
        stored = record_many(store, 27)
        pressed = record(store, new_rating(box=BoxKey("HL0001", 4, 1)), n=30)
        store.apply_results(
            [ItemResult(id=s.id, status="accepted") for s in stored[:10]]
            + [ItemResult(id=stored[10].id, status="rejected", reason="poison")]
        )
        waiting = store.pending(1000, 10**7)
    assert _revision(path) == "0002"
    assert len(waiting) == 17

    with KioskStore(path, extra_migrations=[REHEARSAL]) as store:
        assert _revision(path) == "0003_rehearsal"
        assert store.pending(1000, 10**7) == waiting
        status = store.sync_status()
        assert (status.backlog, status.set_aside) == (17, 1)
        # The rebuilt tables still enforce what they did: one row per box press,
        # numbers that go on, outbox rows that point at their ratings.
        assert record(store, new_rating(box=BoxKey("HL0001", 4, 1))) == pressed
        assert record(store).kiosk_seq == 29
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        columns = {row[1] for row in db.execute("PRAGMA table_info(ratings)")}
        assert "remark" in columns


def test_a_database_from_a_newer_version_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    with KioskStore(path, extra_migrations=[REHEARSAL]) as store:
        record(store)
    with pytest.raises(StoreError, match="newer version"):
        KioskStore(path)


def test_a_failed_upgrade_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    with KioskStore(path) as store:
        waiting = [s.to_item() for s in record_many(store, 12)]
    with pytest.raises(RuntimeError, match="rehearsed failure"):
        KioskStore(path, extra_migrations=[FAILING])
    assert _revision(path) == "0002"
    with KioskStore(path) as store:
        assert store.pending(1000, 10**7) == waiting
    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(ratings)")}
        assert "remark" not in columns
