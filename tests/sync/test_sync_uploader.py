"""The uploader against a real HTTP peer on 127.0.0.1 that fails on command: every
acknowledged rating arrives exactly once, whatever the network and server do."""

from __future__ import annotations

import gzip
import itertools
import logging
import random
import time
from collections.abc import Callable

import pytest
from http_peers import Answer, Hit, KeepAliveServer
from ingest_peer import RESET, RESET_AFTER_COMMIT, IngestPeer, hang, status
from outbox_helpers import BOOT_ID, hold, record, record_many, wait_until

from hailong.config.settings import SyncSettings
from hailong.sync.backoff import Backoff
from hailong.sync.store import KioskStore
from hailong.sync.uploader import PushReport, Uploader
from hailong.sync.wire import Batch, BatchResult, ItemResult

Settings = Callable[..., SyncSettings]
QUICK = Backoff(base_s=0.01, cap_s=0.05)


def _uploader(
    store: KioskStore, settings: SyncSettings, peer: IngestPeer, **kwargs: object
) -> Uploader:
    return Uploader(
        store,
        settings,
        credentials=lambda: peer.token,
        backoff=QUICK,
        random_source=random.Random(5).random,
        boot_id=BOOT_ID,
        **kwargs,  # type: ignore[arg-type]
    )


def _assert_exactly_once(peer: IngestPeer, store: KioskStore, expected: set) -> None:
    assert set(peer.stored) == expected
    assert set(peer.accepted.values()) == {1}
    assert store.backlog() == 0
    assert store.sync_status().set_aside == 0


def test_a_backlog_drains_in_batches_oldest_first(
    store: KioskStore, peer: IngestPeer, sync_settings: Settings
) -> None:
    stored = record_many(store, 45)
    report = _uploader(store, sync_settings(batch_max_items=20), peer).push_all()
    assert report == PushReport(sent=45, set_aside=0, batches=3, remaining=0)
    batches = [s.batch for s in peer.uploads()]
    assert [len(b.items) for b in batches if b] == [20, 20, 5]
    order = [item.kiosk_seq for b in batches if b for item in b.items]
    assert order == list(range(1, 46))
    _assert_exactly_once(peer, store, {s.id for s in stored})
    assert store.sync_status().last_success_at is not None


def test_each_batch_carries_the_kiosk_clock_and_boot(
    store: KioskStore, peer: IngestPeer, sync_settings: Settings
) -> None:
    record_many(store, 3)
    before = time.monotonic()
    _uploader(store, sync_settings(), peer).push_once()
    after = time.monotonic()
    (seen,) = peer.uploads()
    assert seen.batch is not None
    assert seen.batch.boot_id == BOOT_ID
    assert before * 1000 - 1 <= seen.batch.sent_monotonic_ms <= after * 1000
    assert seen.batch.sent_wall_time.tzinfo is not None


def test_exactly_once_across_errors_resets_and_lost_answers(
    store: KioskStore, peer: IngestPeer, sync_settings: Settings
) -> None:
    peer.max_body_bytes = 6000  # about a dozen ratings: bigger batches get 413
    peer.faults.extend(
        [
            status(500),
            RESET,
            RESET_AFTER_COMMIT,  # the server stored the batch, the kiosk never heard
            status(503, retry_after="0"),
            RESET_AFTER_COMMIT,
            status(502),
            RESET,
        ]
    )
    uploader = _uploader(store, sync_settings(batch_max_items=40), peer)
    expected = {s.id for s in record_many(store, 50)}
    failures = 0
    for attempt in range(40):
        if attempt == 3:  # ratings keep arriving while the server misbehaves
            expected |= {s.id for s in record_many(store, 25)}
        report = uploader.push_all()
        if report.ok and report.remaining == 0 and attempt > 3:
            break
        failures += not report.ok
    assert not peer.faults, "every injected fault was met"
    assert failures == 7  # each fault ended one attempt; none was retried in a hot loop
    answers = [s.answer for s in peer.uploads()]
    assert 413 in answers
    assert peer.verdicts["duplicate"] > 0  # the lost answers were resent and recognised
    _assert_exactly_once(peer, store, expected)


