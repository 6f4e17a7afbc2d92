"""`hailong server`: migrate the database, optionally seed the demo, and serve."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from hailong.i18n import _
from hailong.sync.server.settings_args import add_settings_arguments, load_settings, safe_url

if TYPE_CHECKING:
    from hailong.config.settings import KioskPolicy, ServerSettings
    from hailong.sync.server.seed import DemoLogin


def register(sub: argparse._SubParsersAction) -> None:
    description = _(
        "Run the central server: it receives the kiosks' ratings and shows supervisors "
        "the officers' scores. The database is migrated to the newest schema first."
    )
    parser = sub.add_parser("server", help=_("run the central server"), description=description)
    parser.add_argument(
        "action", nargs="?", choices=("serve", "migrate"), default="serve",
        help=_("serve (the default), or only migrate the database and exit"),
    )
    add_settings_arguments(parser)
    parser.add_argument("--host", help=_("address to listen on (overrides the file)"))
    parser.add_argument(
        "--port", type=int, help=_("port to listen on; 0 picks a free one (overrides the file)")
    )
    parser.add_argument(
        "--workers", type=int, metavar="N",
        help=_("number of worker processes (overrides server.workers in the file)"),
    )
    parser.add_argument(
        "--demo", action="store_true",
        help=_("create the demo organisation (unit, counters, officers, a supervisor) and "
               "print the supervisor's login"),
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from hailong.i18n import set_language
    from hailong.sync.server.db import migrate

    settings = load_settings(args, host=args.host, workers=args.workers)
    if settings is None:
        return 2
    if args.port is not None:
        if not 0 <= args.port <= 65535:
            print(_("--port must be between 0 and 65535"), file=sys.stderr)
            return 2
        # Set after validation: the settings file may not say 0, the command line may.
        settings = settings.model_copy(update={"port": args.port})
    set_language(settings.language)
    url = settings.effective_database_url
    try:
        migrate(url)
    except (SQLAlchemyError, OSError) as error:
        message = _("cannot open or migrate the database {url}: {error}")
        print(message.format(url=safe_url(url), error=error), file=sys.stderr)
        return 1
    if args.action == "migrate":
        print(_("the database {url} is at the newest schema").format(url=safe_url(url)))
        return 0
    login = _seed_demo(url) if args.demo else None
    _serve(settings, _kiosk_policy(args), login)
    return 0


def _kiosk_policy(args: argparse.Namespace) -> KioskPolicy | None:
    """The file's `[kiosk_policy]` (already checked by load_settings)."""
    from hailong.config.loader import load_server

    return load_server(getattr(args, "config", None)).kiosk_policy


def _seed_demo(url: str) -> DemoLogin:
    from hailong.sync.server.db import make_engine, make_session_factory
    from hailong.sync.server.seed import seed_demo

    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return seed_demo(session)
    finally:
        engine.dispose()


def _serve(
    settings: ServerSettings, kiosk_policy: KioskPolicy | None, login: DemoLogin | None
) -> None:
    import uvicorn

    from hailong.sync.server.app import create_app
    from hailong.sync.server.runner import AnnouncingServer, serve_workers

    def announce(host: str, port: int) -> None:
        base = f"http://{host}:{port}"
        if login is not None:
            print(_("Demo supervisor login: {url}/login  username: {username}  password: "
                    "{password}  (demo data only)").format(
                url=base, username=login.username, password=login.password), flush=True)
            print(_("Demo counters (ids): {ids}").format(
                ids=", ".join(map(str, login.counter_ids))), flush=True)
            print(_("Demo officers sign in at the kiosk with the PIN {pin}").format(
                pin=login.officer_pin), flush=True)
        # Not translated: launchers and tests wait for this exact line.
        print(f"listening on {base}", flush=True)

    if settings.workers > 1:
        serve_workers(settings, announce, kiosk_policy, server_header=False)
        return
    config = uvicorn.Config(
        create_app(settings, kiosk_policy=kiosk_policy), host=settings.host,
        port=settings.port, server_header=False,
    )
    AnnouncingServer(config, on_ready=announce).run()
