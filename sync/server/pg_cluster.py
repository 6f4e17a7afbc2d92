"""A throwaway PostgreSQL cluster, started from the installed server binaries and
thrown away when stopped: for the server tests and the sync benchmark.

PostgreSQL refuses to run as root, so under root the binaries run as the
`postgres` user (through `setpriv`, which execs in place: the process we start is
the server itself and we can stop it by its pid). Durability is switched off: the
cluster lives only as long as the tests or the benchmark that started it.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

STARTUP_S = 30.0
STOP_S = 15.0
UNPRIVILEGED_USER = "postgres"
SUPERUSER = "hailong_test"


class PostgresUnavailable(RuntimeError):
    pass


def find_binary(name: str) -> str:
    """`name` on PATH, else in the newest /usr/lib/postgresql/*/bin (Debian's place)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda path: int(Path(path).parent.parent.name),
    )
    if not candidates:
        raise PostgresUnavailable(
            f"the PostgreSQL server binary {name!r} is not installed "
            "(Debian: apt-get install postgresql; `make test` installs it)"
        )
    return candidates[-1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_unprivileged() -> tuple[list[str], pwd.struct_passwd | None]:
    if os.geteuid() != 0:
        return [], None
    try:
        account = pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError:
        raise PostgresUnavailable(
            f"PostgreSQL will not run as root and there is no {UNPRIVILEGED_USER!r} user "
            "to run it as (the postgresql package creates one)"
        ) from None
    prefix = [
        shutil.which("setpriv") or "setpriv",
        f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--init-groups", "--",
    ]
    return prefix, account


@dataclass
class Cluster:
    root: Path
    port: int
    process: subprocess.Popen[bytes]

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres",
            autocommit=True, connect_timeout=10,
        )

    def create_database(self, name: str) -> str:
        """A new empty database; its SQLAlchemy URL."""
        database = f"{name.lower()}_{uuid.uuid4().hex[:10]}"
        with self._admin() as connection:
            connection.execute(f'CREATE DATABASE "{database}" TEMPLATE template0')
        return self.url(database)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # "smart" shutdown: clients have gone by now
            try:
                self.process.wait(STOP_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_S)
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> Cluster:
    initdb, postgres = find_binary("initdb"), find_binary("postgres")
    prefix, account = _as_unprivileged()
    # Not under pytest's tmp folder: that one is private to the user running the tests.
    root = Path(tempfile.mkdtemp(prefix="hailong-pg-"))
    data, sockets = root / "data", root / "socket"
    sockets.mkdir()
    if account is not None:
        for path in (root, sockets):
            os.chown(path, account.pw_uid, account.pw_gid)
    try:
        subprocess.run(
            [*prefix, initdb, "-D", str(data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8",
             "--no-locale", "--no-sync", "--no-instructions"],
            check=True, capture_output=True, timeout=120,
        )
    except subprocess.CalledProcessError as error:
        shutil.rmtree(root, ignore_errors=True)
        detail = error.stderr.decode(errors="replace")
        raise PostgresUnavailable(f"initdb failed: {detail}") from None
    port = free_port()
    # The server keeps its own copy of the log's descriptor.
    with open(root / "server.log", "wb") as log:
        process = subprocess.Popen(
            [*prefix, postgres, "-D", str(data), "-p", str(port), "-k", str(sockets),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
             "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "max_connections=200"],
            stdout=log, stderr=subprocess.STDOUT,
        )
    cluster = Cluster(root, port, process)
    deadline = time.monotonic() + STARTUP_S
    while True:
        try:
            with cluster._admin():
                return cluster
        except psycopg.OperationalError:
            if process.poll() is not None or time.monotonic() > deadline:
                output = (root / "server.log").read_text(errors="replace")
                cluster.stop()
                raise PostgresUnavailable(f"PostgreSQL did not start:\n{output}") from None
            time.sleep(0.05)