def test_413_halves_the_batch_until_it_fits(
    store: KioskStore, peer: IngestPeer, sync_settings: Settings
) -> None:
    stored = record_many(store, 20)
    peer.max_body_bytes = 3000
    report = _uploader(store, sync_settings(batch_max_items=20), peer).push_all()
    assert report.ok and report.sent == 20
    sizes = [(s.answer, s.size) for s in peer.uploads()]
    refused = [size for answer, size in sizes if answer == 413]
    assert 1 <= len(refused) <= 3
    # Each retry after a 413 is at most half the refused batch, and then they fit.
    for (answer, size), (_, next_size) in itertools.pairwise(sizes):
        if answer == 413:
            assert next_size <= size // 2
    assert all(answer == 200 and size <= 3000 for answer, size in sizes[len(refused):])
    _assert_exactly_once(peer, store, {s.id for s in stored})


def test_a_single_rating_the_server_finds_too_large_is_an_error_not_a_loss(
    store: KioskStore, peer: IngestPeer, sync_settings: Settings
) -> None:
    record_many(store, 2)
    peer.max_body_bytes = 10
    report = _uploader(store, sync_settings(), peer).push_all()
    assert (report.ok, report.status, report.remaining) == (False, 413, 2)
    assert store.sync_status().set_aside == 0


def test_successive_batches_share_one_kept_alive_connection(store: KioskStore) -> None:
    def accept_all(hit: Hit) -> Answer:
        batch = Batch.model_validate_json(gzip.decompress(hit.body))
        verdicts = [ItemResult(id=item.id, status="accepted") for item in batch.items]
        return 200, BatchResult(results=verdicts).model_dump_json().encode(), {}

    record_many(store, 25)
    with KeepAliveServer(accept_all) as server:
        settings = SyncSettings.model_validate(
            {"server_url": server.url(), "timeout_s": 2.0, "batch_max_items": 10}
        )
        uploader = Uploader(store, settings, credentials=lambda: "t", boot_id=BOOT_ID)
        report = uploader.push_all()
        assert uploader.stop()
    assert (report.ok, report.sent, report.batches) == (True, 25, 3)
    assert server.connections() == [1, 1, 1]


def test_a_rejected_item_is_set_aside_and_blocks_nothing(
    store: KioskStore, peer: IngestPeer, sync_settings: Settings
) -> None:
    stored = record_many(store, 12)
    poison = stored[2]
    peer.reject[poison.id] = "officer 7 is not at counter 3"
    report = _uploader(store, sync_settings(batch_max_items=5), peer).push_all()
    assert (report.ok, report.sent, report.set_aside, report.remaining) == (True, 11, 1, 0)
    assert set(peer.stored) == {s.id for s in stored} - {poison.id}
    assert store.sync_status().set_aside == 1
    # Set aside means not retried: a second push sends nothing.
    assert _uploader(store, sync_settings(), peer).push_all() == PushReport()
    assert len(peer.uploads()) == 3


def test_a_held_rating_waits_without_failing_the_upload(
    store: KioskStore, peer: IngestPeer, sync_settings: Settings
) -> None:
    # A citizen is answering the follow-up questions of a low rating: it stays on the
    # kiosk, and the ratings after it go; nothing is wrong with the server.
    held = hold(store)
    later = record(store, n=1)
    uploader = _uploader(store, sync_settings(), peer)
    assert uploader.push_all() == PushReport(sent=1, batches=1, remaining=1)
    assert set(peer.stored) == {later.id}
    # With only the held rating waiting, there is nothing to send: no request.
    assert uploader.push_all() == PushReport(remaining=1)
    assert len(peer.uploads()) == 1
    assert store.sync_status().last_error is None
    assert store.release(held.id)
    assert uploader.push_all() == PushReport(sent=1, batches=1, remaining=0)
    _assert_exactly_once(peer, store, {held.id, later.id})


