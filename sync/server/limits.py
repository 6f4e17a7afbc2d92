"""A request body size limit (Starlette has none), with gzip request bodies.

The limit applies to the body as received and, for `Content-Encoding: gzip`, to
the decompressed body too, so a small compressed bomb cannot blow up memory. An
oversized body is read to its end (up to a bound) before the 413 answer, so the
client reads the answer instead of a connection reset mid-upload.
"""

from __future__ import annotations

import zlib

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hailong.i18n import _

# Past this many times the limit, stop reading and let the connection close.
DRAIN_FACTOR = 8


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int):
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        encoding = headers.get("content-encoding", "identity").strip().lower()
        body, too_large = await self._read(receive)
        if encoding not in ("identity", "gzip"):
            await _answer(scope, receive, send, 415, _("only gzip request bodies are accepted"))
            return
        if not too_large and encoding == "gzip":
            try:
                body, too_large = _gunzip(body, self.max_body_bytes)
            except zlib.error:
                await _answer(scope, receive, send, 400, _("the gzip request body is corrupt"))
                return
        if too_large:
            await _answer(
                scope,
                receive,
                send,
                413,
                _("the request body is larger than the limit of {limit} bytes").format(
                    limit=self.max_body_bytes
                ),
            )
            return
        if encoding == "gzip":
            scope = dict(scope)
            scope["headers"] = [
                (name, value)
                for name, value in scope["headers"]
                if name not in (b"content-encoding", b"content-length")
            ] + [(b"content-length", str(len(body)).encode("ascii"))]
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            total += len(chunk)
            if total <= self.max_body_bytes:
                chunks.append(chunk)
            elif total > DRAIN_FACTOR * self.max_body_bytes:
                break
            if not message.get("more_body", False):
                break
        return b"".join(chunks), total > self.max_body_bytes


def _gunzip(data: bytes, limit: int) -> tuple[bytes, bool]:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = inflater.decompress(data, limit + 1)
    if len(out) > limit or inflater.unconsumed_tail:
        return b"", True
    if not inflater.eof:
        raise zlib.error("truncated gzip stream")
    return out, False


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _answer(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
    await JSONResponse({"detail": detail}, status_code=status)(scope, receive, send)
