"""Login throttling: after too many failed logins for one username or from one
address within a window, further attempts wait, longer with each failure.

Failures are rows in the database, so every server process sees the same count.
A username's failures are forgotten when it logs in; an address's are not (one
right password must not unlock guessing at every other account).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hailong.sync.server.models_oversight import LoginFailure

KEY_MAX = 128


@dataclass(frozen=True)
class Limit:
    """The `after`-th failure within `window` locks for `first_lock`; each further
    one doubles the lock, up to `longest_lock`."""

    after: int
    window: timedelta
    first_lock: timedelta
    longest_lock: timedelta

    def lock_for(self, failures: int) -> timedelta | None:
        if failures < self.after:
            return None
        doublings = min(failures - self.after, 20)
        return min(self.first_lock * (2**doublings), self.longest_lock)


# An office shares one address: the address gets more room than one username.
USER_LIMIT = Limit(5, timedelta(hours=1), timedelta(minutes=1), timedelta(minutes=30))
ADDRESS_LIMIT = Limit(30, timedelta(hours=1), timedelta(minutes=1), timedelta(minutes=30))


def _printable(text: str) -> str:
    # PostgreSQL refuses NUL in text, and a typed name may hold anything.
    return "".join(ch for ch in text if ch.isprintable())


def user_key(username: str) -> str:
    return ("user:" + _printable(username.strip().casefold()))[:KEY_MAX]


def address_key(address: str | None) -> str:
    return ("ip:" + _printable(address or "unknown"))[:KEY_MAX]


def _limits(username: str, address: str | None) -> list[tuple[str, Limit]]:
    return [(user_key(username), USER_LIMIT), (address_key(address), ADDRESS_LIMIT)]


def _locked_until(session: Session, key: str, limit: Limit, now: datetime) -> datetime | None:
    count, last = session.execute(
        select(func.count(), func.max(LoginFailure.at)).where(
            LoginFailure.key == key, LoginFailure.at > now - limit.window
        )
    ).one()
    lock = limit.lock_for(count)
    if lock is None or last is None:
        return None
    until: datetime = last + lock
    return until if until > now else None


def locked_until(
    session: Session, username: str, address: str | None, now: datetime
) -> datetime | None:
    """When the next login for `username` from `address` may be tried, or None
    when it may be tried now."""
    ends = [
        until
        for key, limit in _limits(username, address)
        if (until := _locked_until(session, key, limit, now)) is not None
    ]
    return max(ends, default=None)


def record_failure(session: Session, username: str, address: str | None, now: datetime) -> None:
    """Count a failed login against the username and the address, and forget
    failures too old to matter."""
    limits: Sequence[tuple[str, Limit]] = _limits(username, address)
    for key, limit in limits:
        session.execute(
            delete(LoginFailure).where(LoginFailure.key == key,
                                       LoginFailure.at <= now - limit.window)
        )
        session.add(LoginFailure(key=key, at=now))
    session.commit()


def forget_user(session: Session, username: str) -> None:
    """A successful login clears the username's failures."""
    session.execute(delete(LoginFailure).where(LoginFailure.key == user_key(username)))
    session.commit()
