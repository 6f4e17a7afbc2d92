"""Storing an uploaded batch of ratings, exactly once.

Idempotency lives in the database: every valid item is inserted with
`INSERT … ON CONFLICT DO NOTHING` against the primary key (the kiosk's rating id)
and the unique (kiosk, kiosk_seq) pair. What was not inserted is then looked up
and compared by content hash: the same content is a duplicate (a resend after a
lost answer), other content is a conflict.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from hailong.i18n import _
from hailong.sync.server.ingest_rules import (
    Entry,
    KioskScope,
    content_hash,
    corrected_time,
    item_problem,
)
from hailong.sync.server.models import Counter, Kiosk, Officer, Rating
from hailong.sync.wire import Batch, BatchResult, ItemResult, RatingItem

LOOKUP_CHUNK = 500


def kiosk_scope(session: Session, kiosk: Kiosk) -> KioskScope:
    unit_id = select(Counter.unit_id).where(Counter.id == kiosk.counter_id).scalar_subquery()
    officer_ids = session.scalars(select(Officer.id).where(Officer.unit_id == unit_id))
    return KioskScope(counter_id=kiosk.counter_id, officer_ids=frozenset(officer_ids))


def _row(
    item: RatingItem, kiosk_id: int, batch: Batch, received_at: datetime, digest: str
) -> dict[str, Any]:
    when, verified = corrected_time(item, batch.boot_id, batch.sent_monotonic_ms, received_at)
    flags = sorted(set(item.flags))
    return {
        "id": item.id,
        "kiosk_id": kiosk_id,
        "kiosk_seq": item.kiosk_seq,
        "counter_id": item.counter_id,
        "officer_id": item.officer_id,
        "button": item.button,
        "scale_size": item.scale_size,
        "sipas_level": item.sipas_level,
        "source": item.source,
        "flags": json.dumps(flags),
        "flagged": bool(flags),
        "boot_id": item.boot_id,
        "monotonic_ms": item.monotonic_ms,
        "wall_time": item.wall_time,
        "clock_trusted": item.clock_trusted,
        "server_received_at": received_at,
        "corrected_time": when,
        "time_verified": verified,
        "box_serial": item.box_serial,
        "box_boot_nonce": item.box_boot_nonce,
        "box_seq": item.box_seq,
        "content_hash": digest,
    }


def _insert_ignoring_conflicts(session: Session, rows: Sequence[dict[str, Any]]) -> set[UUID]:
    """Insert what does not clash with a unique constraint; the ids that went in."""
    if not rows:
        return set()
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise RuntimeError(f"unsupported database dialect {dialect!r}")
    statement = insert(Rating).on_conflict_do_nothing().returning(Rating.id)
    return set(session.scalars(statement, list(rows)))


def _stored(session: Session, ids: Iterable[UUID]) -> dict[UUID, tuple[int, str]]:
    """(kiosk id, content hash) of the stored ratings among `ids`."""
    wanted = list(ids)
    found: dict[UUID, tuple[int, str]] = {}
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        query = select(Rating.id, Rating.kiosk_id, Rating.content_hash).where(Rating.id.in_(chunk))
        for rating_id, kiosk_id, digest in session.execute(query):
            found[rating_id] = (kiosk_id, digest)
    return found


def _note_upload(session: Session, kiosk: Kiosk, when: datetime, seqs: list[int]) -> None:
    """Last contact and highest sequence number, raised in SQL so that two uploads
    running at once cannot lower it."""
    values: dict[str, Any] = {"last_seen_at": when}
    if seqs:
        top = max(seqs)
        values["last_seq"] = case((Kiosk.last_seq < top, top), else_=Kiosk.last_seq)
    session.execute(update(Kiosk).where(Kiosk.id == kiosk.id).values(**values))


def ingest_batch(
    session: Session,
    kiosk: Kiosk,
    batch: Batch,
    entries: Sequence[Entry],
    received_at: datetime,
) -> BatchResult:
    """Store `entries` (from `parse_batch`) for `kiosk` in one transaction; one
    result per entry, in order."""
    scope = kiosk_scope(session, kiosk)
    results: list[ItemResult | None] = [None] * len(entries)
    digests: list[str | None] = [None] * len(entries)
    first_index: dict[UUID, int] = {}
    rows: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        if isinstance(entry, ItemResult):
            results[index] = entry
            continue
        problem = item_problem(entry, scope)
        if problem is not None:
            results[index] = ItemResult(id=entry.id, status="rejected", reason=problem)
            continue
        digest = content_hash(entry)
        digests[index] = digest
        if entry.id not in first_index:
            first_index[entry.id] = index
            rows.append(_row(entry, kiosk.id, batch, received_at, digest))

    inserted = _insert_ignoring_conflicts(session, rows)
    stored = _stored(session, set(first_index) - inserted)
    stored.update(
        (row["id"], (kiosk.id, row["content_hash"])) for row in rows if row["id"] in inserted
    )

    for index, entry in enumerate(entries):
        if results[index] is not None or isinstance(entry, ItemResult):
            continue
        if index == first_index[entry.id] and entry.id in inserted:
            results[index] = ItemResult(id=entry.id, status="accepted")
        elif entry.id not in stored:
            results[index] = ItemResult(
                id=entry.id,
                status="conflict",
                reason=_("sequence number {seq} is already used by another rating").format(
                    seq=entry.kiosk_seq
                ),
            )
        elif stored[entry.id] == (kiosk.id, digests[index]):
            results[index] = ItemResult(id=entry.id, status="duplicate")
        else:
            results[index] = ItemResult(
                id=entry.id,
                status="conflict",
                reason=_("a different rating with this id is already stored"),
            )

    _note_upload(session, kiosk, received_at, [r["kiosk_seq"] for r in rows if r["id"] in inserted])
    session.commit()
    answered = [result for result in results if result is not None]
    assert len(answered) == len(entries), "every item gets exactly one result"
    return BatchResult(results=answered)
