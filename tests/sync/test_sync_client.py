"""The kiosk's HTTP client against a real HTTP server on 127.0.0.1: every failure is
one typed error with the status and Retry-After, and no request waits forever."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime

import pytest
from ingest_peer import RESET, IngestPeer, hang, status
from outbox_helpers import BOOT_ID, record_many

from hailong.sync import client
from hailong.sync.store import KioskStore
from hailong.sync.wire import Batch, Counter, EnrollResponse, KioskConfig, Officer

CONFIG = KioskConfig(
    kiosk_id=5,
    counter=Counter(id=3, name="Quầy 1", unit_name="Chi cục Thủy lợi"),
    officers=[Officer(id=7, name="Nguyễn Thị Lan", title="Chuyên viên", photo_url="/photos/7")],
)


def _batch(store: KioskStore, count: int = 2) -> Batch:
    record_many(store, count)
    return Batch(
        sent_wall_time=datetime.now(UTC),
        sent_monotonic_ms=int(time.monotonic() * 1000),
        boot_id=BOOT_ID,
        items=store.pending(100, 10**6),
    )


def test_enroll_fetch_config_and_photo(peer: IngestPeer) -> None:
    peer.config = CONFIG
    peer.enroll_codes["ABCD-1234"] = EnrollResponse(kiosk_id=5, token=peer.token, config=CONFIG)
    peer.photos["/photos/7"] = b"\x89PNG fake"
    enrolled = client.enroll(peer.url, "ABCD-1234", app_version="0.1.0", timeout=2)
    assert enrolled.token == peer.token and enrolled.config == CONFIG
    assert client.fetch_config(peer.url + "/", enrolled.token, timeout=2) == CONFIG
    assert client.fetch_photo(peer.url + "/photos/7", enrolled.token, timeout=2) == b"\x89PNG fake"
    with pytest.raises(client.SyncHTTPError) as used:
        client.enroll(peer.url, "ABCD-1234", app_version="0.1.0", timeout=2)
    assert used.value.status == 403
    assert "unknown or used enrollment code" in str(used.value)


def test_upload_returns_per_item_verdicts(peer: IngestPeer, store: KioskStore) -> None:
    batch = _batch(store)
    result = client.upload(peer.url, peer.token, batch, timeout=2)
    assert [(r.id, r.status) for r in result.results] == [(i.id, "accepted") for i in batch.items]
    again = client.upload(peer.url, peer.token, batch, timeout=2)
    assert {r.status for r in again.results} == {"duplicate"}
    (seen,) = [s for s in peer.uploads() if s.batch is not None][:1]
    assert seen.batch == batch


@pytest.mark.parametrize(
    ("fault", "code", "retry_after"),
    [
        (status(500), 500, None),
        (status(503, retry_after="7"), 503, 7.0),
        (status(429, retry_after="2"), 429, 2.0),
        (status(413), 413, None),
        (RESET, None, None),
    ],
)
def test_upload_failures_are_typed(
    peer: IngestPeer,
    store: KioskStore,
    fault: object,
    code: int | None,
    retry_after: float | None,
) -> None:
    peer.faults.append(fault)  # type: ignore[arg-type]
    with pytest.raises(client.SyncHTTPError) as failure:
        client.upload(peer.url, peer.token, _batch(store), timeout=2)
    assert (failure.value.status, failure.value.retry_after_s) == (code, retry_after)
    assert failure.value.too_large is (code == 413)
    assert peer.url in str(failure.value)


def test_a_wrong_token_is_a_401(peer: IngestPeer, store: KioskStore) -> None:
    with pytest.raises(client.SyncHTTPError) as failure:
        client.upload(peer.url, "stolen", _batch(store), timeout=2)
    assert failure.value.status == 401


def test_an_answer_that_never_comes_times_out(peer: IngestPeer, store: KioskStore) -> None:
    peer.faults.append(hang(3.0))
    started = time.monotonic()
    with pytest.raises(client.SyncHTTPError, match="no answer") as failure:
        client.upload(peer.url, peer.token, _batch(store), timeout=0.3)
    assert failure.value.status is None
    assert time.monotonic() - started < 2.0


def test_a_refused_connection_is_typed() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(client.SyncHTTPError, match="cannot reach") as failure:
        client.fetch_config(f"http://127.0.0.1:{port}", "t", timeout=2)
    assert str(failure.value).endswith(": [Errno 111] Connection refused")
    assert failure.value.status is None


def test_an_unexpected_body_is_a_clear_error(peer: IngestPeer) -> None:
    peer.photos[client.CONFIG_PATH] = b'{"kiosk_id": "five"}'
    with pytest.raises(client.SyncHTTPError, match="unexpected body") as failure:
        client.fetch_config(peer.url, peer.token, timeout=2)
    assert failure.value.status == 200
