"""The `hailong` command. Each part registers its own subcommand; heavy imports
(Kivy, FastAPI, pyserial) happen only when that subcommand runs."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from hailong import __version__
from hailong.i18n import _

# (subcommand, module that defines `register(subparsers)`)
SUBCOMMANDS: tuple[tuple[str, str], ...] = (
    ("kiosk", "hailong.kiosk.cli"),
    ("server", "hailong.sync.server.cli"),
    ("device", "hailong.device.cli"),
    ("sync", "hailong.sync.cli"),
    ("config", "hailong.config.cli"),
    ("admin", "hailong.sync.server.admin_cli"),
    ("demo", "hailong.demo"),
)


class CommandFailed(Exception):
    """A command has printed why it cannot go on; `main` returns `code`."""

    def __init__(self, code: int = 1) -> None:
        super().__init__(code)
        self.code = code


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or with `only` that one subcommand's part of it."""
    parser = argparse.ArgumentParser(
        prog="hailong",
        description=_(
            "Hài Lòng: citizens rate each officer at the one-stop counter on a kiosk and a box "
            "of buttons; ratings are stored on the kiosk, uploaded to a central server and "
            "turned into officer scores."
        ),
    )
    parser.add_argument("--version", action="version", version=f"hailong {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help=_("log more detail (debug level)")
    )
    sub = parser.add_subparsers(dest="command", metavar=_("COMMAND"), required=True)
    for name, module in SUBCOMMANDS:
        if only in (None, name):
            importlib.import_module(module).register(sub)
    return parser


def chosen_subcommand(argv: Sequence[str]) -> str | None:
    """The subcommand named first on the command line, if it is one of ours. Only its
    module is then imported: the kiosk, running for weeks, does not keep the server's
    and the other commands' code in memory."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in dict(SUBCOMMANDS) else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    parser = build_parser(chosen_subcommand(words))
    args = parser.parse_args(words)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not args.verbose:
        # Alembic announces its plugins and context at INFO every time a database is
        # opened; only its warnings matter unless --verbose asks for more.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    return dispatch(args)


def dispatch(args: argparse.Namespace) -> int:
    """Run the chosen subcommand's handler and turn its outcome into an exit code."""
    try:
        return int(args.func(args) or 0)
    except CommandFailed as failed:
        return failed.code
    except KeyboardInterrupt:
        return 130
