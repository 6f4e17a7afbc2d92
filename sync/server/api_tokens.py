"""API tokens: an integration reads the `/api/v1` JSON endpoints as one dashboard
user, with exactly that user's scope. Only a hash of each token is kept.

User tokens carry a prefix so a glance (or a secret scanner) tells them from kiosk
tokens; the two live in different tables, so one never passes for the other.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hailong.sync.server.fleet import secret_hash
from hailong.sync.server.models import User
from hailong.sync.server.models_oversight import ApiToken

TOKEN_PREFIX = "hlt_"
# Writing the time of every request would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def issue_api_token(session: Session, user: User, name: str, now: datetime) -> tuple[ApiToken, str]:
    """A new token for `user`; the secret is returned once and never stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=secret_hash(secret), created_at=now)
    session.add(token)
    session.flush()
    return token, secret


def user_by_api_token(session: Session, secret: str, now: datetime) -> User | None:
    """The active user behind a token that has not been revoked, else None."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == secret_hash(secret))
    ).first()
    if row is None:
        return None
    token, user = row
    if token.revoked_at is not None or not user.active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
    return user
