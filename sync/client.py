"""The kiosk's HTTP client for the central server (API v1).

Every request carries an explicit timeout. Every failure surfaces as one typed
`SyncHTTPError` carrying the HTTP status (None when no answer came back) and the
server's `Retry-After`, so the uploader can decide: 413 → smaller batches, 429/503 →
wait as told, anything else → back off.

Each function takes an optional `HttpSession` (the uploader keeps one so a backlog
drains over one kept-alive connection); without it the call uses its own. Built on the
standard library's `http.client`, not `requests`: see `http_session`.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from http.client import HTTPException
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from hailong import __version__
from hailong.i18n import _
from hailong.sync.backoff import parse_retry_after
from hailong.sync.http_session import HttpSession, Response
from hailong.sync.wire import (
    API_PREFIX,
    Batch,
    BatchResult,
    EnrollRequest,
    EnrollResponse,
    Heartbeat,
    HeartbeatAck,
    KioskConfig,
)

M = TypeVar("M", bound=BaseModel)

ENROLL_PATH = f"{API_PREFIX}/enroll"
CONFIG_PATH = f"{API_PREFIX}/kiosk/config"
BATCHES_PATH = f"{API_PREFIX}/ratings/batches"
HEARTBEAT_PATH = f"{API_PREFIX}/kiosk/heartbeat"
# Enough of an error body to explain it in a log line, not a whole HTML page.
_DETAIL_CHARS = 300
_USER_AGENT = f"hailong-kiosk/{__version__}"
_JSON = {"Content-Type": "application/json"}


class SyncError(Exception):
    """Anything that stops the kiosk from talking to the server."""


class NotEnrolledError(SyncError):
    def __init__(self) -> None:
        super().__init__(_("this kiosk is not enrolled with a server yet"))


class SyncHTTPError(SyncError):
    """A request that failed. `status` is None when no HTTP answer arrived (refused,
    reset, timed out); `retry_after_s` is the server's Retry-After in seconds."""

    def __init__(
        self, message: str, status: int | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s

    @property
    def too_large(self) -> bool:
        return self.status == 413


def _url(server_url: object, path: str) -> str:
    return str(server_url).rstrip("/") + path


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _detail(response: Response) -> str:
    try:
        body: Any = json.loads(response.content)
    except ValueError:
        return response.content.decode("utf-8", "replace")[:_DETAIL_CHARS].strip()
    if isinstance(body, dict) and "detail" in body:
        body = body["detail"]
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return text[:_DETAIL_CHARS]


def _root_cause(exc: BaseException) -> str:
    """Why no answer came, e.g. "[Errno 111] Connection refused"; the class name
    when the exception has nothing to say."""
    return str(exc) or exc.__class__.__name__


@contextmanager
def _session(session: HttpSession | None) -> Iterator[HttpSession]:
    if session is not None:
        yield session
    else:
        with HttpSession() as own:
            yield own


def _request(
    method: str,
    url: str,
    *,
    timeout: float,
    session: HttpSession | None,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    try:
        with _session(session) as http:
            response = http.request(
                method,
                url,
                timeout=timeout,
                body=body,
                headers={"User-Agent": _USER_AGENT, **(headers or {})},
            )
    except TimeoutError:
        raise SyncHTTPError(
            _("no answer from {url} within {timeout} s").format(url=url, timeout=timeout)
        ) from None
    except (OSError, HTTPException) as exc:
        raise SyncHTTPError(
            _("cannot reach {url}: {error}").format(url=url, error=_root_cause(exc))
        ) from exc
    if response.status >= 400:
        raise SyncHTTPError(
            _("{url} answered {status}: {detail}").format(
                url=url, status=response.status, detail=_detail(response)
            ),
            status=response.status,
            retry_after_s=parse_retry_after(
                response.headers.get("Retry-After"), datetime.now(UTC)
            ),
        )
    return response


def _parse(model: type[M], response: Response) -> M:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise SyncHTTPError(
            _("{url} answered {status} with an unexpected body: {error}").format(
                url=response.url,
                status=response.status,
                error=exc.errors(include_url=False)[:3],
            ),
            status=response.status,
        ) from None


def enroll(
    server_url: object,
    code: str,
    app_version: str,
    timeout: float,
    hostname: str = "",
    session: HttpSession | None = None,
) -> EnrollResponse:
    """Trade a one-time enrollment code for this kiosk's credential and configuration."""
    body = EnrollRequest(code=code, app_version=app_version, hostname=hostname)
    response = _request(
        "POST",
        _url(server_url, ENROLL_PATH),
        timeout=timeout,
        session=session,
        body=body.model_dump_json().encode(),
        headers=_JSON,
    )
    return _parse(EnrollResponse, response)


def fetch_config(
    server_url: object, token: str, timeout: float, session: HttpSession | None = None
) -> KioskConfig:
    response = _request(
        "GET", _url(server_url, CONFIG_PATH), timeout=timeout, session=session,
        headers=_bearer(token),
    )
    return _parse(KioskConfig, response)


def fetch_photo(
    url: str, token: str, timeout: float, session: HttpSession | None = None
) -> bytes:
    """An officer's photo at the absolute `url` (resolve KioskConfig's relative
    `photo_url` against the server URL first)."""
    return _request("GET", url, timeout=timeout, session=session, headers=_bearer(token)).content


def batch_body(batch: Batch) -> bytes:
    """The JSON of `batch` before compression (the uploader sizes batches with it,
    and the server limits it after unpacking too)."""
    return batch.model_dump_json().encode()


_NO_ITEMS = b'"items":[]}'


def spliced_body(envelope: Batch, items_json: Sequence[bytes]) -> bytes:
    """What `batch_body` gives for `envelope` holding these items, from the items'
    own JSON: a backlog's items are serialised once, when read from the outbox."""
    head = batch_body(envelope)
    if envelope.items or not head.endswith(_NO_ITEMS):
        raise ValueError("the envelope must be a batch without items")
    return head[: -len(b"]}")] + b",".join(items_json) + b"]}"


def upload(
    server_url: object,
    token: str,
    batch: Batch,
    timeout: float,
    session: HttpSession | None = None,
) -> BatchResult:
    return upload_body(server_url, token, batch_body(batch), timeout, session)


def upload_body(
    server_url: object,
    token: str,
    body: bytes,
    timeout: float,
    session: HttpSession | None = None,
) -> BatchResult:
    """Upload a batch already serialised (`batch_body` or `spliced_body`)."""
    response = _request(
        "POST",
        _url(server_url, BATCHES_PATH),
        timeout=timeout,
        session=session,
        # Ratings compress about tenfold: a slow or metered link carries a tenth.
        body=gzip.compress(body, compresslevel=6),
        headers={**_bearer(token), **_JSON, "Content-Encoding": "gzip"},
    )
    return _parse(BatchResult, response)


def heartbeat(
    server_url: object,
    token: str,
    beat: Heartbeat,
    timeout: float,
    session: HttpSession | None = None,
) -> HeartbeatAck:
    response = _request(
        "POST",
        _url(server_url, HEARTBEAT_PATH),
        timeout=timeout,
        session=session,
        body=beat.model_dump_json().encode(),
        headers={**_bearer(token), **_JSON},
    )
    return _parse(HeartbeatAck, response)
