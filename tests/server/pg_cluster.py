"""The server tests' throwaway PostgreSQL cluster: `hailong.sync.server.pg_cluster`
(shared with the sync benchmark)."""

from hailong.sync.server.pg_cluster import (
    Cluster,
    PostgresUnavailable,
    find_binary,
    free_port,
    start_cluster,
)

__all__ = ["Cluster", "PostgresUnavailable", "find_binary", "free_port", "start_cluster"]
