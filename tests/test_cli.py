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


def test_a_subcommand_imports_only_its_own_module():
    script = (
        "import sys\n"
        "from hailong.cli import main\n"
        "try:\n"
        "    main(['-v', 'kiosk', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('hailong.kiosk.cli', 'hailong.device.cli',\n"
        "    'hailong.sync.server.cli', 'hailong.demo') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "['hailong.kiosk.cli']"


@pytest.mark.parametrize(
    ("argv", "chosen"),
    [
        (["kiosk", "run"], "kiosk"),
        (["-v", "sync", "status"], "sync"),
        (["--version"], None),
        (["nonsense", "kiosk"], None),
        ([], None),
    ],
)
def test_the_chosen_subcommand_is_the_first_word(argv, chosen):
    from hailong.cli import chosen_subcommand

    assert chosen_subcommand(argv) == chosen


def test_an_unknown_subcommand_still_lists_them_all(capsys):
    from hailong.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["nonsense"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert all(name in err for name in NAMES)
