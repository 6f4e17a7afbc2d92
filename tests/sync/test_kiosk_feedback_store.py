"""A rating held while the citizen answers the follow-up questions: never uploaded
half-answered, never lost, and its feedback fixed once it is released."""

from __future__ import annotations

import sqlite3
import unicodedata
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from outbox_helpers import T0, hold, record

from hailong.sync.kiosk_migrations import alembic_config
from hailong.sync.store import Feedback, KioskStore


def test_a_held_rating_waits_while_later_ones_go(store: KioskStore) -> None:
    held = hold(store)
    later = record(store, n=1)
    assert [item.id for item in store.pending(100, 10**6)] == [later.id]
    assert store.backlog() == 2, "a held rating is still waiting to be uploaded"
    assert store.release(held.id)
    assert [item.id for item in store.pending(100, 10**6)] == [held.id, later.id]


def test_feedback_is_kept_in_nfc_and_travels_with_the_rating(store: KioskStore) -> None:
    held = hold(store)
    decomposed = unicodedata.normalize("NFD", "Người dân chờ quá lâu")
    assert store.update_feedback(held.id, Feedback(reason="waited_too_long"))
    assert store.update_feedback(
        held.id,
        Feedback(reason="waited_too_long", comment=decomposed, callback_phone="0912345678",
                 phone_consent=True),
    )
    assert store.release(held.id)
    (item,) = store.pending(100, 10**6)
    assert (item.reason, item.comment, item.callback_phone, item.phone_consent) == (
        "waited_too_long", "Người dân chờ quá lâu", "0912345678", True
    )
    assert unicodedata.is_normalized("NFC", item.comment)


def test_feedback_after_release_is_refused(store: KioskStore) -> None:
    held = hold(store)
    assert store.release(held.id)
    assert not store.update_feedback(held.id, Feedback(reason="other"))
    assert not store.release(held.id)
    (item,) = store.pending(100, 10**6)
    assert item.reason is None


def test_a_phone_number_needs_consent() -> None:
    with pytest.raises(ValueError, match="consent"):
        Feedback(callback_phone="0912345678")


def test_release_all_frees_what_a_crash_left_held(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    with KioskStore(path) as store:
        first, second = hold(store), hold(store, n=1)
        store.update_feedback(first.id, Feedback(reason="late_result"))
    with KioskStore(path) as store:
        assert store.release_all() == 2
        items = store.pending(100, 10**6)
    assert [(i.id, i.reason) for i in items] == [(first.id, "late_result"), (second.id, None)]


def test_ratings_since_reads_the_local_history(store: KioskStore) -> None:
    for n in range(5):
        record(store, n=60 * n)
    assert [r.kiosk_seq for r in store.ratings_since(T0 + timedelta(minutes=2))] == [3, 4, 5]


def test_upgrading_from_the_first_schema_keeps_unsynced_ratings_pending(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    with KioskStore(path) as store:
        stored = [record(store, n=n) for n in range(3)]
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0001")
    engine.dispose()
    with sqlite3.connect(path) as db:
        assert "held" not in {row[1] for row in db.execute("PRAGMA table_info(ratings)")}
    with KioskStore(path) as store:
        assert [item.id for item in store.pending(100, 10**6)] == [s.id for s in stored]
