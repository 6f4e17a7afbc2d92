"""What the kiosk-side commands (`hailong kiosk`, `hailong sync`) share: the
`--config` option, loading the kiosk's settings, and opening its database, each
with a clear message instead of a traceback. Light imports only."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hailong.cli import CommandFailed
from hailong.i18n import _

if TYPE_CHECKING:
    from hailong.config.settings import KioskFile
    from hailong.sync.store import KioskStore




def add_config_argument(parser: argparse.ArgumentParser, *, repeated: bool = False) -> None:
    """With `repeated`, `--config` may also follow an action without resetting a value
    given before it."""
    parser.add_argument(
        "--config",
        type=Path,
        metavar=_("FILE"),
        default=argparse.SUPPRESS if repeated else None,
        help=_("the kiosk's settings file (default: the built-in defaults)"),
    )


def load_settings(args: argparse.Namespace) -> KioskFile:
    from hailong.config.loader import ConfigError, load_kiosk

    try:
        settings = load_kiosk(getattr(args, "config", None))
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        raise CommandFailed(2) from None
    return with_technician_changes(settings)


def with_technician_changes(settings: KioskFile) -> KioskFile:
    """The file's settings with what the technician changed on the kiosk's screen (kept
    in its database) laid over them. A saved change that no longer validates is
    reported and left out, never a reason not to start."""
    from hailong.kiosk.staff.overrides import OverrideError, apply_overrides, load_overrides
    from hailong.sync.store import KioskStore, StoreError

    if not settings.kiosk.database_path.exists():
        return settings
    try:
        with KioskStore(settings.kiosk.database_path) as store:
            overrides = load_overrides(store)
    except StoreError:
        return settings  # the command that opens the store reports it
    if not overrides:
        return settings
    try:
        return apply_overrides(settings, overrides)
    except OverrideError as exc:
        print(
            _("Ignoring the settings changed on the kiosk's screen: {problems}").format(
                problems="; ".join(exc.problems)
            ),
            file=sys.stderr,
        )
        return settings


def open_store(settings: KioskFile, *, must_exist: bool = False) -> KioskStore:
    from hailong.sync.store import KioskStore, StoreError

    path = settings.kiosk.database_path
    if must_exist and not path.exists():
        print(
            _("No kiosk database at {path}: has the kiosk run on this machine?").format(path=path),
            file=sys.stderr,
        )
        raise CommandFailed(1)
    try:
        return KioskStore(path)
    except StoreError as exc:
        print(exc, file=sys.stderr)
        raise CommandFailed(1) from None
