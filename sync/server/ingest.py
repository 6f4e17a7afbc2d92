"""Storing an uploaded batch of ratings, exactly once.

Idempotency lives in the database: every valid item is inserted so that what
clashes with the primary key (the kiosk's rating id) or the unique (kiosk,
kiosk_seq) pair is left out. What was not inserted is then looked up
and compared by content hash: the same content is a duplicate (a resend after a
lost answer), other content is a conflict.

On PostgreSQL the rows go in by binary `COPY`, which PostgreSQL reads with the least
work and psycopg writes without formatting every value as text: a multi-row `INSERT`
of a whole batch carries some 26,000 parameters, and parsing that statement cost
more than storing the rows. `COPY` has no `ON CONFLICT`, so it goes straight into
`ratings` under a savepoint, and only a batch that clashes (a resend) is copied
into a temporary table and inserted from there with `INSERT … SELECT … ON CONFLICT
DO NOTHING`. SQLite takes the multi-row `INSERT … ON CONFLICT DO NOTHING`.

A batch is a thousand items, so per-item work is kept to plain tuples: rows are
tuples in `COLUMNS` order and results are `Verdict`s, rendered to the answer's JSON
in one go (`wire.batch_result_json`) rather than through a model per item.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import cache, lru_cache
from typing import Any, NamedTuple
from uuid import UUID

import psycopg
from sqlalchemy import case, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
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
from hailong.sync.wire import Batch, ItemResult, ItemStatus, RatingItem

LOOKUP_CHUNK = 500


def kiosk_scope(session: Session, kiosk: Kiosk) -> KioskScope:
    unit_id = select(Counter.unit_id).where(Counter.id == kiosk.counter_id).scalar_subquery()
    officer_ids = session.scalars(select(Officer.id).where(Officer.unit_id == unit_id))
    return KioskScope(counter_id=kiosk.counter_id, officer_ids=frozenset(officer_ids))


class Verdict(NamedTuple):
    """One item's result, as `wire.ItemResult` says it (same fields, same order)."""

    id: UUID
    status: ItemStatus
    reason: str | None = None


# The columns of `ratings` that an upload fills, in the order `_row` gives them.
COLUMNS = (
    "id", "kiosk_id", "kiosk_seq", "counter_id", "officer_id", "button", "scale_size",
    "sipas_level", "source", "flags", "flagged", "boot_id", "monotonic_ms", "wall_time",
    "clock_trusted", "server_received_at", "corrected_time", "time_verified", "box_serial",
    "box_boot_nonce", "box_seq", "content_hash", "reason", "comment", "callback_phone",
    "phone_consent",
)
_REASON = COLUMNS.index("reason")


def _row(
    item: RatingItem, kiosk_id: int, batch: Batch, received_at: datetime, digest: str
) -> tuple[Any, ...]:
    when, verified = corrected_time(item, batch.boot_id, batch.sent_monotonic_ms, received_at)
    flags = sorted(set(item.flags))
    return (
        item.id, kiosk_id, item.kiosk_seq, item.counter_id, item.officer_id, item.button,
        item.scale_size, item.sipas_level, item.source,
        json.dumps(flags) if flags else "[]", bool(flags),
        item.boot_id, item.monotonic_ms, item.wall_time, item.clock_trusted,
        received_at, when, verified,
        item.box_serial, item.box_boot_nonce, item.box_seq, digest,
        item.reason, item.comment, item.callback_phone, item.phone_consent,
    )


# The staging table of one connection: the shape of `ratings` plus the rows' order in
# the batch. Its rows vanish at every commit; a rollback takes the table itself away
# when it was made in that transaction, hence IF NOT EXISTS on every batch.
_STAGING = "hailong_ingest_staging"
_CREATE_STAGING = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING} "
    "(LIKE ratings, batch_position integer) ON COMMIT DELETE ROWS"
)


