"""A small HTTP/1.1 client on the standard library, for the kiosk process.

`requests` and urllib3 cost the kiosk about 5 MB of resident memory for a handful of
calls to one server. This keeps what the kiosk used of them: one kept-alive
connection per (scheme, host, port) so a backlog drains without a TCP (and TLS)
handshake per batch, a timeout on the connect and on every read, https verified
against the system's CA store, and the HTTP proxies the environment names.

A request that fails raises `TimeoutError` when the server did not answer in time,
or another `OSError` / `http.client.HTTPException` (refused, reset, bad answer, an
unusable proxy setting): the caller turns them into its own errors.
"""

from __future__ import annotations

import http.client
import os
import selectors
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import quote, urlsplit

from hailong.sync.proxy_env import Proxy, ProxySettings

# Characters a request target may carry as they are; anything else (spaces,
# non-ASCII letters in a photo's file name) is percent-encoded, as `requests` did.
_TARGET_SAFE = "!#$%&'()*+,/:;=?@[]~"
_DEFAULT_PORTS = {"http": 80, "https": 443}

_Key = tuple[str, str, int, Proxy | None]


@dataclass(frozen=True)
class Response:
    url: str
    status: int
    headers: http.client.HTTPMessage  # case-insensitive `get`
    content: bytes


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    path: str  # origin form: "/path?query"

    @classmethod
    def parse(cls, url: str) -> _Target:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise http.client.InvalidURL(f"not an http:// or https:// URL: {url!r}")
        try:
            port = parts.port or _DEFAULT_PORTS[scheme]
        except ValueError:
            raise http.client.InvalidURL(f"the port is not a number: {url!r}") from None
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return cls(scheme, parts.hostname, port, quote(path, safe=_TARGET_SAFE))

    @property
    def authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def _closed_by_peer(conn: http.client.HTTPConnection) -> bool:
    """Whether an idle kept-alive connection is no longer usable. Between requests the
    server has nothing to say, so anything readable means it hung up (the FIN or RST
    of its idle timeout) or broke the protocol: either way the connection is done."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_READ)
            return bool(selector.select(timeout=0))
    except (OSError, ValueError):
        return True


class HttpSession:
    """Persistent connections for successive requests, safe to share between threads
    (a connection serves one request at a time; a second concurrent request to the
    same server opens its own, which is closed afterwards unless none is idle).

    `environ` (default: `os.environ`, read once here) supplies the proxy variables;
    `ssl_context` defaults to `ssl.create_default_context()` (the system CA store)."""

    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._proxies = ProxySettings.from_environ(os.environ if environ is None else environ)
        self._ssl_context = ssl_context
        self._idle: dict[_Key, http.client.HTTPConnection] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> HttpSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the idle connections. The session stays usable: later requests
        connect again (as a closed `requests.Session` did)."""
        with self._lock:
            idle, self._idle = list(self._idle.values()), {}
        for conn in idle:
            conn.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        timeout: float,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """One request, its whole answer read. Like `requests`' `timeout=`, `timeout`
        bounds the connect and each read or write on the socket, not the whole exchange."""
        target = _Target.parse(url)
        proxy = self._proxies.for_url(target.scheme, target.host, target.port)
        key: _Key = (target.scheme, target.host, target.port, proxy)
        sent_headers = dict(headers or {})
        request_target = target.path
        if proxy is not None and target.scheme == "http":
            # A plain-http proxy is asked for the absolute URI; https goes through a
            # CONNECT tunnel instead, so the proxy never sees the request itself.
            request_target = f"http://{target.authority}{target.path}"
            sent_headers.update(proxy.headers())
        conn = self._take_idle(key) or self._connect(key, timeout)
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        try:
            conn.request(method, request_target, body=body, headers=sent_headers)
            answer = conn.getresponse()
            content = answer.read()
        except BaseException:
            # Closed, never kept: after a timeout the late answer would be read as the
            # next request's. Nor retried here: the request may have reached the server,
            # so whether to send it again is the caller's call (the uploader does, later:
            # the server knows its ratings by id and answers a resent one "duplicate").
            conn.close()
            raise
        if conn.sock is not None:  # http.client closed it if the server said it would
            self._put_idle(key, conn)
        return Response(url=url, status=answer.status, headers=answer.headers, content=content)

    def _take_idle(self, key: _Key) -> http.client.HTTPConnection | None:
        """The kept-alive connection for `key` if the server still holds it open.
        One the server has closed meanwhile (its idle timeout) is replaced by a new
        connection before a byte of the request is written: that retry is always
        safe, unlike one after a request went out on a connection that then failed."""
        with self._lock:
            conn = self._idle.pop(key, None)
        if conn is not None and _closed_by_peer(conn):
            conn.close()
            return None
        return conn

    def _put_idle(self, key: _Key, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            spare = conn if key in self._idle else None
            if spare is None:
                self._idle[key] = conn
        if spare is not None:
            spare.close()

    def _connect(self, key: _Key, timeout: float) -> http.client.HTTPConnection:
        """A new connection (it connects on its first request)."""
        scheme, host, port, proxy = key
        address = (proxy.host, proxy.port) if proxy is not None else (host, port)
        if scheme == "http":
            return http.client.HTTPConnection(*address, timeout=timeout)
        conn = http.client.HTTPSConnection(*address, timeout=timeout, context=self._context())
        if proxy is not None:
            authority = _Target(scheme, host, port, "/").authority
            conn.set_tunnel(host, port, headers={"Host": authority, **proxy.headers()})
        return conn

    def _context(self) -> ssl.SSLContext:
        # Made on the first https request: loading the CA store costs time and memory
        # a kiosk talking plain http to a local server never needs.
        with self._lock:
            if self._ssl_context is None:
                self._ssl_context = ssl.create_default_context()
            return self._ssl_context
