"""Storing an uploaded batch of ratings, exactly once.

Idempotency lives in the database: every valid item is inserted with
`INSERT … ON CONFLICT DO NOTHING` against the primary key (the kiosk's rating id)
and the unique (kiosk, kiosk_seq) pair. What was not inserted is then looked up
and compared by content hash: the same content is a duplicate (a resend after a
lost answer), other content is a conflict.

On PostgreSQL the rows first go into a temporary table by `COPY` and from there into
`ratings` with one `INSERT … SELECT`: a multi-row `INSERT` of a whole batch carries
some 26,000 parameters, and parsing that statement cost more than storing the rows.
SQLite takes the multi-row `INSERT`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import String, case, select, type_coerce, update
from sqlalchemy.orm import Session

from hailong.i18n import _
from hailong.sync.server import cases
from hailong.sync.server.cases import SERIOUS_REASONS
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
        "flags": json.dumps(flags) if flags else "[]",
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
        "reason": item.reason,
        "comment": item.comment,
        "callback_phone": item.callback_phone,
        "phone_consent": item.phone_consent,
    }


# The staging table of one connection: the shape of `ratings` plus the rows' order in
# the batch. Its rows vanish at every commit; a rollback takes the table itself away
# when it was made in that transaction, hence IF NOT EXISTS on every batch.
_STAGING = "hailong_ingest_staging"
_CREATE_STAGING = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING} "
    "(LIKE ratings, batch_position integer) ON COMMIT DELETE ROWS"
)


def _insert_ignoring_conflicts(session: Session, rows: Sequence[dict[str, Any]]) -> set[UUID]:
    """Insert what does not clash with a unique constraint; the ids that went in."""
    if not rows:
        return set()
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return _copy_ignoring_conflicts(session, rows)
    if dialect != "sqlite":
        raise RuntimeError(f"unsupported database dialect {dialect!r}")
    from sqlalchemy.dialects.sqlite import insert

    # Core rather than the ORM's bulk insert, and the ids back as the stored hex text:
    # building a UUID object per returned row cost more than SQLite's own work.
    table = Rating.__table__
    statement = insert(table).on_conflict_do_nothing().returning(type_coerce(table.c.id, String))
    added = set(session.connection().execute(statement, list(rows)).scalars())
    return {row["id"] for row in rows if row["id"].hex in added}


def _copy_ignoring_conflicts(session: Session, rows: Sequence[dict[str, Any]]) -> set[UUID]:
    """PostgreSQL: `COPY` into the staging table, then one `INSERT … SELECT … ON
    CONFLICT DO NOTHING`, in the session's own transaction."""
    columns = list(rows[0])
    names = ", ".join(columns)
    # The psycopg connection under the session, inside the transaction it began.
    driver = session.connection().connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor:
        cursor.execute(_CREATE_STAGING)
        with cursor.copy(f"COPY {_STAGING} ({names}, batch_position) FROM STDIN") as copy:
            for position, row in enumerate(rows):
                copy.write_row((*row.values(), position))
        # In batch order, so that of two new items with one sequence number the first
        # wins. Positions come back rather than ids: a thousand UUID objects built
        # from the answer cost more than the insert itself.
        cursor.execute(
            f"WITH added AS (INSERT INTO ratings ({names}) SELECT {names} FROM {_STAGING} "
            "ORDER BY batch_position ON CONFLICT DO NOTHING RETURNING id) "
            f"SELECT batch_position FROM added JOIN {_STAGING} USING (id)"
        )
        return {rows[position]["id"] for (position,) in cursor.fetchall()}


def _stored(session: Session, ids: Iterable[UUID]) -> dict[UUID, tuple[int, str]]:
    """(kiosk id, content hash) of the stored ratings among `ids`."""
    wanted = list(ids)
    found: dict[UUID, tuple[int, str]] = {}
    if not wanted:
        return found
    if session.get_bind().dialect.name == "postgresql":
        driver = session.connection().connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor:
            cursor.execute(
                "SELECT id, kiosk_id, content_hash FROM ratings WHERE id = ANY(%s)", (wanted,)
            )
            return {rating_id: (kiosk_id, digest) for rating_id, kiosk_id, digest in cursor}
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
    stored = _stored(session, [rating_id for rating_id in first_index if rating_id not in inserted])

    accepted_seqs: list[int] = []
    for index, entry in enumerate(entries):
        if isinstance(entry, ItemResult) or results[index] is not None:
            continue
        rating_id = entry.id
        first = first_index[rating_id]
        if rating_id in inserted:
            if index == first:
                results[index] = ItemResult(id=rating_id, status="accepted")
                accepted_seqs.append(entry.kiosk_seq)
                continue
            # A repeat within the batch: compared with the copy that went in.
            found: tuple[int, str | None] | None = (kiosk.id, digests[first])
        else:
            found = stored.get(rating_id)
        if found is None:
            results[index] = ItemResult(
                id=rating_id,
                status="conflict",
                reason=_("sequence number {seq} is already used by another rating").format(
                    seq=entry.kiosk_seq
                ),
            )
        elif found == (kiosk.id, digests[index]):
            results[index] = ItemResult(id=rating_id, status="duplicate")
        else:
            results[index] = ItemResult(
                id=rating_id,
                status="conflict",
                reason=_("a different rating with this id is already stored"),
            )

    _note_upload(session, kiosk, received_at, accepted_seqs)
    # A harassment or unofficial-payment report opens its case in the same transaction
    # as the rating, so a case can never be missing for a stored rating.
    serious = [row["id"] for row in rows if row["reason"] in SERIOUS_REASONS
               and row["id"] in inserted]
    if serious:
        cases.open_for_ratings(session, serious)
    session.commit()
    answered = [result for result in results if result is not None]
    assert len(answered) == len(entries), "every item gets exactly one result"
    return BatchResult(results=answered)
