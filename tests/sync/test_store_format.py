"""The kiosk store runs on `sqlite3` but its file is SQLAlchemy's: what the store
writes, SQLAlchemy Core reads through `kiosk_schema`'s tables as the same values (and
would have written byte for byte), what SQLAlchemy writes the store reads as the same
ratings; and a kiosk with an up-to-date database never loads SQLAlchemy."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import unicodedata
import uuid
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from outbox_helpers import BOOT_ID, T0, new_rating, record

from hailong.kiosk.session import BoxKey
from hailong.sync.kiosk_schema import UtcDateTime, metadata, outbox, ratings, sequences
from hailong.sync.store import CONVERTED_COLUMNS, Feedback, KioskStore, StoredRating
from hailong.sync.wire import ItemResult, RatingItem

ICT = timezone(timedelta(hours=7))
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _stored_as(column: sa.Column[Any]) -> str | None:
    """How SQLAlchemy's SQLite dialect stores `column`, in `CONVERTED_COLUMNS`' terms."""
    kind = column.type
    if isinstance(kind, sa.Uuid):
        return "uuid"
    if isinstance(kind, UtcDateTime):
        return "time"
    if isinstance(kind, sa.Boolean):
        return "bool"
    if isinstance(kind, sa.JSON):
        return "json"
    assert isinstance(kind, sa.Integer | sa.String), (
        f"{column} is a {kind!r}: teach the store how SQLAlchemy stores it"
    )
    return None


def test_the_converted_columns_are_the_schemas() -> None:
    from_schema = {
        table.name: {column.name: stored for column in table.columns
                     if (stored := _stored_as(column)) is not None}
        for table in metadata.sorted_tables
    }
    assert {name: columns for name, columns in from_schema.items() if columns} == (
        CONVERTED_COLUMNS
    )


def test_every_wire_field_is_a_ratings_column() -> None:
    """The outbox's JSON is built from `RatingItem`'s fields, one column each."""
    assert set(RatingItem.model_fields) <= set(ratings.c.keys())


def _columns(rating: StoredRating) -> dict[str, Any]:
    """A rating as SQLAlchemy Core reads its row through `kiosk_schema.ratings`."""
    box = rating.box
    return {
        "kiosk_seq": rating.kiosk_seq,
        "id": rating.id,
        "counter_id": rating.counter_id,
        "officer_id": rating.officer_id,
        "button": rating.button,
        "scale_size": rating.scale_size,
        "sipas_level": rating.sipas_level,
        "source": rating.source,
        "flags": list(rating.flags),
        "box_serial": box.serial if box else None,
        "box_boot_nonce": box.boot_nonce if box else None,
        "box_seq": box.seq if box else None,
        "wall_time": rating.wall_time,
        "monotonic_ms": rating.monotonic_ms,
        "clock_trusted": rating.clock_trusted,
        "boot_id": rating.boot_id,
        "reason": rating.feedback.reason,
        "comment": rating.feedback.comment,
        "callback_phone": rating.feedback.callback_phone,
        "phone_consent": rating.feedback.phone_consent,
        "held": rating.held,
    }


def _fill(store: KioskStore) -> list[StoredRating]:
    """Ratings with a value of every kind: box keys, flags, fractions of a second, a
    time zone other than UTC, feedback, held and released, sent and set aside."""
    boxed = store.record(
        replace(new_rating(button=2, box=BoxKey('HL-"7\\', 2**40, 9)),
                flags=("too_soon", "outside_hours")),
        wall_time=datetime(2026, 3, 4, 12, 30, 15, 123456, tzinfo=ICT),
        monotonic_ms=2**41, clock_trusted=False, boot_id=BOOT_ID,
    )
    unsigned = record(store, new_rating(officer_id=None), n=61)
    held = store.record(
        new_rating(button=4), wall_time=T0.replace(microsecond=5), monotonic_ms=7,
        clock_trusted=True, boot_id=uuid.uuid4(), hold=True,
    )
    comment = unicodedata.normalize("NFD", "Chờ lâu quá 😀 \"\\\u2028")
    assert store.update_feedback(held.id, Feedback(
        reason="waited_too_long", comment=comment, callback_phone="0912345678",
        phone_consent=True,
    ))
    store.record(
        new_rating(button=3), wall_time=T0.replace(microsecond=120000), monotonic_ms=8,
        clock_trusted=True, boot_id=BOOT_ID, hold=True,
    )
    store.apply_results([
        ItemResult(id=boxed.id, status="accepted"),
        ItemResult(id=unsigned.id, status="rejected", reason="officer unknown"),
    ])
    return store.ratings_since(EPOCH)


def test_what_the_store_writes_sqlalchemy_reads_as_the_same_values(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    before = datetime.now(UTC)
    with KioskStore(path) as store:
        stored = _fill(store)
    after = datetime.now(UTC)
    assert [s.flags for s in stored] == [("too_soon", "outside_hours"), ("no_officer",), (), ()]
    assert stored[0].wall_time == datetime(2026, 3, 4, 5, 30, 15, 123456, tzinfo=UTC)
    assert stored[2].feedback.comment == unicodedata.normalize("NFC", "Chờ lâu quá 😀 \"\\\u2028")
    assert [s.held for s in stored] == [False, False, True, True]

    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            rows = [dict(row._mapping) for row in connection.execute(
                sa.select(ratings).order_by(ratings.c.kiosk_seq)
            )]
            entries = connection.execute(sa.select(outbox).order_by(outbox.c.kiosk_seq)).all()
            last = connection.execute(sa.select(sequences.c.last_value)).scalar_one()
    finally:
        engine.dispose()
    assert rows == [_columns(s) for s in stored]
    assert [(e.kiosk_seq, e.state, e.result, e.reason) for e in entries] == [
        (1, "sent", "accepted", None),
        (2, "set_aside", "rejected", "officer unknown"),
        (3, "pending", None, None),
        (4, "pending", None, None),
    ]
    synced_at = entries[0].synced_at
    assert synced_at.tzinfo is not None and before <= synced_at <= after
    assert last == 4


def _raw(path: Path, table: str) -> list[tuple[Any, ...]]:
    """Every value of `table` as stored: its SQLite type and its text, byte for byte."""
    with closing(sqlite3.connect(path)) as db:
        names = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
        values = ", ".join(f"typeof({name}), quote({name})" for name in names)
        return db.execute(f"SELECT {values} FROM {table} ORDER BY 1, 2").fetchall()


def test_the_store_writes_what_sqlalchemy_would_byte_for_byte(tmp_path: Path) -> None:
    """The same values written again through SQLAlchemy Core into a second store's
    file are stored exactly as the store stored them."""
    ours, theirs = tmp_path / "ours.db", tmp_path / "theirs.db"
    with KioskStore(ours) as store:
        _fill(store)
    KioskStore(theirs).close()
    engines = [sa.create_engine(f"sqlite:///{p}") for p in (ours, theirs)]
    try:
        with engines[0].connect() as source, engines[1].begin() as target:
            for table in (ratings, outbox):
                rows = [dict(row._mapping) for row in source.execute(sa.select(table))]
                target.execute(sa.insert(table), rows)
    finally:
        for engine in engines:
            engine.dispose()
    for table in ("ratings", "outbox"):
        assert _raw(ours, table) == _raw(theirs, table), table


def test_what_sqlalchemy_writes_the_store_reads_as_the_same_ratings(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    KioskStore(path).close()
    template = StoredRating(
        id=uuid.UUID("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"), kiosk_seq=1, counter_id=3,
        officer_id=7, button=1, scale_size=4, sipas_level=5, source="box",
        flags=("too_soon", "outside_hours"), box=BoxKey("HL0001", 4, 1),
        wall_time=datetime(2026, 11, 26, 1, 2, 3, tzinfo=UTC), monotonic_ms=1000,
        clock_trusted=True, boot_id=BOOT_ID,
    )
    written = [
        template,
        replace(template, id=uuid.uuid4(), kiosk_seq=2, source="touch", flags=(), box=None,
                officer_id=None, wall_time=template.wall_time.replace(microsecond=1),
                clock_trusted=False,
                feedback=Feedback(reason="other", comment="Quá lâu\n\t\x00",
                                  callback_phone="+84912345678", phone_consent=True)),
        replace(template, id=uuid.uuid4(), kiosk_seq=3, box=BoxKey("HL0001", 4, 2), held=True,
                wall_time=template.wall_time + timedelta(seconds=1),
                feedback=Feedback(reason="staff_attitude")),
    ]
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(ratings), [_columns(r) for r in written])
            connection.execute(
                sa.insert(outbox), [{"kiosk_seq": r.kiosk_seq, "state": "pending"} for r in written]
            )
            connection.execute(sa.update(sequences).values(last_value=3))
    finally:
        engine.dispose()

    with KioskStore(path) as store:
        assert store.ratings_since(EPOCH) == written
        assert store.ratings_since(template.wall_time + timedelta(microseconds=1)) == written[1:]
        assert [w.json for w in store.pending_wire(10, 10**6)] == [
            r.to_item().model_dump_json().encode() for r in written[:2]
        ]
        assert store.sync_status().oldest_pending_at == template.wall_time
        # The box's resent press is the row SQLAlchemy wrote; a new one goes on after it.
        assert record(store, new_rating(box=BoxKey("HL0001", 4, 1))) == template
        assert record(store).kiosk_seq == 4


def test_a_failed_write_is_rolled_back_and_the_store_goes_on(store: KioskStore) -> None:
    bad = replace(new_rating(), button=5)  # off a 4-point scale: the database refuses it
    with pytest.raises(sqlite3.IntegrityError):
        record(store, bad)
    assert store.backlog() == 0
    assert record(store).kiosk_seq == 1, "a number is not used up by a refused rating"
    assert store.durability()["foreign_keys"] == "1"


def _wal(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def test_close_closes_every_connection(tmp_path: Path) -> None:
    """SQLite removes the WAL file when the last connection to the database closes."""
    path = tmp_path / "kiosk.db"
    store = KioskStore(path)
    started = threading.Barrier(4)

    def use() -> None:
        started.wait(10)
        for n in range(20):
            record(store, n=n)
            store.pending_wire(5, 10**6)

    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert store.backlog() == 80
    assert _wal(path).exists()
    store.close()
    assert not _wal(path).exists()
    # Still usable once closed (a thread finishing at shutdown), leaving nothing open.
    assert store.backlog() == 80
    assert not _wal(path).exists()


_KIOSK_LIFE = """
import sys, uuid
from datetime import UTC, datetime
from pathlib import Path
from hailong.kiosk.session import NewRating
from hailong.sync.store import KioskStore
from hailong.sync.wire import ItemResult