def test_a_held_rating_does_not_put_the_background_uploads_into_backoff(
    store: KioskStore, peer: IngestPeer, sync_settings: Settings
) -> None:
    reports: list[PushReport] = []
    # A failure would wait out a long backoff: the new rating would not go in time.
    uploader = Uploader(
        store, sync_settings(interval_s=60), credentials=lambda: peer.token,
        backoff=Backoff(base_s=60, cap_s=60), boot_id=BOOT_ID, on_progress=reports.append,
    )
    held = hold(store)
    uploader.start()
    try:
        wait_until(lambda: bool(reports))
        later = record(store, n=1)
        uploader.wake()
        wait_until(lambda: later.id in peer.stored, timeout_s=5)
    finally:
        assert uploader.stop(timeout_s=5)
    assert [report.error for report in reports] == [None, None]
    assert held.id not in peer.stored


def test_progress_callback(store: KioskStore, peer: IngestPeer, sync_settings: Settings) -> None:
    record_many(store, 30)
    calls: list[tuple[int, int]] = []
    _uploader(store, sync_settings(batch_max_items=10), peer).push_all(
        lambda done, total: calls.append((done, total))
    )
    assert calls == [(0, 30), (10, 30), (20, 30), (30, 30)]


def test_not_enrolled_sends_nothing(
    store: KioskStore, peer: IngestPeer, sync_settings: Settings
) -> None:
    record_many(store, 2)
    uploader = Uploader(store, sync_settings(), credentials=lambda: None, boot_id=BOOT_ID)
    report = uploader.push_all()
    assert (report.ok, report.remaining) == (False, 2)
    assert "not enrolled" in (report.error or "")
    assert peer.seen == []


def test_background_thread_drains_and_wakes_on_new_ratings(
    store: KioskStore, peer: IngestPeer, sync_settings: Settings
) -> None:
    peer.faults.extend([status(500), RESET_AFTER_COMMIT, RESET])
    reports: list[PushReport] = []
    expected = {s.id for s in record_many(store, 30)}
    uploader = _uploader(
        store, sync_settings(interval_s=60, batch_max_items=8), peer, on_progress=reports.append
    )
    uploader.start()
    try:
        wait_until(lambda: store.backlog() == 0)
        # Idle now for a minute unless woken: a new rating goes out at once.
        expected.add(record(store, n=99).id)
        uploader.wake()
        wait_until(lambda: set(peer.stored) == expected, timeout_s=5)
    finally:
        assert uploader.stop(timeout_s=5)
    _assert_exactly_once(peer, store, expected)
    assert any(not r.ok for r in reports) and reports[-1].ok


def test_background_thread_honours_retry_after(
    store: KioskStore, peer: IngestPeer, sync_settings: Settings
) -> None:
    peer.faults.append(status(429, retry_after="1"))
    record_many(store, 3)
    uploader = _uploader(store, sync_settings(interval_s=60), peer)
    uploader.start()
    try:
        wait_until(lambda: store.backlog() == 0)
        uploader.wake()  # a new rating must not cut the wait short either
    finally:
        assert uploader.stop(timeout_s=5)
    first, second = peer.uploads()[:2]
    assert first.answer == 429
    # The jittered backoff alone would have retried within 50 ms.
    assert second.at - first.at >= 1.0


def test_a_failure_streak_is_logged_once(
    store: KioskStore,
    peer: IngestPeer,
    sync_settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    peer.faults.extend([status(500)] * 6)
    record_many(store, 2)
    uploader = _uploader(store, sync_settings(interval_s=60), peer)
    with caplog.at_level(logging.INFO, logger="hailong.sync.uploader"):
        uploader.start()
        try:
            wait_until(lambda: store.backlog() == 0)
        finally:
            assert uploader.stop(timeout_s=5)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "answered 500" in warnings[0].getMessage()
    assert any("resumed after 6 failed attempts" in r.getMessage() for r in caplog.records)


def test_stop_is_bounded_while_an_answer_never_comes(
    store: KioskStore, peer: IngestPeer, sync_settings: Settings
) -> None:
    peer.faults.append(hang(5.0))
    record_many(store, 1)
    uploader = _uploader(store, sync_settings(timeout_s=0.5), peer)
    uploader.start()
    wait_until(lambda: len(peer.uploads()) == 1)
    started = time.monotonic()
    assert uploader.stop()
    assert time.monotonic() - started < 1.6
    assert store.backlog() == 1  # still waiting, not lost
