"""People who log in: Argon2id password hashes, signed session cookies and the
server's secret key."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from hailong.config.settings import ServerSettings
from hailong.sync.server.models import User

SESSION_COOKIE = "hailong_session"
SESSION_MAX_AGE_S = 12 * 3600
SECRET_FILE = "secret_key"
USERNAME_MAX = 64

_hasher = PasswordHasher()  # Argon2id with the RFC 9106 low-memory parameters
# Verified against when the username is unknown, so a wrong username takes as
# long as a wrong password and does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, or None. Upgrades the stored hash
    when the hashing parameters have changed since it was made."""
    printable = username.isprintable() and len(username) <= USERNAME_MAX
    user = (
        session.scalars(select(User).where(User.username == username)).first()
        if printable
        else None
    )
    stored = user.password_hash if user is not None else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(stored):
        user.password_hash = _hasher.hash(password)
        session.commit()
    return user


class SessionSigner:
    """Signs and checks the session cookie: the user's id with a timestamp."""

    def __init__(self, secret_key: str, max_age_s: int = SESSION_MAX_AGE_S):
        self._serializer = URLSafeTimedSerializer(secret_key, salt="hailong-session")
        self._secret_key = secret_key
        self.max_age_s = max_age_s

    def for_purpose(self, salt: str) -> URLSafeSerializer:
        """A signer with the same secret whose signatures are valid for `salt` only."""
        return URLSafeSerializer(self._secret_key, salt=salt)

    def dumps(self, user_id: int) -> str:
        return self._serializer.dumps({"uid": user_id})

    def loads(self, cookie: str) -> int | None:
        try:
            data = self._serializer.loads(cookie, max_age=self.max_age_s)
        except BadSignature:
            return None
        user_id = data.get("uid") if isinstance(data, dict) else None
        return user_id if isinstance(user_id, int) else None


def load_or_create_secret(settings: ServerSettings) -> str:
    """`settings.secret_key`, or the key kept in `data_dir/secret_key` (made on
    first use, readable by the owner only)."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside then hard-linked into place: a second process starting at
        # the same moment either wins the link or reads the complete winner.
        scratch = path.with_name(f".{SECRET_FILE}.{os.getpid()}")
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_urlsafe(48))
                handle.flush()
                os.fsync(handle.fileno())
            os.link(scratch, path)
        except FileExistsError:
            pass
        finally:
            scratch.unlink(missing_ok=True)
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 32:
        raise ValueError(f"{path} holds no usable secret key; delete it to make a new one")
    return key