with KioskStore(Path(sys.argv[1])) as store:
    stored = store.record(
        NewRating(3, 7, 1, 4, 5, "touch", (), None), wall_time=datetime.now(UTC),
        monotonic_ms=1, clock_trusted=True, boot_id=uuid.uuid4(),
    )
    (waiting,) = store.pending_wire(10, 10**6)
    store.apply_results(
        [ItemResult(id=waiting.id, status="accepted")], {waiting.id: waiting.kiosk_seq},
        note_success=True,
    )
    store.set_state("token", "t")
    store.get_state("token")
    store.sync_status()
    store.ratings_since(stored.wall_time)
    store.durability()
print(" ".join(sorted(name for name in sys.modules if name.split(".")[0] in
                      ("sqlalchemy", "alembic"))))
"""


def _loaded_by_a_kiosk(path: Path) -> list[str]:
    """SQLAlchemy's and Alembic's modules loaded by a kiosk process using `path`."""
    done = subprocess.run(
        [sys.executable, "-c", _KIOSK_LIFE, str(path)],
        capture_output=True, text=True, timeout=60, check=True,
    )
    return done.stdout.split()


def test_a_kiosk_with_a_current_database_never_loads_sqlalchemy(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    assert "sqlalchemy" in _loaded_by_a_kiosk(path)  # a new database is built by Alembic
    assert _loaded_by_a_kiosk(path) == []
