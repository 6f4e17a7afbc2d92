"""Fixtures of the server tests.

The whole suite runs on both databases: `backend` is "sqlite" or "postgresql",
and `database_url` (one database shared by the session's server) and
`empty_database_url` (new empty databases for one test) follow it. PostgreSQL is a
throwaway cluster started from the installed binaries on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pg_cluster import Cluster, start_cluster
from server_harness import MAX_BATCH_ITEMS, MAX_BODY_BYTES, RunningServer, serve

from hailong.config.settings import ServerSettings
from hailong.sync.server.db import migrate

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    if backend == "postgresql":
        cluster: Cluster = request.getfixturevalue("pg_cluster")
        return cluster.create_database("server")
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'server.db'}"


@pytest.fixture
def empty_database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Callable[[str], str]:
    """A factory of URLs of new, empty databases."""
    if backend == "postgresql":
        cluster: Cluster = request.getfixturevalue("pg_cluster")
        return cluster.create_database
    return lambda name: f"sqlite:///{tmp_path / name}.db"


@pytest.fixture(scope="session")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    migrate(database_url)
    settings = ServerSettings(
        data_dir=tmp_path_factory.mktemp("data"),
        database_url=database_url,
        max_body_bytes=MAX_BODY_BYTES,
        max_batch_items=MAX_BATCH_ITEMS,
    )
    with serve(settings) as running:
        yield running
