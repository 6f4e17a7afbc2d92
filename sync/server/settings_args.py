"""Command-line options shared by `hailong server` and `hailong admin`: which
settings file, data folder and database to use. Light imports only."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hailong.i18n import _

if TYPE_CHECKING:
    from hailong.config.settings import ServerSettings


def add_settings_arguments(parser: argparse.ArgumentParser, *, repeated: bool = False) -> None:
    """With `repeated`, the options may also follow an action without resetting
    what was given before it."""
    default = argparse.SUPPRESS if repeated else None
    parser.add_argument(
        "--config", type=Path, metavar=_("FILE"), default=default,
        help=_("server settings file (TOML); embedded defaults when not given"),
    )
    parser.add_argument(
        "--data-dir", type=Path, metavar=_("DIR"), default=default,
        help=_("folder for the SQLite database and the secret key (overrides the file)"),
    )
    parser.add_argument(
        "--database-url", metavar=_("URL"), default=default,
        help=_("database URL, e.g. postgresql+psycopg://user:pw@host/db (overrides the file)"),
    )


def load_settings(args: argparse.Namespace, **overrides: Any) -> ServerSettings | None:
    """The ServerSettings from the file and the options; prints every problem and
    returns None when they are not valid."""
    from pydantic import ValidationError

    from hailong.config.loader import ConfigError, load_server
    from hailong.config.settings import ServerSettings

    try:
        values = load_server(getattr(args, "config", None)).server.model_dump()
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return None
    given = {
        "data_dir": getattr(args, "data_dir", None),
        "database_url": getattr(args, "database_url", None),
        **overrides,
    }
    values.update({key: value for key, value in given.items() if value is not None})
    try:
        return ServerSettings.model_validate(values)
    except ValidationError as error:
        for item in error.errors():
            print(f"{'.'.join(map(str, item['loc'])) or 'server'}: {item['msg']}", file=sys.stderr)
        return None


def safe_url(url: str) -> str:
    """The database URL with any password hidden, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