def _insert_ignoring_conflicts(session: Session, rows: Sequence[tuple[Any, ...]]) -> set[int]:
    """Insert what does not clash with a unique constraint; the positions in `rows`
    of the rows that went in."""
    if not rows:
        return set()
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        return _copy_ignoring_conflicts(session, rows)
    if dialect.name != "sqlite":
        raise RuntimeError(f"unsupported database dialect {dialect.name!r}")
    # Straight to the driver, in the session's transaction: SQLAlchemy's handling of
    # 26,000 parameters per batch cost more than SQLite's own work. The values are
    # converted by the columns' own types, as SQLAlchemy would store them.
    driver = session.connection().connection.driver_connection
    assert driver is not None
    cursor = driver.cursor()
    converters = _sqlite_converters(dialect)
    per_insert = min(
        _SQLITE_ROWS_PER_INSERT,
        driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(COLUMNS),
    )
    added: set[str] = set()
    for start in range(0, len(rows), per_insert):
        chunk = rows[start : start + per_insert]
        values: list[Any] = []
        for row in chunk:
            converted = list(row)
            for column, convert in converters:
                converted[column] = convert(converted[column])
            values.extend(converted)
        # The ids come back as the stored hex text: building a UUID object per
        # returned row cost more than SQLite's own work.
        added.update(hex_id for (hex_id,) in cursor.execute(_sqlite_insert(len(chunk)), values))
    return {position for position, row in enumerate(rows) if row[0].hex in added}


# A batch of the server's default size is one statement, which SQLite then keeps
# prepared; a bigger batch takes several.
_SQLITE_ROWS_PER_INSERT = 1000


@lru_cache(maxsize=8)
def _sqlite_insert(count: int) -> str:
    """`INSERT … ON CONFLICT DO NOTHING RETURNING id` of `count` rows of `COLUMNS`."""
    one_row = "(" + ", ".join("?" * len(COLUMNS)) + ")"
    return (
        f"INSERT INTO ratings ({', '.join(COLUMNS)}) VALUES "
        + ", ".join([one_row] * count)
        + " ON CONFLICT DO NOTHING RETURNING id"
    )


@cache
def _sqlite_converters(dialect: Dialect) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    """(position in a row, conversion) for the columns whose type converts a value
    before SQLite stores it (UUIDs, times)."""
    table = Rating.__table__
    found = []
    for position, name in enumerate(COLUMNS):
        # The dialect's own type: the generic DateTime leaves the text to the driver,
        # which drops a zero fraction of a second and breaks the text order of times.
        convert = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if convert is not None:
            found.append((position, convert))
    return tuple(found)


@cache
def _copy_types() -> tuple[str, ...]:
    """The PostgreSQL type of each of `COLUMNS`, as binary `COPY` needs them named."""
    dialect = postgresql.dialect()
    table = Rating.__table__
    names = [table.c[name].type.compile(dialect=dialect).lower() for name in COLUMNS]
    return tuple(name.split("(")[0] for name in names)


def _copy_ignoring_conflicts(session: Session, rows: Sequence[tuple[Any, ...]]) -> set[int]:
    """PostgreSQL, in the session's own transaction: `COPY` straight into `ratings`
    under a savepoint, which is all a batch of new ratings needs; when a row clashes
    (a resend), back to the savepoint, `COPY` into the staging table and one
    `INSERT … SELECT … ON CONFLICT DO NOTHING` from there. The staging detour cost
    PostgreSQL a fifth more work per batch, so it is taken only when needed."""
    names = ", ".join(COLUMNS)
    # The psycopg connection under the session, inside the transaction it began.
    driver = session.connection().connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor:
        try:
            with driver.transaction():
                _copy_rows(cursor, f"ratings ({names})", rows, with_positions=False)
        except psycopg.errors.UniqueViolation:
            pass
        else:
            return set(range(len(rows)))
        cursor.execute(_CREATE_STAGING)
        _copy_rows(cursor, f"{_STAGING} ({names}, batch_position)", rows, with_positions=True)
        # In batch order, so that of two new items with one sequence number the first
        # wins. Positions come back rather than ids: a thousand UUID objects built
        # from the answer cost more than the insert itself.
        cursor.execute(
            f"WITH added AS (INSERT INTO ratings ({names}) SELECT {names} FROM {_STAGING} "
            "ORDER BY batch_position ON CONFLICT DO NOTHING RETURNING id) "
            f"SELECT batch_position FROM added JOIN {_STAGING} USING (id)"
        )
        return {position for (position,) in cursor.fetchall()}


