"""The install scripts run into throwaway roots, as a technician would run them on a machine.

`--skip-pip` leaves the app out of the root's virtualenv (a real pip install of Kivy and the
rest takes minutes and needs a package index); everything else the scripts do lands in the
root. Where a unit needs the app's command, the tests put this checkout's `hailong` in its
place and say so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KIOSK_INSTALL = REPO / "deploy" / "kiosk" / "install.sh"
SERVER_INSTALL = REPO / "deploy" / "server" / "install.sh"
DEV_HAILONG = Path(sys.executable).parent / "hailong"
ENV = {**os.environ, "HAILONG_LANG": "en"}


def run_install(script: Path, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["bash", str(script), "--root", str(root), "--skip-pip", *args],
        capture_output=True, text=True, timeout=60, env=ENV,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def stand_in_app(root: Path) -> Path:
    """This checkout's `hailong` script where the skipped pip install would have put it (a
    copy: `systemd-analyze verify --root` resolves a symlink's target inside the root)."""
    target = root / "opt/hailong/venv/bin/hailong"
    shutil.copy2(DEV_HAILONG, target)
    return target


def prepare_for_verify(root: Path) -> None:
    """What `systemd-analyze verify --root` needs from a system: systemd's own units
    (targets, logind, getty), which a bare root lacks."""
    units = root / "usr/lib/systemd/system"
    if not units.exists():
        units.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree("/usr/lib/systemd/system", units, symlinks=True)
        (root / "lib").symlink_to("usr/lib")


def stand_in_cage(root: Path) -> None:
    """The host's cage in the root, or (cage is not installed on a test machine) an
    executable in its place: apt installs the real one on a kiosk."""
    target = root / "usr/bin/cage"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        host = shutil.which("cage")
        if host:
            target.symlink_to(host)
        else:
            target.write_text("#!/bin/sh\nexec \"$@\"\n")
            target.chmod(0o755)


def verify(root: Path, unit: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", "--man=no", f"--root={root}",
         f"/etc/systemd/system/{unit}"],
        capture_output=True, text=True, timeout=30,
    )




def server_test_helpers() -> None:
    """Make the server tests' helpers (`pg_cluster`, `server_harness`) importable: one
    throwaway PostgreSQL and one test server for the whole suite, not copies."""
    folder = str(REPO / "tests" / "server")
    if folder not in sys.path:
        sys.path.append(folder)
