"""Alembic migrations of the kiosk database, run by the store each time it opens.

Configured here in code (no alembic.ini): `upgrade(connection)` takes a connection
that is already inside a transaction, so a whole upgrade commits or rolls back as one
(SQLite DDL is transactional) and a power cut mid-upgrade leaves the old schema.

A new revision goes in `versions/` with the next number, `down_revision` set to the
previous one, and `op.batch_alter_table(...)` for any change to an existing table
(SQLite cannot alter most things in place; batch mode copies the table). From a Python
shell, `alembic.command.revision(alembic_config(conn), autogenerate=True, message=...)`
drafts one against a database at the current head, and `HEAD` below moves to it.

Alembic and SQLAlchemy are imported only when a database is behind `HEAD` (about
25 MB of a kiosk's memory otherwise): `is_current` reads the stored revision with
plain SQL on an `sqlite3` connection, the kiosk store's own.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection

MIGRATIONS_DIR = Path(__file__).resolve().parent

# The newest revision in `versions/`; a test checks that Alembic agrees.
HEAD = "0002"


def is_current(connection: sqlite3.Connection) -> bool:
    """Whether the database already stands at `HEAD` (a new, empty one does not)."""
    has_table = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    ).fetchone()
    if has_table is None:
        return False
    stored = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    return [row[0] for row in stored] == [HEAD]


def alembic_config(
    connection: Connection, extra_version_locations: Sequence[Path] = ()
) -> Config:
    """`extra_version_locations` adds folders of revisions after ours (tests use it to
    rehearse a future upgrade)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    locations = [MIGRATIONS_DIR / "versions", *extra_version_locations]
    config.set_main_option("version_locations", os.pathsep.join(str(p) for p in locations))
    config.attributes["connection"] = connection
    return config


def upgrade(
    connection: Connection,
    revision: str = "head",
    extra_version_locations: Sequence[Path] = (),
) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection, extra_version_locations), revision)
