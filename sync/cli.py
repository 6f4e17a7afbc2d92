"""`hailong sync status` and `hailong sync push`: the kiosk's outbox, seen and
drained by hand (the kiosk app uploads by itself in the background)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING

from hailong.i18n import _, ngettext
from hailong.kiosk.cli_support import add_config_argument, load_settings, open_store

if TYPE_CHECKING:
    pass

BAR_WIDTH = 30


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "sync",
        help=_("show the upload backlog and upload now"),
        description=_(
            "Inspect and drain this kiosk's outbox: ratings stored on the kiosk that the "
            "central server has not confirmed yet."
        ),
    )
    actions = parser.add_subparsers(dest="sync_command", metavar=_("ACTION"), required=True)
    status = actions.add_parser(
        "status",
        help=_("show the backlog, set-aside ratings, last success and last error"),
        description=_(
            "Show how many ratings wait to be uploaded, how many the server refused (set "
            "aside, kept on the kiosk), and when the last upload succeeded and failed."
        ),
    )
    push = actions.add_parser(
        "push",
        help=_("upload every waiting rating now, with a progress bar"),
        description=_(
            "Upload every waiting rating to the server now, oldest first, showing progress "
            "on standard error. Exits non-zero with the error when an upload fails."
        ),
    )
    add_config_argument(parser)
    for action in (status, push):
        add_config_argument(action, repeated=True)
    status.set_defaults(func=_status)
    push.set_defaults(func=_push)


def _when(moment: datetime | None) -> str:
    if moment is None:
        return _("never")
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _status(args: argparse.Namespace) -> int:
    store = open_store(load_settings(args), must_exist=True)
    with store:
        status = store.sync_status()
        refused = store.set_aside(limit=10)
    lines = [
        _("Kiosk database: {path}").format(path=store.path),
        _("Waiting to upload: {count}").format(count=status.backlog),
    ]
    if status.oldest_pending_at is not None:
        lines.append(
            _("Oldest waiting rating: {when}").format(when=_when(status.oldest_pending_at))
        )
    lines += [
        _("Set aside (refused by the server): {count}").format(count=status.set_aside),
        _("Last successful upload: {when}").format(when=_when(status.last_success_at)),
    ]
    if status.last_error_at is None:
        lines.append(_("Last failed upload: never"))
    else:
        lines.append(
            _("Last failed upload: {when}: {error}").format(
                when=_when(status.last_error_at), error=status.last_error
            )
        )
    for item in refused:
        lines.append(
            _("  #{seq} {id}: {result}: {reason}").format(
                seq=item.kiosk_seq, id=item.id, result=item.result, reason=item.reason
            )
        )
    print("\n".join(lines))
    return 0


def progress_bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    filled = width if total <= 0 else min(width, width * done // total)
    return "[{bar}] {done}/{total}".format(
        bar="#" * filled + "-" * (width - filled), done=done, total=total
    )


def _push(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    store = open_store(settings, must_exist=True)
    from hailong.sync.uploader import Uploader

    def show(done: int, total: int) -> None:
        print("\r" + progress_bar(done, total), end="", file=sys.stderr, flush=True)

    with store:
        uploader = Uploader(store, settings.sync, credentials=lambda: store.get_state("token"))
        report = uploader.push_all(show)
        uploader.stop()
        print(file=sys.stderr)
    if not report.ok:
        print(_("Upload failed: {error}").format(error=report.error), file=sys.stderr)
        if report.retry_after_s is not None:
            print(
                _("The server asks to wait {seconds:.0f} s before trying again.").format(
                    seconds=report.retry_after_s
                ),
                file=sys.stderr,
            )
        print(
            _("{remaining} ratings still wait on the kiosk; none is lost.").format(
                remaining=report.remaining
            ),
            file=sys.stderr,
        )
        return 1
    print(
        _("Uploaded {sent} ratings; {set_aside} set aside by the server.").format(
            sent=report.sent, set_aside=report.set_aside
        )
    )
    if report.remaining:
        # All a successful push leaves: low ratings whose citizens are still answering.
        print(
            ngettext(
                "{count} rating is held while its citizen answers the follow-up questions; "
                "it goes once released (at the latest when the kiosk starts again).",
                "{count} ratings are held while their citizens answer the follow-up questions; "
                "they go once released (at the latest when the kiosk starts again).",
                report.remaining,
            ).format(count=report.remaining)
        )
    return 0
