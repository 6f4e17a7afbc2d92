"""Cross-site request forgery protection for the web forms: a signed double-submit
token.

The browser keeps a random nonce in a cookie; every form carries a token that is
the nonce and the session it was made for, signed with the server's secret. A
post is accepted only when its token's signature holds, its nonce equals the
cookie's, and its session is the one sending it. Another site can make a browser
send the cookies but can neither read them nor sign a token, and a token stolen
from one session is worthless in another. The login form has no session yet: its
token is bound to "no session".

The kiosk API is not covered: kiosks authenticate with a bearer token, which a
browser never attaches on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from itsdangerous import BadSignature, URLSafeSerializer

CSRF_COOKIE = "hailong_csrf"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_NONCE_BYTES = 24
_NONCE_MAX = 64


def new_nonce() -> str:
    return secrets.token_urlsafe(_NONCE_BYTES)


def usable_nonce(cookie: str | None) -> bool:
    return bool(cookie) and len(cookie or "") <= _NONCE_MAX and (cookie or "").isascii()


def _session_tag(session_cookie: str | None) -> str:
    """A digest of the session cookie, so the token does not repeat the cookie itself."""
    if not session_cookie:
        return ""
    return hashlib.sha256(session_cookie.encode("utf-8")).hexdigest()[:32]


def make_token(signer: URLSafeSerializer, nonce: str, session_cookie: str | None) -> str:
    return signer.dumps([nonce, _session_tag(session_cookie)])


def token_matches(
    signer: URLSafeSerializer,
    token: str | None,
    nonce_cookie: str | None,
    session_cookie: str | None,
) -> bool:
    """Whether a posted `token` is one this server made for this browser's nonce
    cookie and session cookie."""
    if not token or not usable_nonce(nonce_cookie) or len(token) > 512:
        return False
    try:
        payload = signer.loads(token)
    except BadSignature:
        return False
    if not (isinstance(payload, list) and len(payload) == 2
            and all(isinstance(part, str) for part in payload)):
        return False
    nonce, tag = payload
    assert nonce_cookie is not None
    same_nonce = hmac.compare_digest(nonce.encode(), nonce_cookie.encode())
    same_session = hmac.compare_digest(tag.encode(), _session_tag(session_cookie).encode())
    return same_nonce and same_session
