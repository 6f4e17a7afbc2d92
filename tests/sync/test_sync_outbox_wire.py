"""The drain's fast path: outbox items serialised once and spliced into the upload,
read ahead after a sequence number, and verdicts applied by sequence number."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from outbox_helpers import BOOT_ID, new_rating, record, record_many

from hailong.kiosk.session import BoxKey
from hailong.sync import client
from hailong.sync.store import Feedback, KioskStore
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


def test_the_wire_json_is_the_models_json_for_odd_text_and_every_field(
    store: KioskStore,
) -> None:
    odd = "".join(chr(c) for c in range(0x80)) + "\u2028\u2029 Chờ lâu quá 😀 \ufeff"
    boxed = store.record(
        new_rating(button=4, box=BoxKey('HL-"0042\\', 2**40, 7)),
        wall_time=datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
        monotonic_ms=5, clock_trusted=False, boot_id=BOOT_ID, hold=True,
    )
    store.update_feedback(boxed.id, Feedback(reason="staff_attitude", comment=odd,
                                             callback_phone="0912345678", phone_consent=True))
    store.release(boxed.id)
    whole_second = record(store, new_rating(officer_id=None), n=3)

    waiting = store.pending_wire(10, 10**6)

    stored = store.ratings_since(datetime(2000, 1, 1, tzinfo=UTC))
    assert [w.id for w in waiting] == [boxed.id, whole_second.id]
    assert [w.json for w in waiting] == [s.to_item().model_dump_json().encode() for s in stored]
    assert waiting[0].item.comment == odd and waiting[0].item.box_seq == 7


def test_an_answer_is_applied_and_noted_in_one_go_counting_only_what_was_sent(
    store: KioskStore,
) -> None:
    a, b, c = record_many(store, 3)

    applied = store.apply_results(
        [
            ItemResult(id=a.id, status="accepted"),
            ItemResult(id=b.id, status="conflict", reason="taken"),
            ItemResult(id=c.id, status="duplicate"),  # answered, though not in `sent`
        ],
        {a.id: a.kiosk_seq, b.id: b.kiosk_seq},
        note_success=True,
    )

    assert (applied.sent, applied.set_aside, applied.answered) == (1, 1, 2)
    status = store.sync_status()
    assert status.backlog == 0 and status.set_aside == 1
    assert status.last_success_at is not None
    assert store.apply_results([ItemResult(id=a.id, status="accepted")]).sent == 1