def _copy_rows(
    cursor: psycopg.Cursor[Any], target: str, rows: Sequence[tuple[Any, ...]], *,
    with_positions: bool,
) -> None:
    with cursor.copy(f"COPY {target} FROM STDIN (FORMAT BINARY)") as copy:
        if with_positions:
            copy.set_types((*_copy_types(), "integer"))
            for position, row in enumerate(rows):
                copy.write_row((*row, position))
        else:
            copy.set_types(_copy_types())
            for row in rows:
                copy.write_row(row)


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
) -> list[Verdict]:
    """Store `entries` (from `parse_batch`) for `kiosk` in one transaction; one
    verdict per entry, in order."""
    scope = kiosk_scope(session, kiosk)
    results: list[Verdict | None] = [None] * len(entries)
    digests: list[str | None] = [None] * len(entries)
    # Per entry, the index of the first entry with its id; per row, its entry's index.
    # Indexes rather than ids in the sets and maps: hashing a UUID runs Python code.
    first_of: list[int] = [0] * len(entries)
    row_entry: list[int] = []
    first_index: dict[UUID, int] = {}
    rows: list[tuple[Any, ...]] = []
    for index, entry in enumerate(entries):
        if isinstance(entry, ItemResult):
            results[index] = Verdict(entry.id, entry.status, entry.reason)
            continue
        problem = item_problem(entry, scope)
        if problem is not None:
            results[index] = Verdict(entry.id, "rejected", problem)
            continue
        digest = content_hash(entry)
        digests[index] = digest
        first = first_of[index] = first_index.setdefault(entry.id, index)
        if first == index:
            row_entry.append(index)
            rows.append(_row(entry, kiosk.id, batch, received_at, digest))

    added = _insert_ignoring_conflicts(session, rows)
    inserted = {row_entry[position] for position in added}
    stored = _stored(
        session, [rows[position][0] for position in range(len(rows)) if position not in added]
    )

    accepted_seqs: list[int] = []
    for index, entry in enumerate(entries):
        if results[index] is not None:
            continue
        assert isinstance(entry, RatingItem)
        first = first_of[index]
        if first in inserted:
            if index == first:
                results[index] = Verdict(entry.id, "accepted")
                accepted_seqs.append(entry.kiosk_seq)
                continue
            # A repeat within the batch: compared with the copy that went in.
            found: tuple[int, str | None] | None = (kiosk.id, digests[first])
        else:
            found = stored.get(entry.id)
        if found is None:
            results[index] = Verdict(
                entry.id,
                "conflict",
                _("sequence number {seq} is already used by another rating").format(
                    seq=entry.kiosk_seq
                ),
            )
        elif found == (kiosk.id, digests[index]):
            results[index] = Verdict(entry.id, "duplicate")
        else:
            results[index] = Verdict(
                entry.id, "conflict", _("a different rating with this id is already stored")
            )

    _note_upload(session, kiosk, received_at, accepted_seqs)
    # A harassment or unofficial-payment report opens its case in the same transaction
    # as the rating, so a case can never be missing for a stored rating.
    serious = [
        rows[position][0]
        for position in sorted(added)
        if rows[position][_REASON] in SERIOUS_REASONS
    ]
    if serious:
        cases.open_for_ratings(session, serious)
    session.commit()
    answered = [result for result in results if result is not None]
    assert len(answered) == len(entries), "every item gets exactly one result"
    return answered
