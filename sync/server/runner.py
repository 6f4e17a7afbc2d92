"""Serving the app with uvicorn, and saying where once the socket listens.

With several workers (`server.workers`), uvicorn's supervisor binds the socket once
and starts that many processes that accept connections from it; it starts a new one
when one dies. Workers are fresh interpreters (multiprocessing's spawn), so each
builds its app from the settings this process passes in the environment.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn
from uvicorn.supervisors import Multiprocess

if TYPE_CHECKING:
    from fastapi import FastAPI

    from hailong.config.settings import KioskPolicy, ServerSettings

SETTINGS_ENV = "HAILONG_SERVER_SETTINGS"
POLICY_ENV = "HAILONG_KIOSK_POLICY"
METRICS_DIR_ENV = "HAILONG_METRICS_DIR"


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


def app_from_environment() -> FastAPI:
    """The app of one worker process (uvicorn's factory, by import string)."""
    from hailong.config.settings import KioskPolicy, ServerSettings
    from hailong.sync.server import metrics
    from hailong.sync.server.app import create_app

    metrics.share_through(Path(os.environ[METRICS_DIR_ENV]))
    policy = os.environ.get(POLICY_ENV)
    return create_app(
        ServerSettings.model_validate_json(os.environ[SETTINGS_ENV]),
        kiosk_policy=KioskPolicy.model_validate_json(policy) if policy else None,
    )


def listening_socket(config: uvicorn.Config) -> socket.socket:
    """The socket every worker accepts on, bound once by the supervisor.

    uvicorn makes it without IPPROTO_TCP, so asyncio does not give its connections
    TCP_NODELAY, and every answer on a kept-alive connection waited ~40 ms for the
    client's delayed ACK. Linux passes the option on from the listening socket to
    each accepted one.
    """
    sock = config.bind_socket()
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def serve_workers(
    settings: ServerSettings,
    on_ready: Callable[[str, int], None],
    kiosk_policy: KioskPolicy | None = None,
    **config: Any,
) -> None:
    """Serve with `settings.workers` processes until a signal stops the supervisor.
    `on_ready(host, port)` is called once the socket listens (connections made before
    the first worker is up wait in the socket's queue)."""
    from hailong.sync.server.auth import load_or_create_secret

    # Made before the workers start, so all of them sign sessions with the same key.
    load_or_create_secret(settings)
    uvicorn_config = uvicorn.Config(
        f"{__name__}:app_from_environment", factory=True, host=settings.host,
        port=settings.port, workers=settings.workers, **config,
    )
    sock = listening_socket(uvicorn_config)
    # Listening from now on (the workers listen again, harmlessly): clients that
    # connect before a worker is up wait in the queue instead of being refused.
    sock.listen(uvicorn_config.backlog)
    metrics_dir = tempfile.mkdtemp(prefix="hailong-metrics-")
    try:
        port = int(sock.getsockname()[1])
        # The port picked for 0, so the workers' settings pass validation.
        os.environ[SETTINGS_ENV] = settings.model_copy(update={"port": port}).model_dump_json()
        os.environ[METRICS_DIR_ENV] = metrics_dir
        if kiosk_policy is None:
            os.environ.pop(POLICY_ENV, None)
        else:
            os.environ[POLICY_ENV] = kiosk_policy.model_dump_json()
        on_ready(settings.host, port)
        Multiprocess(uvicorn_config, sockets=[sock]).run()
    finally:
        sock.close()
        shutil.rmtree(metrics_dir, ignore_errors=True)
