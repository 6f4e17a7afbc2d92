"""The server database: engine, sessions and schema migrations.

SQLite is the default (one file in the data directory); PostgreSQL is reached by
a `postgresql+psycopg://` URL. Nothing here or in the models is specific to one
of them, except the connection pragmas SQLite needs to be safe.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

# How long a writer waits for SQLite's single write lock before failing.
SQLITE_BUSY_TIMEOUT_S = 30.0

# Sync endpoints and dependencies run in anyio's thread pool (40 threads by default),
# each step of a request in its own turn. A request that keeps its connection from one
# step to the next (the kiosk's token looked up, then the upload stored) while every
# thread waits for a connection cannot go on: in a burst (a fleet reconnecting) they
# all fail after the pool timeout. SQLite connections cost a file handle, so its pool
# is unbounded; PostgreSQL's is capped by the server's max_connections, so there the
# pool covers the threads and a few more, and a request must hand its connection back
# between steps.
THREAD_POOL_SIZE = 40
POOL_SIZE = 10
PG_POOL_MAX_OVERFLOW = THREAD_POOL_SIZE + 5 - POOL_SIZE


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets pages be read while a batch is written; FULL makes a commit that
    # was acknowledged to a kiosk survive a power cut (the kiosk then forgets it).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for `url`; for an SQLite file its folder is created if missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S},
            pool_size=POOL_SIZE,
            max_overflow=-1,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=PG_POOL_MAX_OVERFLOW
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Any:
    """Alembic's configuration built in code, so no alembic.ini is needed in the cwd."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = url
    return config


def migrate(url: str) -> None:
    """Bring the database at `url` up to the newest schema (creating it when empty)."""
    # Alembic logs its plugins and its context at INFO on every run: noise on each
    # command. Failures still surface as exceptions.
    for name in ("alembic.runtime.plugins", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)
    from alembic import command

    command.upgrade(alembic_config(url), "head")
