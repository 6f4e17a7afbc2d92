"""Every shell script under deploy/ passes shellcheck (following the files it sources)."""

from __future__ import annotations

import subprocess

from deploy_support import REPO

SCRIPTS = sorted((REPO / "deploy").rglob("*.sh"))


def test_the_scripts_are_found() -> None:
    names = {path.relative_to(REPO).as_posix() for path in SCRIPTS}
    assert {"deploy/kiosk/install.sh", "deploy/server/install.sh", "deploy/server/backup.sh",
            "deploy/lib/install-common.sh"} <= names


def test_shellcheck_is_clean() -> None:
    done = subprocess.run(
        ["shellcheck", "--external-sources", *map(str, SCRIPTS)],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr
