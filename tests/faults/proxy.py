"""A fault-injecting HTTP proxy for the test suite, on 127.0.0.1.

It sits between the kiosk and the real server and reads each request whole
(HTTP/1.1 with a Content-Length body, as `requests` sends it). A request whose path
starts with `target` (by default the batch upload; "" for every request, heartbeats
and roster downloads too) is the plan's request number N, and the plan says what
happens to it; any other request passes:

    PASS                 forward, relay the answer
    DELAY                forward at once (the server commits), hold the answer back
                         `delay_s` seconds, then relay it — longer than the client's
                         timeout, the client has given up by then
    RESET_MID_REQUEST    forward the head and half the body, then reset both sides
    RESET_AFTER_COMMIT   forward, read the server's whole answer, then reset the
                         client's connection instead of relaying it
    ERROR_500            forward (the server commits), answer 500 instead
    ERROR_503            answer 503 with Retry-After, the server sees nothing
    TOO_MANY_429         answer 429 with Retry-After, the server sees nothing
    SILENT               accept and read, then never answer (until the client hangs up)

One request per connection: the proxy asks the server to close after its answer
and tells the client the same, so a fault never leaks into the next request. Every
request is logged (`requests_seen`) with its fault and when it came.
"""

from __future__ import annotations

import contextlib
import enum
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from hailong.sync.client import BATCHES_PATH

IO_TIMEOUT_S = 30.0
MAX_HEAD_BYTES = 64 * 1024


class Fault(enum.Enum):
    PASS = "pass"
    DELAY = "delay"
    RESET_MID_REQUEST = "reset_mid_request"
    RESET_AFTER_COMMIT = "reset_after_commit"
    ERROR_500 = "error_500"
    ERROR_503 = "error_503"
    TOO_MANY_429 = "too_many_429"
    SILENT = "silent"


# Faults after which the server has stored the batch although the client saw a failure.
COMMITTING = frozenset({Fault.DELAY, Fault.RESET_AFTER_COMMIT, Fault.ERROR_500})

Plan = Callable[[int], Fault]


@dataclass(frozen=True)
class Seen:
    index: int
    at: float  # time.monotonic() when the whole request had arrived
    method: str
    path: str
    fault: Fault


class ProxyError(Exception):
    pass


def _recv_request(conn: socket.socket) -> tuple[bytes, bytes]:
    """(head including the blank line, body) of one request; ProxyError when the
    client hangs up or sends something this proxy does not handle."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            raise ProxyError("client closed before a whole request head")
        data += chunk
        if len(data) > MAX_HEAD_BYTES:
            raise ProxyError("request head too large")
    head, _sep, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _colon, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
        elif name.strip().lower() == b"transfer-encoding":
            raise ProxyError("chunked request bodies are not handled")
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            raise ProxyError("client closed in the middle of a request body")
        body += chunk
    return head + b"\r\n\r\n", body


def _with_connection_close(head: bytes) -> bytes:
    lines = [
        line
        for line in head.rstrip(b"\r\n").split(b"\r\n")
        if not line.lower().startswith((b"connection:", b"keep-alive:"))
    ]
    return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n"


def _recv_all(conn: socket.socket) -> bytes:
    data = b""
    while chunk := conn.recv(65536):
        data += chunk
    return data


def _reset(conn: socket.socket) -> None:
    """Close with a TCP RST instead of an orderly FIN."""
    with contextlib.suppress(OSError):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def _answer(status: int, reason: str, retry_after_s: int | None) -> bytes:
    body = f'{{"detail": "{reason} (fault proxy)"}}'.encode()
    headers = [
        f"HTTP/1.1 {status} {reason}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    if retry_after_s is not None:
        headers.append(f"Retry-After: {retry_after_s}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


class FaultProxy:
    def __init__(
        self,
        upstream: tuple[str, int],
        plan: Plan = lambda _index: Fault.PASS,
        *,
        target: str = BATCHES_PATH,
        delay_s: float = 1.0,
        retry_after_s: int = 1,
    ) -> None:
        self.upstream = upstream
        self.plan = plan
        self.target = target
        self._planned = 0
        self.delay_s = delay_s
        self.retry_after_s = retry_after_s
        self.requests_seen: list[Seen] = []
        # The server's HTTP status for each forwarded request, by request index.
        self.upstream_status: dict[int, int] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> FaultProxy:
        self._accepter.start()
        return self

    def close(self) -> None:
        self._closing.set()
        self._accepter.join(timeout=5)
        for thread in list(self._threads):
            thread.join(timeout=5)
        self._listener.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def faults(self) -> list[Seen]:
        """The requests that met a fault, in order."""
        with self._lock:
            return [seen for seen in self.requests_seen if seen.fault is not Fault.PASS]

    # -- connections ------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                conn, _addr = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(IO_TIMEOUT_S)
        try:
            head, body = _recv_request(conn)
            method, path, *_version = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
        except (ProxyError, OSError, ValueError):
            conn.close()
            return
        with self._lock:
            index = len(self.requests_seen)
            fault = Fault.PASS
            if path.startswith(self.target):
                fault = self.plan(self._planned)
                self._planned += 1
            self.requests_seen.append(Seen(index, time.monotonic(), method, path, fault))
        try:
            self._handle(conn, index, fault, _with_connection_close(head), body)
        except OSError:
            pass  # the client gave up (its timeout) or the server went away
        finally:
            conn.close()

    def _handle(
        self, conn: socket.socket, index: int, fault: Fault, head: bytes, body: bytes
    ) -> None:
        match fault:
            case Fault.ERROR_503:
                conn.sendall(_answer(503, "Service Unavailable", self.retry_after_s))
            case Fault.TOO_MANY_429:
                conn.sendall(_answer(429, "Too Many Requests", self.retry_after_s))
            case Fault.SILENT:
                # Hold the connection open and say nothing until the client hangs up.
                conn.settimeout(0.2)
                while not self._closing.is_set():
                    try:
                        if not conn.recv(65536):
                            return
                    except TimeoutError:
                        continue
            case Fault.RESET_MID_REQUEST:
                with socket.create_connection(self.upstream, timeout=IO_TIMEOUT_S) as up:
                    up.sendall(head + body[: len(body) // 2])
                    _reset(up)
                _reset(conn)
            case _:
                answer = self._forward(index, head, body)
                if fault is Fault.RESET_AFTER_COMMIT:
                    _reset(conn)
                elif fault is Fault.ERROR_500:
                    conn.sendall(_answer(500, "Internal Server Error", None))
                else:
                    if fault is Fault.DELAY:
                        self._closing.wait(self.delay_s)
                    conn.sendall(answer)

    def _forward(self, index: int, head: bytes, body: bytes) -> bytes:
        with socket.create_connection(self.upstream, timeout=IO_TIMEOUT_S) as up:
            up.sendall(head + body)
            answer = _recv_all(up)
        answer_head, _sep, answer_body = answer.partition(b"\r\n\r\n")
        with self._lock:
            self.upstream_status[index] = int(answer_head.split(b" ", 2)[1])
        return _with_connection_close(answer_head) + answer_body
