"""`hailong admin`: manage units, counters, officers, users, API tokens and enrollment
codes; look at the kiosks.

The database is migrated first, so every action works on a fresh data folder.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from hailong.i18n import _
from hailong.sync.server.settings_args import add_settings_arguments, load_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

Action = Callable[["Session", argparse.Namespace], None]


class AdminError(Exception):
    """A problem with what was asked, printed as one line."""


def register(sub: argparse._SubParsersAction) -> None:
    about = _("manage units, counters, officers, users and enrollment codes")
    parser = sub.add_parser("admin", help=about, description=about)
    add_settings_arguments(parser)
    common = argparse.ArgumentParser(add_help=False)
    add_settings_arguments(common, repeated=True)
    actions = parser.add_subparsers(dest="admin_action", metavar=_("ACTION"), required=True)

    def leaf(
        group: argparse._SubParsersAction, name: str, about: str, action: Action,
        changes: bool = True,
    ) -> argparse.ArgumentParser:
        """`changes`: the action changes the organisation, so it goes in the audit log."""
        child = group.add_parser(name, help=about, description=about, parents=[common])
        child.set_defaults(func=lambda args: _run(args, action), changes=changes)
        return child

    code = leaf(actions, "enroll-code",
                _("issue a one-time code that enrolls a kiosk at a counter (printed last)"),
                _enroll_code)
    code.add_argument("--counter", type=int, required=True, metavar=_("ID"),
                      help=_("the counter's id (see: counter list)"))
    code.add_argument("--ttl-hours", type=float, default=24.0, metavar=_("HOURS"),
                      help=_("how long the code stays valid (default 24)"))

    units = _group(actions, "unit", _("add or list units"))
    unit_add = leaf(units, "add", _("add a unit"), _unit_add)
    unit_add.add_argument("name", help=_("the unit's name"))
    unit_add.add_argument("--parent", type=int, metavar=_("ID"),
                          help=_("the id of the unit this one belongs to"))
    leaf(units, "list", _("list units"), _unit_list, changes=False)

    counters = _group(actions, "counter", _("add or list counters"))
    counter_add = leaf(counters, "add", _("add a counter to a unit"), _counter_add)
    counter_add.add_argument("name", help=_("the counter's name, e.g. \"Quầy 1\""))
    counter_add.add_argument("--unit", type=int, required=True, metavar=_("ID"),
                             help=_("the unit's id"))
    counter_add.add_argument("--field", metavar=_("TEXT"),
                             help=_("the service field the counter serves, e.g. \"Thủy lợi\""))
    counter_list = leaf(counters, "list", _("list counters"), _counter_list, changes=False)
    counter_list.add_argument("--unit", type=int, metavar=_("ID"), help=_("only this unit"))

    officers = _group(actions, "officer", _("add or list officers"))
    officer_add = leaf(officers, "add", _("add an officer to a unit"), _officer_add)
    officer_add.add_argument("name", help=_("the officer's full name"))
    officer_add.add_argument("--unit", type=int, required=True, metavar=_("ID"),
                             help=_("the unit's id"))
    officer_add.add_argument("--title", default="", help=_("job title, e.g. \"Chuyên viên\""))
    officer_add.add_argument("--photo", type=Path, metavar=_("FILE"),
                             help=_("a PNG, JPEG or WebP portrait"))
    officer_pin = leaf(officers, "set-pin",
                       _("set the PIN an officer types to sign in at a kiosk (asked for)"),
                       _officer_set_pin)
    officer_pin.add_argument("officer", type=int, metavar=_("ID"), help=_("the officer's id"))
    officer_pin.add_argument("--pin-stdin", action="store_true",
                             help=_("read the PIN from the first line of standard input"))
    officer_pin.add_argument("--clear", action="store_true", help=_("remove the PIN"))
    officer_badge = leaf(officers, "set-badge",
                         _("register the code on an officer's badge for the kiosk's scanner"),
                         _officer_set_badge)
    officer_badge.add_argument("officer", type=int, metavar=_("ID"), help=_("the officer's id"))
    officer_badge.add_argument("code", nargs="?", metavar=_("CODE"),
                               help=_("the badge's code as the scanner reads it"))
    officer_badge.add_argument("--clear", action="store_true", help=_("remove the badge"))
    officer_list = leaf(officers, "list", _("list officers"), _officer_list, changes=False)
    officer_list.add_argument("--unit", type=int, metavar=_("ID"), help=_("only this unit"))

    users = _group(actions, "user", _("add people who log in"))
    user_add = leaf(users, "add", _("add a user (the password is asked for)"), _user_add)
    user_add.add_argument("username")
    user_add.add_argument("--role", required=True, choices=("admin", "supervisor", "technician"))
    user_add.add_argument("--unit", type=int, metavar=_("ID"),
                          help=_("the unit a supervisor or technician belongs to"))
    user_add.add_argument("--password-stdin", action="store_true",
                          help=_("read the password from the first line of standard input"))

    tokens = _group(actions, "token", _("API tokens for integrations reading the JSON API"))
    token_add = leaf(tokens, "add",
                     _("issue an API token that reads the JSON API as a user (printed once)"),
                     _token_add)
    token_add.add_argument("--user", required=True, metavar=_("USERNAME"),
                           help=_("the user whose access the token carries"))
    token_add.add_argument("--name", required=True, metavar=_("TEXT"),
                           help=_("what the token is for, e.g. \"provincial portal\""))
    leaf(tokens, "list", _("list API tokens (never the tokens themselves)"), _token_list,
         changes=False)
    token_revoke = leaf(tokens, "revoke", _("revoke an API token"), _token_revoke)
    token_revoke.add_argument("token", type=int, metavar=_("ID"),
                              help=_("the token's id (see: token list)"))

    kiosks = _group(actions, "kiosk", _("list kiosks and the ratings they never delivered"))
    leaf(kiosks, "list",
         _("list kiosks: state from the last heartbeat, backlog, clock skew, missing ratings"),
         _kiosk_list, changes=False)
    kiosk_gaps = leaf(kiosks, "gaps",
                      _("list the sequence numbers of a kiosk's ratings that never arrived"),
                      _kiosk_gaps, changes=False)
    kiosk_gaps.add_argument("kiosk", type=int, metavar=_("ID"),
                            help=_("the kiosk's id (see: kiosk list)"))

    leaf(actions, "seed-demo",
         _("create the demo organisation and print the demo supervisor's login"), _seed_demo)


def _group(
    actions: argparse._SubParsersAction, name: str, about: str
) -> argparse._SubParsersAction:
    parser = actions.add_parser(name, help=about, description=about)
    return parser.add_subparsers(dest=f"{name}_action", metavar=_("ACTION"), required=True)


def _run(args: argparse.Namespace, action: Action) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from hailong.sync.server.db import make_engine, make_session_factory, migrate
    from hailong.sync.server.fleet import UnknownCounter
    from hailong.sync.server.org import OrgError

    settings = load_settings(args)
    if settings is None:
        return 2
    url = settings.effective_database_url
    try:
        migrate(url)
        engine = make_engine(url)
        try:
            with make_session_factory(engine)() as session:
                action(session, args)
                if args.changes:
                    _audit(session, args)
        finally:
            engine.dispose()
    except (AdminError, OrgError, UnknownCounter) as error:
        print(_("error: {error}").format(error=error), file=sys.stderr)
        return 1
    except (SQLAlchemyError, OSError) as error:
        print(_("error: {error}").format(error=error), file=sys.stderr)
        return 1
    return 0


def _enroll_code(session: Session, args: argparse.Namespace) -> None:
    from hailong.sync.server.fleet import issue_enrollment_code

    if not 0 < args.ttl_hours <= 24 * 30:
        raise AdminError(_("--ttl-hours must be more than 0 and at most 720"))
    now = datetime.now(UTC)
    ttl = timedelta(hours=args.ttl_hours)
    code = issue_enrollment_code(session, args.counter, ttl, now)
    print(_("One-time enrollment code for counter {counter}, valid until {until} UTC:").format(
        counter=args.counter, until=(now + ttl).strftime("%Y-%m-%d %H:%M")))
    print(code)


def _unit_add(session: Session, args: argparse.Namespace) -> None:
    from hailong.sync.server.org import add_unit

    unit = add_unit(session, args.name, args.parent)
    print(_("unit {id} added: {name}").format(id=unit.id, name=unit.name))


def _unit_list(session: Session, args: argparse.Namespace) -> None:
    from sqlalchemy import select

    from hailong.sync.server.models import Unit

    for unit in session.scalars(select(Unit).order_by(Unit.id)):
        parent = "" if unit.parent_id is None else str(unit.parent_id)
        print(f"{unit.id}\t{unit.name}\t{parent}")


def _counter_add(session: Session, args: argparse.Namespace) -> None:
    from hailong.sync.server.org import add_counter

    counter = add_counter(session, args.unit, args.name, args.field)
    print(_("counter {id} added: {name}").format(id=counter.id, name=counter.name))


def _counter_list(session: Session, args: argparse.Namespace) -> None:
    from sqlalchemy import select

    from hailong.sync.server.models import Counter, Unit

    query = (select(Counter.id, Counter.name, Unit.name, Counter.service_field).join(Unit)
             .order_by(Counter.id))
    if args.unit is not None:
        query = query.where(Counter.unit_id == args.unit)
    for counter_id, name, unit_name, field in session.execute(query):
        print(f"{counter_id}\t{name}\t{unit_name}\t{field or '-'}")


# The arguments an audit entry names; passwords, PINs and badge codes are never kept.
_AUDITED_ARGUMENTS = ("name", "unit", "parent", "counter", "officer", "title", "role",
                      "username", "clear", "field", "user", "token")


def _audit(session: Session, args: argparse.Namespace) -> None:
    from hailong.sync.server import audit

    words = [args.admin_action]
    sub_action = getattr(args, f"{args.admin_action}_action", None)
    if sub_action:
        words.append(sub_action)
    detail = " ".join(
        f"{name}={getattr(args, name)}"
        for name in _AUDITED_ARGUMENTS
        if getattr(args, name, None) not in (None, False, "")
    )
    audit.record(session, f"cli:{getpass.getuser()}", "config", " ".join(words), detail)


def _officer_add(session: Session, args: argparse.Namespace) -> None:
    from hailong.sync.server.org import add_officer

    photo = None
    if args.photo is not None:
        try:
            photo = args.photo.read_bytes()
        except OSError as error:
            raise AdminError(_("cannot read the photo {path}: {error}").format(
                path=args.photo, error=error.strerror)) from None
    officer = add_officer(session, args.unit, args.name, args.title, photo)
    print(_("officer {id} added: {name}").format(id=officer.id, name=officer.name))


def _officer_set_pin(session: Session, args: argparse.Namespace) -> None:
    from hailong.sync.server.org import set_officer_pin

    pin = None if args.clear else _read_secret(args.pin_stdin, _("PIN: "), _("PIN again: "))
    officer = set_officer_pin(session, args.officer, pin)
    if pin is None:
        print(_("PIN removed for officer {id}: {name}").format(id=officer.id, name=officer.name))
    else:
        print(_("PIN set for officer {id}: {name}").format(id=officer.id, name=officer.name))


def _officer_set_badge(session: Session, args: argparse.Namespace) -> None:
    from hailong.sync.server.org import set_officer_badge

    if args.clear == (args.code is not None):
        raise AdminError(_("give either a badge code or --clear"))
    officer = set_officer_badge(session, args.officer, None if args.clear else args.code)
    print(_("badge {state} for officer {id}: {name}").format(
        state=_("removed") if args.clear else _("registered"), id=officer.id, name=officer.name))


def _officer_list(session: Session, args: argparse.Namespace) -> None:
    from sqlalchemy import select

    from hailong.sync.server.models import Officer

    query = select(Officer).order_by(Officer.id)
    if args.unit is not None:
        query = query.where(Officer.unit_id == args.unit)
    for officer in session.scalars(query):
        state = _("active") if officer.active else _("inactive")
        photo = _("photo") if officer.photo_sha256 else _("no photo")
        print(f"{officer.id}\t{officer.name}\t{officer.title}\t{officer.unit_id}\t{state}\t{photo}")


def _kiosk_list(session: Session, args: argparse.Namespace) -> None:
    from hailong.sync.server.heartbeat import fleet

    def shown(value: object) -> str:
        return "-" if value is None else str(value)

    print("\t".join((_("id"), _("counter"), _("unit"), _("host"), _("version"), _("state"),
                     _("last heartbeat"), _("box"), _("backlog"), _("clock skew ms"),
                     _("missing"))))
    for kiosk in fleet(session, None, datetime.now(UTC)):
        beat = kiosk.last_heartbeat_at
        print("\t".join((
            str(kiosk.id), kiosk.counter_name, kiosk.unit_name, kiosk.hostname or "-",
            kiosk.app_version or "-", kiosk.state,
            "-" if beat is None else beat.strftime("%Y-%m-%d %H:%M:%S"),
            shown(kiosk.box_status), shown(kiosk.backlog), shown(kiosk.clock_skew_ms),
            str(kiosk.missing),
        )))


def _kiosk_gaps(session: Session, args: argparse.Namespace) -> None:
    from hailong.sync.server.gaps import GAPS_MAX_LIMIT, kiosk_gaps
    from hailong.sync.server.models import Kiosk

    if session.get(Kiosk, args.kiosk) is None:
        raise AdminError(_("there is no kiosk with id {id}").format(id=args.kiosk))
    report = kiosk_gaps(session, args.kiosk, limit=GAPS_MAX_LIMIT)
    print(_("kiosk {id}: {missing} missing below sequence number {last}").format(
        id=args.kiosk, missing=report.missing, last=report.last_seq))
    for gap in report.gaps:
        print(str(gap.first) if gap.first == gap.last else f"{gap.first}-{gap.last}")
    if report.truncated:
        print(_("(only the first {count} gaps are listed)").format(count=len(report.gaps)))


def _read_secret(from_stdin: bool, prompt: str, again: str) -> str:
    """A password or PIN: from standard input's first line, or asked twice."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise AdminError(_("no terminal to ask for it: read it from standard input instead"))
    first = getpass.getpass(prompt)
    if first != getpass.getpass(again):
        raise AdminError(_("the two entries differ"))
    return first


