"""`hailong config`: check and print settings files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hailong.i18n import _


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "config",
        help=_("check settings files and print the defaults"),
        description=_("Check kiosk and server settings files (TOML) and show the defaults."),
    )
    actions = parser.add_subparsers(dest="config_command", metavar=_("ACTION"), required=True)

    check = actions.add_parser(
        "check",
        help=_("list every problem in a settings file"),
        description=_(
            "Read a settings file and list every problem at once: file, line, key, what was "
            "expected and what was found. Exits with 1 when there is any problem. The kind of "
            "file is guessed from its tables ([server] means a server file) unless --kind is "
            "given."
        ),
    )
    check.add_argument("file", type=Path, nargs="+", help=_("the TOML file(s) to check"))
    check.add_argument("--kind", choices=["kiosk", "server"], help=_("the kind of file"))
    check.set_defaults(func=_check)

    example = actions.add_parser(
        "example",
        help=_("print a commented example file"),
        description=_("Print the commented example settings file for a kiosk or a server."),
    )
    example.add_argument("kind", choices=["kiosk", "server"])
    example.set_defaults(func=_example)


def _check(args: argparse.Namespace) -> int:
    from hailong.config.loader import ConfigError, load

    failed = False
    for path in args.file:
        try:
            load(path, args.kind)
        except ConfigError as exc:
            failed = True
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            print(
                _("{file}: {n} problem(s)").format(file=path, n=len(exc.problems)),
                file=sys.stderr,
            )
        else:
            print(_("{file}: OK").format(file=path))
    return 1 if failed else 0


def _example(args: argparse.Namespace) -> int:
    from importlib.resources import files

    sys.stdout.write(files("hailong.config").joinpath("examples", f"{args.kind}.toml").read_text())
    return 0
