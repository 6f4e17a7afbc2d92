"""The server database's migrations: a fresh database gets the models' schema."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from hailong.sync.server.db import alembic_config, make_engine, migrate
from hailong.sync.server.schema import metadata


def test_upgrade_of_an_empty_database_matches_the_models(
    empty_database_url: Callable[[str], str],
) -> None:
    url = empty_database_url("fresh")
    migrate(url)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), metadata) == []
            current = MigrationContext.configure(connection).get_current_revision()
        head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
        assert current == head
        assert {"units", "counters", "officers", "users", "kiosks", "enrollment_codes",
                "ratings"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrating_twice_changes_nothing_and_keeps_data(
    empty_database_url: Callable[[str], str],
) -> None:
    url = empty_database_url("twice")
    migrate(url)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO units (id, name) VALUES (1, 'Đơn vị')"))
        migrate(url)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT name FROM units")).scalar_one() == "Đơn vị"
    finally:
        engine.dispose()


def test_downgrade_to_nothing_and_back(empty_database_url: Callable[[str], str]) -> None:
    url = empty_database_url("roundtrip")
    migrate(url)
    command.downgrade(alembic_config(url), "base")
    engine = make_engine(url)
    try:
        assert "ratings" not in inspect(engine).get_table_names()
        migrate(url)
        assert "ratings" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_the_heartbeat_revision_keeps_existing_kiosks_and_ratings(
    empty_database_url: Callable[[str], str],
) -> None:
    url = empty_database_url("from_0001")
    config = alembic_config(url)
    command.upgrade(config, "0001")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            for statement in (
                "INSERT INTO units (id, name) VALUES (1, 'Đơn vị')",
                "INSERT INTO counters (id, unit_id, name) VALUES (1, 1, 'Quầy 1')",
                "INSERT INTO kiosks (id, counter_id, token_hash, app_version, hostname, "
                "enrolled_at, last_seq) VALUES (1, 1, 'h', '1.0', 'k', "
                "'2026-11-01 08:00:00', 7)",
                "INSERT INTO ratings (id, kiosk_id, kiosk_seq, counter_id, button, scale_size, "
                "sipas_level, source, flags, flagged, boot_id, monotonic_ms, wall_time, "
                "clock_trusted, server_received_at, corrected_time, time_verified, "
                "content_hash) VALUES ('0123456789abcdef0123456789abcdef', 1, 7, 1, 1, 4, 5, "
                "'box', '[]', false, 'fedcba9876543210fedcba9876543210', 5, "
                "'2026-11-01 08:00:00', true, '2026-11-01 08:00:01', '2026-11-01 08:00:00', "
                "true, 'x')",
            ):
                connection.execute(text(statement))
        migrate(url)
        with engine.connect() as connection:
            kiosk = connection.execute(
                text("SELECT last_seq, last_heartbeat_at, backlog FROM kiosks")).one()
            assert tuple(kiosk) == (7, None, None)
            assert connection.execute(text("SELECT kiosk_seq FROM ratings")).scalar_one() == 7
        command.downgrade(config, "0001")
        assert "backlog" not in {c["name"] for c in inspect(engine).get_columns("kiosks")}
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM ratings")).scalar_one() == 1
    finally:
        engine.dispose()


# The pragmas are SQLite's own; PostgreSQL has nothing to compare them with.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_connections_use_wal_full_sync_and_foreign_keys(
    empty_database_url: Callable[[str], str],
) -> None:
    url = empty_database_url("pragmas")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2  # FULL
    finally:
        engine.dispose()
