"""Serving the app with uvicorn, and saying where once the socket listens."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


class AnnouncingServer(uvicorn.Server):
    """A uvicorn server that calls `on_ready(host, port)` once it accepts connections
    (with port 0, the port the system picked)."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[str, int], None] | None = None):
        super().__init__(config)
        self.on_ready = on_ready

    @property
    def port(self) -> int:
        return int(self.servers[0].sockets[0].getsockname()[1])

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self.on_ready is not None:
            self.on_ready(self.config.host, self.port)


@contextmanager
def serving_in_thread(app: Any, startup_s: float = 15.0) -> Iterator[str]:
    """`app` served by uvicorn on a free port of 127.0.0.1 in a thread, until the
    block ends; yields its base URL (for tests and screenshots)."""
    ready = threading.Event()
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = AnnouncingServer(config, on_ready=lambda _host, _port: ready.set())
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        if not ready.wait(startup_s):
            raise RuntimeError("the server did not start listening")
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.should_exit = True
        thread.join(startup_s)
