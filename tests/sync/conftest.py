from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ingest_peer import IngestPeer

from hailong.config.settings import SyncSettings
from hailong.sync.store import KioskStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[KioskStore]:
    with KioskStore(tmp_path / "kiosk" / "kiosk.db") as opened:
        yield opened


@pytest.fixture
def peer() -> Iterator[IngestPeer]:
    running = IngestPeer().start()
    yield running
    running.stop()


@pytest.fixture
def sync_settings(peer: IngestPeer) -> Callable[..., SyncSettings]:
    def make(**overrides: object) -> SyncSettings:
        values: dict[str, object] = {"server_url": peer.url, "timeout_s": 2.0, "interval_s": 30}
        values.update(overrides)
        return SyncSettings.model_validate(values)

    return make
