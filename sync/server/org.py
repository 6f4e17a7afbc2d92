"""Managing the organisation: units, counters, officers and users.

Used by `hailong admin` and the demo seed. Bad input raises OrgError with a
message meant for the person who typed the command.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from hailong.i18n import _
from hailong.sync.server.auth import hash_password
from hailong.sync.server.models import ROLES, Counter, Officer, Unit, User
from hailong.sync.wire import badge_digest

MAX_PHOTO_BYTES = 2_000_000
MIN_PASSWORD_LENGTH = 8


class OrgError(ValueError):
    pass


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text.strip())


def photo_content_type(data: bytes) -> str:
    """The image type of `data`, from its first bytes; OrgError when it is not a
    PNG, JPEG or WebP image or is too large."""
    if len(data) > MAX_PHOTO_BYTES:
        raise OrgError(
            _("the photo is {size} bytes; the most allowed is {limit}").format(
                size=len(data), limit=MAX_PHOTO_BYTES
            )
        )
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise OrgError(_("the photo must be a PNG, JPEG or WebP image"))


def get_unit(session: Session, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise OrgError(_("there is no unit with id {id}").format(id=unit_id))
    return unit


def add_unit(session: Session, name: str, parent_id: int | None = None) -> Unit:
    name = nfc(name)
    if not name:
        raise OrgError(_("a unit needs a name"))
    if parent_id is not None:
        get_unit(session, parent_id)
    if session.scalars(select(Unit).where(Unit.name == name)).first() is not None:
        raise OrgError(_("a unit named {name!r} already exists").format(name=name))
    unit = Unit(name=name, parent_id=parent_id)
    session.add(unit)
    session.commit()
    return unit


MAX_SERVICE_FIELD_LENGTH = 200


def service_field_of(text: str | None) -> str | None:
    """A counter's service field as stored: NFC, trimmed; blank means none."""
    field = nfc(text) if text is not None else ""
    if len(field) > MAX_SERVICE_FIELD_LENGTH:
        raise OrgError(_("a service field has at most {limit} characters, not {length}").format(
            limit=MAX_SERVICE_FIELD_LENGTH, length=len(field)))
    return field or None


def add_counter(
    session: Session, unit_id: int, name: str, service_field: str | None = None
) -> Counter:
    name = nfc(name)
    if not name:
        raise OrgError(_("a counter needs a name"))
    field = service_field_of(service_field)
    get_unit(session, unit_id)
    clash = select(Counter).where(Counter.unit_id == unit_id, Counter.name == name)
    if session.scalars(clash).first() is not None:
        raise OrgError(_("this unit already has a counter named {name!r}").format(name=name))
    counter = Counter(unit_id=unit_id, name=name, service_field=field)
    session.add(counter)
    session.commit()
    return counter


def set_photo(officer: Officer, photo: bytes | None) -> None:
    if photo is None:
        officer.photo = officer.photo_content_type = officer.photo_sha256 = None
        return
    officer.photo_content_type = photo_content_type(photo)
    officer.photo = photo
    officer.photo_sha256 = hashlib.sha256(photo).hexdigest()


def add_officer(
    session: Session, unit_id: int, name: str, title: str = "", photo: bytes | None = None
) -> Officer:
    name = nfc(name)
    if not name:
        raise OrgError(_("an officer needs a name"))
    get_unit(session, unit_id)
    officer = Officer(unit_id=unit_id, name=name, title=nfc(title), active=True)
    set_photo(officer, photo)
    session.add(officer)
    session.commit()
    return officer


PIN_PATTERN = re.compile(r"^[0-9]{4,8}$")


def _officer(session: Session, officer_id: int) -> Officer:
    officer = session.get(Officer, officer_id)
    if officer is None:
        raise OrgError(_("there is no officer {id}").format(id=officer_id))
    return officer


def set_officer_pin(session: Session, officer_id: int, pin: str | None) -> Officer:
    """The PIN an officer types at the kiosk to sign in (None: remove it). Kiosks
    receive only its Argon2id hash, with their roster."""
    officer = _officer(session, officer_id)
    if pin is not None and not PIN_PATTERN.match(pin):
        raise OrgError(_("a PIN is 4 to 8 digits"))
    officer.pin_hash = hash_password(pin) if pin is not None else None
    session.commit()
    return officer


def set_officer_badge(session: Session, officer_id: int, code: str | None) -> Officer:
    """The code on an officer's badge, for a barcode scanner at the kiosk (None:
    remove it). Only its sha256 is kept; one badge belongs to one officer."""
    officer = _officer(session, officer_id)
    if code is not None:
        code = code.strip()
        if not 4 <= len(code) <= 128 or not code.isprintable():
            raise OrgError(_("a badge code is 4 to 128 printable characters"))
        digest = badge_digest(code)
        owner = session.scalars(select(Officer).where(Officer.badge_hash == digest)).first()
        if owner is not None and owner.id != officer.id:
            raise OrgError(
                _("this badge already belongs to officer {id}").format(id=owner.id)
            )
        officer.badge_hash = digest
    else:
        officer.badge_hash = None
    session.commit()
    return officer


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise OrgError(
            _("a password needs at least {n} characters").format(n=MIN_PASSWORD_LENGTH)
        )


def check_new_user(session: Session, username: str, role: str, unit_id: int | None) -> None:
    """Everything about a new user but the password, so it can be checked before
    a password is asked for."""
    if not username:
        raise OrgError(_("a user needs a username"))
    if role not in ROLES:
        raise OrgError(
            _("role must be one of {roles}, not {role!r}").format(
                roles=", ".join(ROLES), role=role
            )
        )
    if role != "admin" and unit_id is None:
        raise OrgError(_("a {role} belongs to a unit: give --unit").format(role=role))
    if unit_id is not None:
        get_unit(session, unit_id)
    if session.scalars(select(User).where(User.username == username)).first() is not None:
        raise OrgError(_("the username {name!r} is taken").format(name=username))


def add_user(
    session: Session, username: str, password: str, role: str, unit_id: int | None
) -> User:
    username = username.strip()
    check_new_user(session, username, role, unit_id)
    check_password(password)
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        unit_id=unit_id,
        active=True,
    )
    session.add(user)
    session.commit()
    return user
