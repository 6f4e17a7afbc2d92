"""Real HTTP peers on 127.0.0.1 for the kiosk's HTTP session: a keep-alive HTTP/1.1
server that tells which connection each request came on, and a forwarding proxy
(absolute-URI requests for http, CONNECT tunnels for https) that logs what it is asked.
"""

from __future__ import annotations

import contextlib
import http.client
import selectors
import socket
import ssl
import struct
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

IO_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Hit:
    """One request as a peer received it; `connection` numbers its TCP connections from 1."""

    connection: int
    method: str
    target: str
    headers: dict[str, str]  # names in lower case
    body: bytes


# What the server answers: (status, body, headers), or None to hang up without a word.
Answer = tuple[int, bytes, dict[str, str]] | None
Respond = Callable[[Hit], Answer]


def ok(_hit: Hit) -> Answer:
    return 200, b'{"ok": true}', {"Content-Type": "application/json"}


def _reset(conn: socket.socket) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class _Served(ThreadingHTTPServer):
    daemon_threads = True
    owner: Any


class KeepAliveServer:
    """HTTP/1.1 with persistent connections, as uvicorn and nginx serve the kiosk.
    `idle_timeout_s` closes a connection that waits that long for its next request
    (uvicorn's keep-alive timeout); `tls` serves https."""

    def __init__(
        self,
        respond: Respond = ok,
        *,
        idle_timeout_s: float | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.respond = respond
        self.idle_timeout_s = idle_timeout_s
        self.hits: list[Hit] = []
        self.opened = 0
        self.closed = 0
        self.release = threading.Event()  # ends the waits of answers held back
        self._lock = threading.Lock()
        self._server = _Served(("127.0.0.1", 0), _ServerHandler)
        self._server.owner = self
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, scheme: str = "http") -> str:
        host, port = self._server.server_address[:2]
        return f"{scheme}://{host}:{port}"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def __enter__(self) -> KeepAliveServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(IO_TIMEOUT_S)

    def connections(self) -> list[int]:
        with self._lock:
            return [hit.connection for hit in self.hits]

    def _open(self) -> int:
        with self._lock:
            self.opened += 1
            return self.opened

    def _close(self) -> None:
        with self._lock:
            self.closed += 1

    def _note(self, hit: Hit) -> None:
        with self._lock:
            self.hits.append(hit)


class _ServerHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Served

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read `hits`."""

    def setup(self) -> None:
        owner = self.server.owner
        self.timeout = owner.idle_timeout_s
        super().setup()
        self.number = owner._open()

    def finish(self) -> None:
        with contextlib.suppress(OSError):  # the client hung up first
            super().finish()
        self.server.owner._close()

    def _any(self) -> None:
        owner = self.server.owner
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {name.lower(): value for name, value in self.headers.items()}
        hit = Hit(self.number, self.command, self.path, headers, body)
        owner._note(hit)
        answer = owner.respond(hit)
        if answer is None:
            _reset(self.connection)
            self.close_connection = True
            return
        code, content, extra = answer
        self.send_response(code)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = _any


@dataclass(frozen=True)
class ProxyHit:
    request_line: str
    headers: dict[str, str]  # names in lower case


class ForwardingProxy:
    """An HTTP proxy, one request per connection. Forwards only to 127.0.0.1; with
    `tunnel=False` it refuses every CONNECT with 403."""

    def __init__(self, *, tunnel: bool = True) -> None:
        self.tunnel = tunnel
        self.hits: list[ProxyHit] = []
        self._lock = threading.Lock()
        self._server = _Served(("127.0.0.1", 0), _ProxyHandler)
        self._server.owner = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def __enter__(self) -> ForwardingProxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(IO_TIMEOUT_S)

    def request_lines(self) -> list[str]:
        with self._lock:
            return [hit.request_line for hit in self.hits]

    def _note(self, hit: ProxyHit) -> None:
        with self._lock:
            self.hits.append(hit)


_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authorization", "proxy-connection",
               "transfer-encoding"}


class _ProxyHandler(BaseHTTPRequestHandler):
    server: _Served

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read `hits`."""

    def _note(self) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.owner._note(ProxyHit(self.requestline, headers))

    def do_CONNECT(self) -> None:
        self._note()
        host, _colon, port = self.path.rpartition(":")
        if not self.server.owner.tunnel or host != "127.0.0.1":
            self.send_error(403, "no tunnels here")
            return
        with socket.create_connection((host, int(port)), timeout=IO_TIMEOUT_S) as upstream:
            self.send_response(200, "Connection established")
            self.end_headers()
            self.wfile.flush()
            _relay(self.connection, upstream)
        self.close_connection = True

    def _forward(self) -> None:
        self._note()
        target = urlsplit(self.path)
        if target.scheme != "http" or target.hostname != "127.0.0.1":
            self.send_error(403, "only http://127.0.0.1 is forwarded")
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        upstream = http.client.HTTPConnection("127.0.0.1", target.port, timeout=IO_TIMEOUT_S)
        try:
            path = target.path + (f"?{target.query}" if target.query else "")
            upstream.request(self.command, path, body=body or None, headers=headers)
            answer = upstream.getresponse()
            content = answer.read()
        finally:
            upstream.close()
        self.send_response(answer.status, answer.reason)
        for name, value in answer.getheaders():
            if name.lower() not in _HOP_BY_HOP | {"content-length", "server", "date"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = _forward


def _relay(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until either side hangs up."""
    peers = {client: upstream, upstream: client}
    with selectors.DefaultSelector() as selector:
        for sock in peers:
            sock.settimeout(IO_TIMEOUT_S)
            selector.register(sock, selectors.EVENT_READ)
        while ready := selector.select(timeout=IO_TIMEOUT_S):
            for key, _events in ready:
                source: socket.socket = key.fileobj  # type: ignore[assignment]
                try:
                    data = source.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                peers[source].sendall(data)


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """(certificate, key) for 127.0.0.1, made with openssl."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key
