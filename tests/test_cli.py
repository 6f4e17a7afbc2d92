import subprocess
import sys

import pytest

from hailong.cli import SUBCOMMANDS, build_parser

NAMES = [name for name, _module in SUBCOMMANDS]


def test_help_lists_every_subcommand():
    result = subprocess.run(
        [sys.executable, "-m", "hailong", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    for name in ("kiosk", "server", "device", "sync", "config", "admin", "demo"):
        assert name in result.stdout


@pytest.mark.parametrize("name", NAMES)
def test_every_subcommand_has_help(name, capsys):
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([name, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert f"hailong {name}" in out and len(out.splitlines()) > 3
