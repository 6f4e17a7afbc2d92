"""The test suite's fault-injecting peer for the kiosk's uploader and client.

A small HTTP server on 127.0.0.1 that keeps the central server's contract for API v1
(enroll, config pull, photos, batch upload with per-item verdicts, idempotent by
rating id) and fails on command: HTTP errors, 429 with Retry-After, a connection reset
before or after it stored the batch, and an answer that never comes. The real server
is tested end to end elsewhere; this peer makes every failure reproducible.
"""

from __future__ import annotations

import gzip
import json
import socket
import struct
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from hailong.sync.wire import (
    API_PREFIX,
    Batch,
    BatchResult,
    EnrollRequest,
    EnrollResponse,
    ItemResult,
    KioskConfig,
)


@dataclass(frozen=True)
class Fault:
    """What the peer does to one upcoming request instead of answering normally."""

    kind: str  # "status", "reset", "reset_after_commit", "hang"
    status: int = 0
    retry_after: str | None = None
    seconds: float = 0.0


def status(code: int, retry_after: str | None = None) -> Fault:
    return Fault("status", status=code, retry_after=retry_after)


RESET = Fault("reset")
RESET_AFTER_COMMIT = Fault("reset_after_commit")


def hang(seconds: float) -> Fault:
    return Fault("hang", seconds=seconds)


@dataclass
class Seen:
    """One request as the peer received it."""

    at: float  # time.monotonic() on arrival
    method: str
    path: str
    answer: int | str  # HTTP status, or the fault that replaced the answer
    size: int = 0  # body bytes
    batch: Batch | None = None


@dataclass
class IngestPeer:
    token: str = "kiosk-token"
    max_body_bytes: int = 1_000_000
    config: KioskConfig | None = None
    enroll_codes: dict[str, EnrollResponse] = field(default_factory=dict)
    photos: dict[str, bytes] = field(default_factory=dict)
    # Poison: these ids are rejected with the given reason.
    reject: dict[UUID, str] = field(default_factory=dict)
    faults: deque[Fault] = field(default_factory=deque)
    stored: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    accepted: Counter[UUID] = field(default_factory=Counter)
    verdicts: Counter[str] = field(default_factory=Counter)
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.peer = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> IngestPeer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def uploads(self) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.path.endswith("/ratings/batches")]

    # -- called by the handler ---------------------------------------------------------

    def next_fault(self) -> Fault | None:
        """Faults hit batch uploads that passed the server's own checks (token, size)."""
        with self._lock:
            return self.faults.popleft() if self.faults else None

    def note(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    def ingest(self, batch: Batch) -> BatchResult:
        """Idempotent by id: the same content again is a duplicate, other content a
        conflict; poison ids are rejected."""
        results = []
        with self._lock:
            for item in batch.items:
                content = item.model_dump(mode="json")
                if item.id in self.reject:
                    result = ItemResult(id=item.id, status="rejected", reason=self.reject[item.id])
                elif item.id not in self.stored:
                    self.stored[item.id] = content
                    self.accepted[item.id] += 1
                    result = ItemResult(id=item.id, status="accepted")
                elif self.stored[item.id] == content:
                    result = ItemResult(id=item.id, status="duplicate")
                else:
                    result = ItemResult(
                        id=item.id, status="conflict", reason="same id, different content"
                    )
                self.verdicts[result.status] += 1
                results.append(result)
        return BatchResult(results=results)


class _Handler(BaseHTTPRequestHandler):
    server_version = "IngestPeer/1"

    @property
    def peer(self) -> IngestPeer:
        return self.server.peer  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read `peer.seen` instead."""

    def _body(self) -> bytes:
        """The request body, unpacked when the kiosk compressed it (as it does uploads)."""
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        return gzip.decompress(raw) if self.headers.get("Content-Encoding") == "gzip" else raw

    def _authorised(self) -> bool:
        return self.headers.get("Authorization") == f"Bearer {self.peer.token}"

    def _answer(
        self, code: int, body: bytes, content_type: str = "application/json", **headers: str
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, code: int, detail: str, **headers: str) -> None:
        self._answer(code, json.dumps({"detail": detail}).encode(), **headers)

    def _drop(self) -> None:
        """Reset the connection (RST) without an answer."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        self.connection.close()
        self.close_connection = True

    def do_GET(self) -> None:
        peer = self.peer
        answer: int = 200
        if not self._authorised():
            answer = 401
            self._error(401, "bad token")
        elif self.path == f"{API_PREFIX}/kiosk/config" and peer.config is not None:
            self._answer(200, peer.config.model_dump_json().encode())
        elif self.path in peer.photos:
            self._answer(200, peer.photos[self.path], "image/png")
        else:
            answer = 404
            self._error(404, "not found")
        peer.note(Seen(time.monotonic(), "GET", self.path, answer))

    def do_POST(self) -> None:
        peer = self.peer
        arrived = time.monotonic()
        body = self._body()
        seen = Seen(arrived, "POST", self.path, 200, size=len(body))
        peer.note(seen)
        if self.path == f"{API_PREFIX}/enroll":
            self._enroll(body)
            return
        if self.path != f"{API_PREFIX}/ratings/batches":
            seen.answer = 404
            self._error(404, "not found")
            return
        if not self._authorised():
            seen.answer = 401
            self._error(401, "bad token")
            return
        if len(body) > peer.max_body_bytes:
            seen.answer = 413
            self._error(413, f"body over {peer.max_body_bytes} bytes")
            return
        fault = peer.next_fault()
        if fault is not None and fault.kind == "status":
            seen.answer = fault.status
            headers = {"Retry_After": fault.retry_after} if fault.retry_after else {}
            self._error(fault.status, "injected fault", **headers)
            return
        if fault is not None and fault.kind in ("reset", "hang"):
            seen.answer = fault.kind
            time.sleep(fault.seconds)
            self._drop()
            return
        try:
            batch = Batch.model_validate_json(body)
        except ValidationError as exc:
            seen.answer = 422
            self._error(422, str(exc))
            return
        seen.batch = batch
        result = peer.ingest(batch)
        if fault is not None and fault.kind == "reset_after_commit":
            seen.answer = fault.kind
            self._drop()
            return
        self._answer(200, result.model_dump_json().encode())

    def _enroll(self, body: bytes) -> None:
        try:
            request = EnrollRequest.model_validate_json(body)
        except ValidationError as exc:
            self._error(422, str(exc))
            return
        response = self.peer.enroll_codes.pop(request.code, None)
        if response is None:
            self._error(403, "unknown or used enrollment code")
        else:
            self._answer(200, response.model_dump_json().encode())
