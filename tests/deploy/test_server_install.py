"""deploy/server/install.sh run into a throwaway root: units, backup script, nginx site and
settings land where the units expect them, and every unit verifies there."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest
from deploy_support import (
    ENV,
    SERVER_INSTALL,
    prepare_for_verify,
    run_install,
    stand_in_app,
    verify,
)

from hailong.config.loader import load_server

UNITS = ("hailong-server.service", "hailong-backup.service", "hailong-backup.timer")


def exec_start(root: Path, unit: str) -> list[str]:
    text = (root / "etc/systemd/system" / unit).read_text()
    line = next(row for row in text.splitlines() if row.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


def test_files_land_where_the_units_expect_them(server_root: Path) -> None:
    for unit in UNITS:
        assert (server_root / "etc/systemd/system" / unit).is_file()
    server = exec_start(server_root, "hailong-server.service")
    assert server == ["/opt/hailong/venv/bin/hailong", "server", "serve", "--config",
                      "/etc/hailong/server.toml"]
    backup = exec_start(server_root, "hailong-backup.service")
    assert (server_root / backup[0].lstrip("/")).stat().st_mode & 0o111
    assert backup[1:3] == ["--config", "/etc/hailong/server.toml"]
    assert (server_root / backup[backup.index("--dest") + 1].lstrip("/")).is_dir()
    assert (server_root / "etc/nginx/sites-available/hailong").is_file()
    assert (server_root / "opt/hailong/venv/bin/python").exists()
    wants = server_root / "etc/systemd/system"
    assert (wants / "multi-user.target.wants/hailong-server.service").is_symlink()
    assert (wants / "timers.target.wants/hailong-backup.timer").is_symlink()


def test_the_settings_are_valid(server_root: Path) -> None:
    settings = load_server(server_root / "etc/hailong/server.toml").server
    assert settings.data_dir == Path("/var/lib/hailong/server")
    assert (server_root / "var/lib/hailong/server").is_dir()
    assert settings.host == "127.0.0.1" and settings.port == 8080
    # One per core (nproc), at most 6 (PostgreSQL's default connection limit).
    assert settings.workers == min(len(os.sched_getaffinity(0)), 6)


def test_postgresql_option_points_new_settings_at_the_local_database(tmp_path: Path) -> None:
    run_install(SERVER_INSTALL, tmp_path, "--postgresql")
    settings = load_server(tmp_path / "etc/hailong/server.toml").server
    assert settings.database_url == (
        "postgresql+psycopg://hailong@/hailong?host=/var/run/postgresql"
    )


@pytest.mark.parametrize("unit", UNITS)
def test_every_unit_verifies_in_the_installed_root(server_root: Path, unit: str) -> None:
    prepare_for_verify(server_root)
    stand_in_app(server_root)
    done = verify(server_root, unit)
    assert done.returncode == 0, done.stdout + done.stderr


def test_verify_notices_a_missing_app(tmp_path: Path) -> None:
    """The check above can fail: without the app in the virtualenv the unit is refused."""
    run_install(SERVER_INSTALL, tmp_path)
    prepare_for_verify(tmp_path)
    done = verify(tmp_path, "hailong-server.service")
    assert done.returncode != 0
    assert "/opt/hailong/venv/bin/hailong" in done.stderr


def test_the_installed_command_line_is_accepted_by_the_app(server_root: Path) -> None:
    app = stand_in_app(server_root)
    done = subprocess.run(
        [str(app), "server", "serve", "--config", str(server_root / "etc/hailong/server.toml"),
         "--help"],
        capture_output=True, text=True, timeout=30, env=ENV,
    )
    assert done.returncode == 0, done.stderr
