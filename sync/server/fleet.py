"""Kiosks: one-time enrollment codes, kiosk credentials and the configuration a
kiosk pulls. Only hashes of codes and tokens are stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hailong.config.settings import KioskPolicy
from hailong.i18n import _
from hailong.sync import wire
from hailong.sync.server.models import Counter, EnrollmentCode, Kiosk, Officer, Unit
from hailong.sync.wire import API_PREFIX

# No 0/O, 1/I/L: a technician reads the code from one screen and types it on another.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_GROUPS = 3
CODE_GROUP_LENGTH = 4


class EnrollmentRefused(Exception):
    """The code cannot be traded for a credential; the message says why."""


class UnknownCounter(LookupError):
    pass


def secret_hash(secret: str) -> str:
    """sha256 hex. Enough for random high-entropy secrets; passwords use Argon2id."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def printable(text: str) -> str:
    """`text` without control characters (PostgreSQL refuses NUL in text)."""
    return "".join(ch for ch in text if ch.isprintable())


def normalise_code(code: str) -> str:
    """Codes are compared without case, spaces or dashes."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def new_code() -> str:
    groups = (
        "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_GROUP_LENGTH))
        for _g in range(CODE_GROUPS)
    )
    return "-".join(groups)


def issue_enrollment_code(
    session: Session, counter_id: int, ttl: timedelta, now: datetime
) -> str:
    """A new one-time code for `counter_id`, valid for `ttl`; returned once, stored hashed."""
    if session.get(Counter, counter_id) is None:
        raise UnknownCounter(_("there is no counter with id {id}").format(id=counter_id))
    code = new_code()
    session.add(
        EnrollmentCode(
            code_hash=secret_hash(normalise_code(code)),
            counter_id=counter_id,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    session.commit()
    return code


def enroll(
    session: Session, code: str, app_version: str, hostname: str, now: datetime
) -> tuple[Kiosk, str]:
    """Trade `code` for a new kiosk and its token (the only time the token exists
    in clear). Raises EnrollmentRefused."""
    code_hash = secret_hash(normalise_code(code))
    # One conditional UPDATE claims the code, so two kiosks racing with the same
    # code cannot both win.
    claimed = session.execute(
        update(EnrollmentCode)
        .where(
            EnrollmentCode.code_hash == code_hash,
            EnrollmentCode.used_at.is_(None),
            EnrollmentCode.expires_at > now,
        )
        .values(used_at=now)
        .returning(EnrollmentCode.id, EnrollmentCode.counter_id)
    ).first()
    if claimed is None:
        session.rollback()
        raise EnrollmentRefused(_refusal(session, code_hash))
    code_id, counter_id = claimed
    token = secrets.token_urlsafe(32)
    kiosk = Kiosk(
        counter_id=counter_id,
        token_hash=secret_hash(token),
        app_version=printable(app_version)[:64],
        hostname=printable(hostname)[:255],
        enrolled_at=now,
        last_seen_at=now,
        last_seq=0,
    )
    session.add(kiosk)
    session.flush()
    session.execute(
        update(EnrollmentCode).where(EnrollmentCode.id == code_id).values(kiosk_id=kiosk.id)
    )
    session.commit()
    return kiosk, token


def _refusal(session: Session, code_hash: str) -> str:
    known = session.scalars(
        select(EnrollmentCode).where(EnrollmentCode.code_hash == code_hash)
    ).first()
    if known is None:
        return _("This enrollment code is not valid. Check it, or ask for a new one.")
    if known.used_at is not None:
        return _("This enrollment code has already been used. Ask for a new one.")
    return _("This enrollment code has expired. Ask for a new one.")


def kiosk_by_token(session: Session, token: str) -> Kiosk | None:
    kiosk = session.scalars(select(Kiosk).where(Kiosk.token_hash == secret_hash(token))).first()
    if kiosk is None or kiosk.revoked_at is not None:
        return None
    return kiosk


def photo_url(officer: Officer) -> str | None:
    """The photo's path on this server; it changes when the photo does, so kiosks
    may cache by URL."""
    if officer.photo_sha256 is None:
        return None
    return f"{API_PREFIX}/officers/{officer.id}/photo?v={officer.photo_sha256[:16]}"


def kiosk_config(
    session: Session, kiosk: Kiosk, policy: KioskPolicy | None = None
) -> wire.KioskConfig:
    counter = session.get_one(Counter, kiosk.counter_id)
    unit = session.get_one(Unit, counter.unit_id)
    officers = session.scalars(
        select(Officer)
        .where(Officer.unit_id == unit.id, Officer.active.is_(True))
        .order_by(Officer.name, Officer.id)
    )
    return wire.KioskConfig(
        kiosk_id=kiosk.id,
        counter=wire.Counter(id=counter.id, name=counter.name, unit_name=unit.name),
        officers=[
            wire.Officer(
                id=o.id, name=o.name, title=o.title, photo_url=photo_url(o),
                pin_hash=o.pin_hash, badge_hash=o.badge_hash,
            )
            for o in officers
        ],
        policy=policy,
    )
