"""Fixtures for the fault tests: the real server as a process (one per module),
and real kiosks enrolled with it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
import stack
from faultkit import Kiosk, MakeKiosk

from hailong.sync.store import KioskStore


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[stack.Server]:
    with stack.processes() as started:
        yield stack.start_server(tmp_path_factory.mktemp("server"), started)


@pytest.fixture
def make_kiosk(tmp_path: Path, server: stack.Server) -> Iterator[MakeKiosk]:
    """`make_kiosk(upload_to=None, **sync)`: a new kiosk enrolled (directly with the
    server) at counter 1 with its first officer signed in. Its uploader sends to
    `upload_to` (a proxy) or to the server; `sync` holds more `[sync]` settings.
    Every process it starts is stopped at the end of the test."""
    with stack.processes() as started:
        made = 0

        def make(upload_to: str | None = None, **sync: object) -> Kiosk:
            nonlocal made
            made += 1
            home = tmp_path / f"kiosk{made}"
            home.mkdir()
            toml = stack.write_kiosk_settings(
                home / "kiosk.toml",
                data_dir=home / "data",
                box_link=home / "box",
                server_url=upload_to or server.url,
                kiosk={"response_interval_s": 0},
                sync=sync,
            )
            officers = stack.enroll_kiosk(toml, server.enroll_code(), server_url=server.url)
            # What `hailong kiosk sign-in` does (the end-to-end test runs the command).
            with closing(KioskStore(home / "data" / "kiosk.db")) as store:
                store.set_state("officer_id", str(officers[0]))
            return Kiosk(toml, home / "data", home / "box", officers, started)

        yield make
