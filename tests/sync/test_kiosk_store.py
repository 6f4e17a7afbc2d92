"""The kiosk store on real SQLite files: every rating with its outbox entry, in order,
de-duplicated by the box's press key, surviving a reopen."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from outbox_helpers import BOOT_ID, T0, new_rating, record, record_many

from hailong.kiosk.session import BoxKey
from hailong.sync.store import KioskStore, StoreError
from hailong.sync.wire import ItemResult, RatingItem


def test_record_returns_what_was_committed(store: KioskStore) -> None:
    press = BoxKey(serial="HL0001", boot_nonce=77, seq=5)
    stored = record(store, new_rating(button=2, box=press), n=12)
    assert stored.kiosk_seq == 1
    assert isinstance(stored.id, uuid.UUID) and stored.id.version == 7
    assert (stored.button, stored.sipas_level, stored.scale_size) == (2, 4, 4)
    assert (stored.source, stored.box, stored.officer_id) == ("box", press, 7)
    assert stored.wall_time == T0.replace(second=12)
    assert (stored.monotonic_ms, stored.clock_trusted, stored.boot_id) == (12_000, True, BOOT_ID)
    # Visible to another connection as soon as record() returns: it was committed.
    with sqlite3.connect(store.path) as other:
        rows = other.execute("SELECT o.state FROM ratings r JOIN outbox o USING (kiosk_seq)")
        assert rows.fetchall() == [("pending",)]


def test_to_item_is_the_wire_form(store: KioskStore) -> None:
    stored = record(store, new_rating(button=4, box=BoxKey("HL9", 1, 2), officer_id=None))
    item = stored.to_item()
    assert item == RatingItem(
        id=stored.id,
        kiosk_seq=1,
        counter_id=3,
        officer_id=None,
        button=4,
        scale_size=4,
        sipas_level=2,
        source="box",
        flags=["no_officer"],
        boot_id=BOOT_ID,
        monotonic_ms=0,
        wall_time=T0,
        clock_trusted=True,
        box_serial="HL9",
        box_boot_nonce=1,
        box_seq=2,
    )


def test_a_resent_box_press_returns_the_stored_rating_and_writes_nothing(
    store: KioskStore,
) -> None:
    press = BoxKey(serial="HL0001", boot_nonce=77, seq=5)
    first = record(store, new_rating(button=1, box=press), n=1)
    again = record(store, new_rating(button=1, box=press), n=3)
    assert again == first
    # The same sequence number from a new box boot is a new press.
    other_boot = record(store, new_rating(button=1, box=BoxKey("HL0001", 78, 5)), n=4)
    touch = record(store, new_rating(button=3), n=5)
    assert [first.kiosk_seq, other_boot.kiosk_seq, touch.kiosk_seq] == [1, 2, 3]
    assert store.backlog() == 3


def test_the_database_itself_refuses_a_second_row_for_one_press(store: KioskStore) -> None:
    record(store, new_rating(box=BoxKey("HL0001", 1, 1)))
    with sqlite3.connect(store.path) as other, pytest.raises(sqlite3.IntegrityError):
        other.execute(
            "INSERT INTO ratings SELECT 99, X'00112233445566778899aabbccddeeff', counter_id, "
            "officer_id, button, scale_size, sipas_level, source, flags, box_serial, "
            "box_boot_nonce, box_seq, wall_time, monotonic_ms, clock_trusted, boot_id, "
            "reason, comment, callback_phone, phone_consent, held "
            "FROM ratings WHERE kiosk_seq = 1"
        )


def test_a_naive_wall_time_is_refused_and_nothing_is_written(store: KioskStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.record(
            new_rating(), wall_time=datetime(2025, 1, 1), monotonic_ms=0,
            clock_trusted=False, boot_id=BOOT_ID,
        )
    assert store.backlog() == 0
    assert record(store).kiosk_seq == 1


def test_pending_is_oldest_first_and_respects_max_items(store: KioskStore) -> None:
    stored = record_many(store, 7)
    assert [i.kiosk_seq for i in store.pending(max_items=3, max_bytes=10**6)] == [1, 2, 3]
    assert [i.id for i in store.pending(max_items=100, max_bytes=10**6)] == [
        s.id for s in stored
    ]


def _json_array_bytes(items: list[RatingItem]) -> int:
    return len(("[" + ",".join(i.model_dump_json() for i in items) + "]").encode())


@pytest.mark.parametrize(("fits", "slack"), [(1, 0), (2, 0), (2, -1), (5, 0), (5, 1), (10, 0)])
def test_pending_never_exceeds_max_bytes(store: KioskStore, fits: int, slack: int) -> None:
    """A limit of exactly `fits` items' JSON array (plus `slack` bytes) yields `fits`
    items; one byte less yields one item fewer."""
    record_many(store, 10)
    every = store.pending(100, 10**6)
    max_bytes = _json_array_bytes(every[:fits]) + slack
    items = store.pending(max_items=100, max_bytes=max_bytes)
    assert _json_array_bytes(items) <= max_bytes
    assert items == every[: fits if slack >= 0 else fits - 1]


def test_pending_always_offers_one_item_even_over_the_byte_limit(store: KioskStore) -> None:
    record_many(store, 3)
    assert [i.kiosk_seq for i in store.pending(max_items=10, max_bytes=1)] == [1]


def test_pending_is_empty_when_nothing_waits(store: KioskStore) -> None:
    assert store.pending(10, 10**6) == []
    with pytest.raises(ValueError):
        store.pending(0, 10**6)


def test_apply_results(store: KioskStore) -> None:
    a, b, c, d, e = record_many(store, 5)
    store.apply_results(
        [
            ItemResult(id=a.id, status="accepted"),
            ItemResult(id=b.id, status="duplicate"),
            ItemResult(id=c.id, status="conflict", reason="same id, different content"),
            ItemResult(id=d.id, status="rejected", reason="officer 7 is not at counter 3"),
            ItemResult(id=uuid.uuid4(), status="accepted"),  # not ours: ignored
        ]
    )
    # Set-aside ratings are neither retried nor blocking: only e still waits.
    assert [i.id for i in store.pending(10, 10**6)] == [e.id]
    status = store.sync_status()
    assert (status.backlog, status.set_aside) == (1, 2)
    with sqlite3.connect(store.path) as other:
        rows = other.execute(
            "SELECT kiosk_seq, state, result, reason, synced_at IS NOT NULL FROM outbox "
            "ORDER BY kiosk_seq"
        ).fetchall()
    assert rows == [
        (1, "sent", "accepted", None, 1),
        (2, "sent", "duplicate", None, 1),
        (3, "set_aside", "conflict", "same id, different content", 0),
        (4, "set_aside", "rejected", "officer 7 is not at counter 3", 0),
        (5, "pending", None, None, 0),
    ]


def test_a_late_answer_never_changes_a_settled_rating(store: KioskStore) -> None:
    (a,) = record_many(store, 1)
    store.apply_results([ItemResult(id=a.id, status="accepted")])
    store.apply_results([ItemResult(id=a.id, status="rejected", reason="late")])
    assert store.sync_status().set_aside == 0
    assert store.backlog() == 0


def test_everything_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    with KioskStore(path) as store:
        stored = record_many(store, 4)
        store.apply_results([ItemResult(id=stored[0].id, status="accepted")])
        store.set_state("token", "s3cret")
        store.note_attempt("connection refused")
    with KioskStore(path) as store:
        assert [i.id for i in store.pending(10, 10**6)] == [s.id for s in stored[1:]]
        assert store.get_state("token") == "s3cret"
        assert store.sync_status().last_error == "connection refused"
        # Numbers go on where they stopped; none is handed out twice.
        assert record(store).kiosk_seq == 5


def test_durability_pragmas_are_in_force(store: KioskStore) -> None:
    assert store.durability() == {
        "journal_mode": "wal",
        "synchronous": "2",  # FULL
        "foreign_keys": "1",
        "busy_timeout": "10000",
        "cache_size": "-512",  # KiB: a kiosk's memory must not grow with its database
    }
    with sqlite3.connect(store.path) as other:  # WAL is recorded in the file itself
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_the_file_is_created_private_with_its_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "kiosk.db"
    with KioskStore(path):
        pass
    assert path.stat().st_mode & 0o777 == 0o600


def test_state_keys(store: KioskStore) -> None:
    assert store.get_state("kiosk_id") is None
    store.set_state("kiosk_id", "12")
    store.set_state("config", json.dumps({"kiosk_id": 12}))
    store.set_state("kiosk_id", "13")
    assert store.get_state("kiosk_id") == "13"
    assert json.loads(store.get_state("config") or "") == {"kiosk_id": 12}
    store.delete_state("kiosk_id")
    assert store.get_state("kiosk_id") is None


def test_sync_status_and_note_attempt(store: KioskStore) -> None:
    empty = store.sync_status()
    assert (empty.backlog, empty.set_aside, empty.oldest_pending_at) == (0, 0, None)
    assert (empty.last_success_at, empty.last_error_at, empty.last_error) == (None, None, None)
    record_many(store, 2)
    store.note_attempt("http://x answered 500: boom")
    store.note_attempt(None)
    status = store.sync_status()
    assert status.backlog == 2
    assert status.oldest_pending_at == T0
    assert status.last_error == "http://x answered 500: boom"
    assert status.last_error_at is not None and status.last_success_at is not None
    assert status.last_error_at <= status.last_success_at


def test_concurrent_writers_get_distinct_gapless_numbers(tmp_path: Path) -> None:
    """The kiosk app and another process (`hailong sync push`) may write at once."""
    path = tmp_path / "kiosk.db"
    with KioskStore(path) as one, KioskStore(path) as two:
        def write(store: KioskStore) -> None:
            for _ in range(40):
                record(store)

        threads = [threading.Thread(target=write, args=(s,)) for s in (one, one, two, two)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        items = one.pending(1000, 10**7)
    assert [i.kiosk_seq for i in items] == list(range(1, 161))
    assert len({i.id for i in items}) == 160


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    path.write_bytes(b"this is not SQLite at all, just some text " * 100)
    with pytest.raises(StoreError, match="not a usable kiosk database"):
        KioskStore(path)