def _user_add(session: Session, args: argparse.Namespace) -> None:
    from hailong.sync.server.org import add_user, check_new_user

    check_new_user(session, args.username.strip(), args.role, args.unit)
    password = _read_secret(args.password_stdin, _("Password: "), _("Password again: "))
    user = add_user(session, args.username, password, args.role, args.unit)
    print(_("user {id} added: {name} ({role})").format(
        id=user.id, name=user.username, role=user.role))


def _token_add(session: Session, args: argparse.Namespace) -> None:
    from sqlalchemy import select

    from hailong.sync.server.api_tokens import issue_api_token
    from hailong.sync.server.models import User

    name = args.name.strip()
    if not name:
        raise AdminError(_("--name must not be empty"))
    if len(name) > 200:
        raise AdminError(_("--name is longer than 200 characters"))
    user = session.scalars(select(User).where(User.username == args.user)).first()
    if user is None:
        raise AdminError(_("no user named {name}").format(name=args.user))
    if not user.active:
        raise AdminError(_("user {name} is disabled").format(name=args.user))
    token, secret = issue_api_token(session, user, name, datetime.now(UTC))
    print(_("API token {id} for {user} ({role}); shown only this once:").format(
        id=token.id, user=user.username, role=user.role))
    print(secret)


def _token_list(session: Session, args: argparse.Namespace) -> None:
    from sqlalchemy import select

    from hailong.sync.server.models import User
    from hailong.sync.server.models_oversight import ApiToken

    rows = session.execute(
        select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
        .order_by(ApiToken.id)
    ).all()
    for token, username in rows:
        state = (_("revoked {at}").format(at=token.revoked_at.strftime("%Y-%m-%d %H:%M"))
                 if token.revoked_at else _("active"))
        used = (token.last_used_at.strftime("%Y-%m-%d %H:%M") if token.last_used_at
                else _("never"))
        print(_("{id}\t{user}\t{name}\t{state}\tlast used: {used}").format(
            id=token.id, user=username, name=token.name, state=state, used=used))


def _token_revoke(session: Session, args: argparse.Namespace) -> None:
    from hailong.sync.server.models_oversight import ApiToken

    token = session.get(ApiToken, args.token) if 0 < args.token < 2**31 else None
    if token is None:
        raise AdminError(_("no API token {id}").format(id=args.token))
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
    print(_("API token {id} revoked").format(id=token.id))


def _seed_demo(session: Session, args: argparse.Namespace) -> None:
    from hailong.sync.server.seed import seed_demo

    login = seed_demo(session)
    print(_("Demo unit {unit}, counters {counters}, officers {officers}.").format(
        unit=login.unit_id, counters=", ".join(map(str, login.counter_ids)),
        officers=", ".join(map(str, login.officer_ids))))
    print(_("Demo supervisor: username {username}  password {password}  (demo data only)").format(
        username=login.username, password=login.password))
    print(_("Demo officers sign in at the kiosk with the PIN {pin}").format(
        pin=login.officer_pin))
