"""The drain's fast path: outbox items serialised once and spliced into the upload,
read ahead after a sequence number, and verdicts applied by sequence number."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from outbox_helpers import BOOT_ID, record_many

from hailong.sync import client
from hailong.sync.store import KioskStore
from hailong.sync.wire import Batch, ItemResult


def _envelope() -> Batch:
    return Batch(
        sent_wall_time=datetime(2026, 11, 25, 8, 30, 1, 250, tzinfo=UTC),
        sent_monotonic_ms=123_456,
        boot_id=BOOT_ID,
        items=[],
    )


def test_a_spliced_body_is_the_batch_body_of_the_same_items(store: KioskStore) -> None:
    record_many(store, 4)
    waiting = store.pending_wire(100, 10**6)

    spliced = client.spliced_body(_envelope(), [w.json for w in waiting])

    whole = _envelope().model_copy(update={"items": [w.item for w in waiting]})
    assert spliced == client.batch_body(whole)
    assert Batch.model_validate_json(spliced).items == [w.item for w in waiting]


def test_a_spliced_body_of_one_item_and_of_none_is_valid_json() -> None:
    assert json.loads(client.spliced_body(_envelope(), []))["items"] == []
    assert json.loads(client.spliced_body(_envelope(), [b'{"a":1}']))["items"] == [{"a": 1}]


def test_the_pending_items_are_the_stored_ratings_in_order(store: KioskStore) -> None:
    stored = record_many(store, 5)

    waiting = store.pending_wire(100, 10**6)

    assert [w.item for w in waiting] == [s.to_item() for s in stored]
    assert [w.json for w in waiting] == [s.to_item().model_dump_json().encode() for s in stored]


def test_reading_ahead_starts_after_the_batch_on_its_way(store: KioskStore) -> None:
    stored = record_many(store, 6)

    ahead = store.pending_wire(2, 10**6, after_seq=stored[2].kiosk_seq)

    assert [w.kiosk_seq for w in ahead] == [stored[3].kiosk_seq, stored[4].kiosk_seq]
    assert store.pending_wire(10, 10**6, after_seq=stored[-1].kiosk_seq) == []


def test_verdicts_applied_by_sequence_number_settle_only_those_ratings(
    store: KioskStore,
) -> None:
    a, b, c, d = record_many(store, 4)
    sent = {a.id: a.kiosk_seq, b.id: b.kiosk_seq, c.id: c.kiosk_seq}
    stranger = uuid.uuid4()

    store.apply_results(
        [
            ItemResult(id=a.id, status="accepted"),
            ItemResult(id=b.id, status="duplicate"),
            ItemResult(id=c.id, status="rejected", reason="bad"),
            ItemResult(id=stranger, status="accepted"),
        ],
        sent,
    )

    assert [w.id for w in store.pending_wire(10, 10**6)] == [d.id]
    assert [(s.id, s.result, s.reason) for s in store.set_aside()] == [(c.id, "rejected", "bad")]
    assert store.sync_status().backlog == 1


def test_a_verdict_for_a_rating_not_in_the_upload_is_still_found(store: KioskStore) -> None:
    a, b = record_many(store, 2)

    store.apply_results([ItemResult(id=b.id, status="accepted")], {a.id: a.kiosk_seq})

    assert [w.id for w in store.pending_wire(10, 10**6)] == [a.id]
