"""`hailong kiosk`: run the kiosk, enroll it, sign an officer in or out, make a
staff PIN's hash."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from hailong.cli import CommandFailed
from hailong.i18n import _
from hailong.kiosk.cli_support import add_config_argument, load_settings, open_store

if TYPE_CHECKING:
    from hailong.sync.wire import KioskConfig


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "kiosk",
        help=_("run the touch-screen kiosk and enroll it with the server"),
        description=_(
            "The touch-screen kiosk at a counter. Settings come from a kiosk TOML file "
            "(see `hailong config example kiosk`); without --config the embedded defaults are used."
        ),
    )
    add_config_argument(parser)
    actions = parser.add_subparsers(dest="kiosk_command", metavar=_("ACTION"), required=True)

    run = actions.add_parser(
        "run",
        help=_("open the kiosk window"),
        description=_(
            "Open the kiosk window, connect to the rating box and upload ratings in the "
            "background. Needs a display (DISPLAY or Wayland)."
        ),
    )
    run.add_argument(
        "--no-window",
        action="store_true",
        help=_("run the box, the store and the uploader without a window (a box-only counter)"),
    )
    run.add_argument(
        "--windowed",
        action="store_true",
        help=_("use a window even if the settings say fullscreen"),
    )
    add_config_argument(run, repeated=True)
    run.set_defaults(func=_run)

    enroll = actions.add_parser(
        "enroll",
        help=_("enroll this kiosk with the central server using a one-time code"),
        description=_(
            "Trade a one-time enrollment code (from `hailong admin enroll-code`) for this "
            "kiosk's own credential, and download its counter and officer roster."
        ),
    )
    enroll.add_argument("code", help=_("the one-time enrollment code"))
    enroll.add_argument(
        "--server", help=_("the server URL (default: sync.server_url in the settings)")
    )
    add_config_argument(enroll, repeated=True)
    enroll.set_defaults(func=_enroll)

    refresh = actions.add_parser(
        "refresh",
        help=_("download the counter and officer roster again"),
        description=_("Download this kiosk's counter and officer roster (with photos) again."),
    )
    add_config_argument(refresh, repeated=True)
    refresh.set_defaults(func=_refresh)

    sign_in = actions.add_parser(
        "sign-in",
        help=_("sign an officer in at this kiosk's counter"),
        description=_(
            "Sign an officer in at this kiosk's counter (by officer id from the roster)."
        ),
    )
    sign_in.add_argument("officer_id", type=int)
    add_config_argument(sign_in, repeated=True)
    sign_in.set_defaults(func=_sign_in)

    sign_out = actions.add_parser(
        "sign-out",
        help=_("sign the current officer out"),
        description=_(
            "Sign the current officer out; ratings are then flagged as having no officer."
        ),
    )
    add_config_argument(sign_out, repeated=True)
    sign_out.set_defaults(func=_sign_out)

    set_pin = actions.add_parser(
        "set-pin",
        help=_("make the hash of a supervisor or technician PIN for kiosk.toml"),
        description=_(
            "Read a PIN (4 to 12 digits, the kiosk's keypad has only digits) twice and print "
            "the Argon2id hash line to put in the [kiosk] section of kiosk.toml. The PIN "
            "itself is stored nowhere."
        ),
    )
    set_pin.add_argument(
        "--role", choices=("supervisor", "technician"), required=True,
        help=_("whose screen the PIN opens"),
    )
    set_pin.add_argument(
        "--pin-stdin",
        action="store_true",
        help=_("read the PIN from standard input (one line; a second line, if given, "
               "must repeat it) instead of asking at the terminal"),
    )
    set_pin.set_defaults(func=_set_pin)


def _run(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    if args.windowed:
        settings = settings.model_copy(
            update={"kiosk": settings.kiosk.model_copy(update={"fullscreen": False})}
        )
    if args.no_window:
        from hailong.kiosk.headless import run_headless

        return run_headless(settings, settings.kiosk.database_path)
    from hailong.kiosk.kivy_env import prepare_kivy_environment

    prepare_kivy_environment(settings.kiosk.data_dir / "kivy")
    from hailong.kiosk.app import run_app

    return run_app(settings, settings.kiosk.database_path)


def _download_roster(
    args: argparse.Namespace, fetch: Callable[..., KioskConfig], failure: str, server: str | None
) -> KioskConfig:
    """Run `fetch(store, server_url, photo_dir, timeout)` and keep what it downloaded."""
    from hailong.sync.client import SyncError

    settings = load_settings(args)
    store = open_store(settings)
    try:
        return fetch(
            store,
            server or str(settings.sync.server_url),
            settings.kiosk.photo_dir,
            settings.sync.timeout_s,
        )
    except SyncError as exc:
        print(failure.format(error=exc), file=sys.stderr)
        raise CommandFailed(1) from None
    finally:
        store.close()


def _print_roster(config: KioskConfig) -> None:
    print(_("{n} officers on the roster.").format(n=len(config.officers)))
    for officer in config.officers:
        print(f"  {officer.id}: {officer.name} — {officer.title}")


def _enroll(args: argparse.Namespace) -> int:
    from hailong.kiosk.enrollment import enroll

    config = _download_roster(
        args,
        lambda store, server, photos, timeout: enroll(store, server, args.code, photos, timeout),
        _("Enrollment failed: {error}"),
        args.server,
    )
    print(
        _("Enrolled as kiosk {kiosk} at {counter} ({unit}).").format(
            kiosk=config.kiosk_id, counter=config.counter.name, unit=config.counter.unit_name
        )
    )
    _print_roster(config)
    return 0


def _refresh(args: argparse.Namespace) -> int:
    from hailong.kiosk.enrollment import refresh

    _print_roster(_download_roster(args, refresh, _("Refresh failed: {error}"), None))
    return 0


def _sign_in(args: argparse.Namespace) -> int:
    from hailong.kiosk.enrollment import load_config

    settings = load_settings(args)
    with open_store(settings) as store:
        config = load_config(store)
        if config is None:
            print(
                _("This kiosk is not enrolled yet: run `hailong kiosk enroll CODE` first."),
                file=sys.stderr,
            )
            return 1
        officers = {officer.id: officer.name for officer in config.officers}
        if args.officer_id not in officers:
            print(
                _("No officer {id} on this kiosk's roster; known: {known}").format(
                    id=args.officer_id, known=", ".join(str(i) for i in sorted(officers))
                ),
                file=sys.stderr,
            )
            return 1
        store.set_state("officer_id", str(args.officer_id))
    print(_("{name} is signed in.").format(name=officers[args.officer_id]))
    return 0


def _sign_out(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    with open_store(settings) as store:
        store.set_state("officer_id", "")
    print(_("Signed out."))
    return 0


def _read_pin_twice(from_stdin: bool) -> tuple[str, str]:
    if from_stdin:
        lines = sys.stdin.read().splitlines()
        first = lines[0].strip() if lines else ""
        second = lines[1].strip() if len(lines) > 1 and lines[1].strip() else first
        return first, second
    from getpass import getpass

    return getpass(_("PIN: ")), getpass(_("The same PIN again: "))


def _set_pin(args: argparse.Namespace) -> int:
    from hailong.kiosk.staff.pins import PIN_PATTERN, hash_pin

    pin, again = _read_pin_twice(args.pin_stdin)
    if not PIN_PATTERN.fullmatch(pin):
        print(_("A PIN is 4 to 12 digits (0-9): the kiosk's keypad has nothing else."),
              file=sys.stderr)
        return 2
    if pin != again:
        print(_("The two PINs differ; nothing was made."), file=sys.stderr)
        return 2
    print(_("# Put this line in the [kiosk] section of kiosk.toml:"), file=sys.stderr)
    print(f'{args.role}_pin_hash = "{hash_pin(pin)}"')
    return 0
