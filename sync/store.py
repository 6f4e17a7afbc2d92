"""The kiosk's durable store: every rating, its outbox entry and a little state, in
one SQLite file that survives power cuts.

Durability. WAL with `synchronous=FULL` (with NORMAL a committed transaction can
roll back after a power loss); every write is one `BEGIN IMMEDIATE` transaction
taken by one writer at a time; `record` returns only after COMMIT, so a press is
acknowledged to the box or the citizen only once it is on disk.

Outbox. A rating enters the outbox as "pending" in the same transaction that stores
it, and becomes "sent" only when the server has answered accepted or duplicate for
its id; conflict or rejected sets it aside with the server's reason (kept, counted,
never retried, never blocking the rest). There is no "sending" mark before an upload,
unlike ODK Collect: a state here changes only on a server answer, so a crash or a lost
answer leaves the rating "pending", it is sent again with the same id, and the
server's idempotent ingest answers "duplicate". Two uploads in flight at once (the
background uploader and `hailong sync push`) are just as harmless.

State keys (`get_state` / `set_state`), shared with the kiosk's enrollment code:
    kiosk_id    the id the server gave this kiosk at enrollment (decimal text)
    token       the kiosk's bearer credential for the server
    config      the last `wire.KioskConfig` pulled from the server, as JSON
    officer_id  the officer signed in at the counter (decimal text; "" when nobody)
The store itself keeps "sync.last_success_at", "sync.last_error_at" and
"sync.last_error" there for `sync_status`.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import unicodedata
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

from hailong.config.reasons import ReasonCode
from hailong.i18n import _
from hailong.kiosk.session import BoxKey, NewRating
from hailong.sync.ids import new_rating_id
from hailong.sync.kiosk_migrations import is_current, upgrade
from hailong.sync.kiosk_schema import UtcDateTime, outbox, ratings, sequences, state
from hailong.sync.wire import Flag, ItemResult, RatingItem, Source

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
_IMMEDIATE = "hailong_begin_immediate"
_LAST_SUCCESS = "sync.last_success_at"
_LAST_ERROR_AT = "sync.last_error_at"
_LAST_ERROR = "sync.last_error"
_SENT_STATUSES = ("accepted", "duplicate")


# Built once: a press is on the hot path from the box's frame to its acknowledgement,
# and building statements per call costs more than SQLite's own commit.
_NEXT_SEQ = (
    sa.select(sequences.c.last_value + 1)
    .where(sequences.c.name == "kiosk_seq")
    .scalar_subquery()
)
# The unique index on the box key decides what is a resent press; the sequence
# counter moves only when a row was really inserted, so resends leave no gap.
_INSERT_RATING = (
    sqlite_insert(ratings)
    .values(kiosk_seq=_NEXT_SEQ)
    .on_conflict_do_nothing(
        index_elements=[ratings.c.box_serial, ratings.c.box_boot_nonce, ratings.c.box_seq]
    )
    .returning(*ratings.c)
)
_SELECT_BOX_PRESS = sa.select(ratings).where(
    ratings.c.box_serial == sa.bindparam("serial"),
    ratings.c.box_boot_nonce == sa.bindparam("nonce"),
    ratings.c.box_seq == sa.bindparam("seq"),
)
_ADVANCE_SEQ = (
    sa.update(sequences)
    .where(sequences.c.name == "kiosk_seq")
    .values(last_value=sa.bindparam("last"))
)
_ENQUEUE = sa.insert(outbox)

# The outbox's oldest waiting ratings, each as its wire item's JSON written by SQLite
# itself (`json_object`), byte for byte what `RatingItem.model_dump_json` gives:
# building a row object, a `RatingItem` and its JSON in Python for every rating cost
# several times as much. The server validates every item; an item it cannot read is
# set aside alone, where a row failing validation here would stall the whole queue.
_HEX_UUID_PARTS = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))


def _json_value(name: str) -> sa.ColumnElement[Any]:
    """A `ratings` column as the wire item's JSON has it."""
    column = ratings.c[name]
    stored = sa.type_coerce(column, sa.String)
    if isinstance(column.type, sa.Uuid):  # 32 hex digits in SQLite
        parts = [sa.func.substr(stored, start, length) for start, length in _HEX_UUID_PARTS]
        return sa.func.lower(sa.func.printf("%s-%s-%s-%s-%s", *parts))
    if isinstance(column.type, UtcDateTime):
        # Stored "YYYY-MM-DD HH:MM:SS.ffffff" in UTC; pydantic leaves out a zero fraction.
        whole_seconds = sa.func.substr(stored, 21) == "000000"
        iso = sa.case((whole_seconds, sa.func.substr(stored, 1, 19)), else_=stored)
        return sa.func.replace(iso, " ", "T") + "Z"
    if isinstance(column.type, sa.Boolean):  # 0 or 1 in SQLite
        return sa.func.json(sa.case((column, "true"), else_="false"))
    if isinstance(column.type, sa.JSON):
        return sa.func.json(stored)
    return column


_ITEM_JSON = sa.func.json_object(
    *(part for name in RatingItem.model_fields for part in (sa.literal(name), _json_value(name)))
)
_SELECT_PENDING = (
    sa.select(
        ratings.c.kiosk_seq, sa.type_coerce(ratings.c.id, sa.String), _ITEM_JSON
    )
    .select_from(outbox.join(ratings))
    .where(
        outbox.c.state == "pending",
        ratings.c.held.is_(False),
        outbox.c.kiosk_seq > sa.bindparam("after_seq"),
    )
    .order_by(outbox.c.kiosk_seq)
    .limit(sa.bindparam("max_items"))
)
# Outbox entries by kiosk_seq, the numbers passed as one JSON array: one bound value
# instead of a thousand.
_PENDING_BY_SEQS = sa.update(outbox).where(
    outbox.c.state == "pending",
    outbox.c.kiosk_seq.in_(
        sa.select(sa.column("value", sa.Integer)).select_from(
            sa.func.json_each(sa.bindparam("seqs", type_=sa.String)).table_valued("value")
        )
    ),
)


_UPDATE_HELD = (
    sa.update(ratings)
    .where(ratings.c.id == sa.bindparam("rating_id"), ratings.c.held.is_(True))
)


class StoreError(Exception):
    """The kiosk database cannot be opened or upgraded; says which file and why."""


@dataclass(frozen=True)
class Feedback:
    """What a citizen added after a low rating. A phone number is kept only with the
    citizen's consent to be called back."""

    reason: ReasonCode | None = None
    comment: str | None = None
    callback_phone: str | None = None
    phone_consent: bool = False

    def __post_init__(self) -> None:
        if self.callback_phone is not None and not self.phone_consent:
            raise ValueError("a callback phone number needs the citizen's consent")


@dataclass(frozen=True)
class StoredRating:
    """A rating as committed on the kiosk: what the session decided plus its identity
    (`id`, the idempotency key for every upload) and the facts that date it."""

    id: uuid.UUID
    kiosk_seq: int
    counter_id: int
    officer_id: int | None
    button: int
    scale_size: int
    sipas_level: int
    source: Source
    flags: tuple[Flag, ...]
    box: BoxKey | None
    wall_time: datetime
    monotonic_ms: int
    clock_trusted: bool
    boot_id: uuid.UUID
    feedback: Feedback = Feedback()
    # Still waiting for the citizen's feedback: not uploaded until released.
    held: bool = False

    def to_item(self) -> RatingItem:
        return RatingItem(
            id=self.id,
            kiosk_seq=self.kiosk_seq,
            counter_id=self.counter_id,
            officer_id=self.officer_id,
            button=self.button,
            scale_size=self.scale_size,
            sipas_level=self.sipas_level,
            source=self.source,
            flags=list(self.flags),
            boot_id=self.boot_id,
            monotonic_ms=self.monotonic_ms,
            wall_time=self.wall_time,
            clock_trusted=self.clock_trusted,
            box_serial=self.box.serial if self.box else None,
            box_boot_nonce=self.box.boot_nonce if self.box else None,
            box_seq=self.box.seq if self.box else None,
            reason=self.feedback.reason,
            comment=self.feedback.comment,
            callback_phone=self.feedback.callback_phone,
            phone_consent=self.feedback.phone_consent,
        )


@dataclass(frozen=True)
class SyncStatus:
    backlog: int
    set_aside: int
    oldest_pending_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class SetAside:
    kiosk_seq: int
    id: uuid.UUID
    result: str | None
    reason: str | None


@dataclass(frozen=True)
class PendingItem:
    """A rating waiting in the outbox, ready for the wire: `json` is its `RatingItem`'s
    JSON, spliced into the upload as it is."""

    kiosk_seq: int
    id: uuid.UUID
    json: bytes

    @property
    def item(self) -> RatingItem:
        return RatingItem.model_validate_json(self.json)


@dataclass(frozen=True)
class Applied:
    """What `apply_results` made of an answer, counting each rating once (its last
    verdict): the ones settled as sent and the ones set aside."""

    sent: int
    set_aside: int

    @property
    def answered(self) -> int:
        return self.sent + self.set_aside


def _stored(row: sa.Row[Any]) -> StoredRating:
    box = (
        BoxKey(row.box_serial, row.box_boot_nonce, row.box_seq)
        if row.box_serial is not None
        else None
    )
    return StoredRating(
        id=row.id,
        kiosk_seq=row.kiosk_seq,
        counter_id=row.counter_id,
        officer_id=row.officer_id,
        button=row.button,
        scale_size=row.scale_size,
        sipas_level=row.sipas_level,
        source=row.source,
        flags=tuple(row.flags),
        box=box,
        wall_time=row.wall_time,
        monotonic_ms=row.monotonic_ms,
        clock_trusted=row.clock_trusted,
        boot_id=row.boot_id,
        feedback=Feedback(
            reason=row.reason,
            comment=row.comment,
            callback_phone=row.callback_phone,
            phone_consent=row.phone_consent,
        ),
        held=row.held,
    )


def _make_engine(path: Path, *, foreign_keys: bool) -> Engine:
    engine = sa.create_engine(
        sa.URL.create("sqlite", database=str(path)),
        connect_args={"check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Python's sqlite3 would otherwise open transactions itself, lazily and DEFERRED;
        # the "begin" hook below emits BEGIN instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            log.warning("%s cannot use WAL (journal_mode is %s)", path, mode)
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # Writers take the write lock up front, so two writers queue on busy_timeout
        # instead of failing half-way when a read lock cannot be upgraded.
        immediate = connection.get_execution_options().get(_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _create_private(path: Path) -> None:
    """An empty file is an empty SQLite database; creating it ourselves keeps the
    kiosk's credential readable by its owner only (SQLite's -wal and -shm files
    copy these permissions)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


class KioskStore:
    def __init__(self, path: Path, *, extra_migrations: Sequence[Path] = ()) -> None:
        """Open (creating when needed) and upgrade the kiosk database at `path`.
        `extra_migrations`: more folders of Alembic revisions after the shipped ones
        (tests rehearse a future upgrade with it)."""
        self.path = path
        _create_private(path)
        self._migrate(extra_migrations)
        self._engine = _make_engine(path, foreign_keys=True)
        self._write_lock = threading.Lock()

    def _migrate(self, extra_migrations: Sequence[Path]) -> None:
        # SQLite's recipe for rebuilding a table (what batch mode does) needs foreign
        # keys off, or dropping the old copy of `ratings` would trip on `outbox`; they
        # are checked before the upgrade commits instead.
        engine = _make_engine(self.path, foreign_keys=False)
        try:
            with engine.connect() as connection:
                connection.execution_options(**{_IMMEDIATE: True})
                with connection.begin():
                    if extra_migrations or not is_current(connection):
                        self._upgrade(connection, extra_migrations)
        except sa.exc.DatabaseError as exc:
            raise StoreError(
                _("{path} is not a usable kiosk database: {error}").format(
                    path=self.path, error=exc.orig
                )
            ) from exc
        finally:
            engine.dispose()

    def _upgrade(self, connection: Connection, extra_migrations: Sequence[Path]) -> None:
        # Imported only here: an up-to-date kiosk never loads Alembic.
        from alembic.util.exc import CommandError

        try:
            upgrade(connection, "head", extra_migrations)
        except CommandError as exc:
            raise StoreError(
                _(
                    "cannot upgrade the kiosk database {path}: {error} (was it written by "
                    "a newer version of Hài Lòng?)"
                ).format(path=self.path, error=exc)
            ) from exc
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise StoreError(
                _("upgrading {path} would break references: {rows}").format(
                    path=self.path, rows=broken[:5]
                )
            )

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._write_lock, self._engine.connect() as connection:
            connection.execution_options(**{_IMMEDIATE: True})
            with connection.begin():
                yield connection

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect() as connection, connection.begin():
            yield connection

    # -- ratings --------------------------------------------------------------------

    def record(
        self,
        rating: NewRating,
        *,
        wall_time: datetime,
        monotonic_ms: int,
        clock_trusted: bool,
        boot_id: uuid.UUID,
        hold: bool = False,
    ) -> StoredRating:
        """Store `rating` and its outbox entry in one transaction; returns after COMMIT.

        A press the box resent (same serial, boot nonce and sequence) is not stored
        again: the rating stored the first time is returned and nothing is written.
        `hold`: the citizen is asked for feedback, so the rating waits for
        `release` (or `release_all`) before it is uploaded.
        """
        if wall_time.tzinfo is None:
            raise ValueError("wall_time must be timezone-aware")
        box = rating.box
        values = {
            "id": new_rating_id(),
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
            "wall_time": wall_time,
            "monotonic_ms": monotonic_ms,
            "clock_trusted": clock_trusted,
            "boot_id": boot_id,
            "held": hold,
        }
        with self._write() as connection:
            row = connection.execute(_INSERT_RATING, values).one_or_none()
            if row is None:
                assert box is not None  # only a box key can conflict
                row = connection.execute(
                    _SELECT_BOX_PRESS,
                    {"serial": box.serial, "nonce": box.boot_nonce, "seq": box.seq},
                ).one()
                log.info("box %s resent press %s; already stored", box.serial, box.seq)
            else:
                connection.execute(_ADVANCE_SEQ, {"last": row.kiosk_seq})
                connection.execute(_ENQUEUE, {"kiosk_seq": row.kiosk_seq, "state": "pending"})
        return _stored(row)

    def pending(self, max_items: int, max_bytes: int) -> list[RatingItem]:
        """The oldest unsent ratings, at most `max_items` of them and at most
        `max_bytes` as a JSON array — but always one when any is waiting, so a rating
        larger than the limit cannot stall the queue."""
        return [waiting.item for waiting in self.pending_wire(max_items, max_bytes)]

    def pending_wire(
        self, max_items: int, max_bytes: int, *, after_seq: int = 0
    ) -> list[PendingItem]:
        """`pending`, each item with its JSON; only ratings after `after_seq` (the
        uploader reads the next batch while the one before it is on its way)."""
        if max_items < 1:
            raise ValueError(f"max_items must be ≥ 1, got {max_items}")
        with self._read() as connection:
            rows = connection.execute(
                _SELECT_PENDING, {"after_seq": after_seq, "max_items": max_items}
            ).all()
        items: list[PendingItem] = []
        size = len(b"[]")
        for kiosk_seq, hex_id, text in rows:
            data = text.encode()
            item_bytes = len(data) + (1 if items else 0)
            if items and size + item_bytes > max_bytes:
                break
            items.append(PendingItem(kiosk_seq, uuid.UUID(hex_id), data))
            size += item_bytes
        return items

    def update_feedback(self, rating_id: uuid.UUID, feedback: Feedback) -> bool:
        """Replace a held rating's feedback; False (nothing written) when the rating
        is not held any more: once released it may already be on the server."""
        values = {
            "reason": feedback.reason,
            "comment": unicodedata.normalize("NFC", feedback.comment)
            if feedback.comment is not None
            else None,
            "callback_phone": feedback.callback_phone,
            "phone_consent": feedback.phone_consent,
        }
        with self._write() as connection:
            return connection.execute(_UPDATE_HELD.values(**values), {"rating_id": rating_id})\
                .rowcount == 1

    def release(self, rating_id: uuid.UUID) -> bool:
        """Let a held rating be uploaded, with whatever feedback it has."""
        with self._write() as connection:
            return connection.execute(
                _UPDATE_HELD.values(held=False), {"rating_id": rating_id}
            ).rowcount == 1

    def release_all(self) -> int:
        """Release every held rating (at start: a citizen cut off by a crash or a power
        cut keeps their rating and what they had answered)."""
        with self._write() as connection:
            return connection.execute(
                sa.update(ratings).where(ratings.c.held.is_(True)).values(held=False)
            ).rowcount

    def ratings_since(self, when: datetime) -> list[StoredRating]:
        """Every rating stored at or after `when` (kiosk wall time), oldest first."""
        query = sa.select(ratings).where(ratings.c.wall_time >= when).order_by(
            ratings.c.kiosk_seq
        )
        with self._read() as connection:
            return [_stored(row) for row in connection.execute(query)]

    def apply_results(
        self,
        results: Sequence[ItemResult],
        sent: Mapping[uuid.UUID, int] | None = None,
        *,
        note_success: bool = False,
    ) -> Applied:
        """Record the server's verdicts, in one transaction (one commit to disk per
        answer). Only pending entries change; an id this kiosk does not know is logged
        and ignored. `sent`: the kiosk_seq of each rating in the upload, as read from
        this store (saves looking them up again); with it, only those ratings are
        counted in the answer. `note_success`: also record the answer as the last
        successful upload (`sync_status`)."""
        # Keyed by the ids' integers: UUID's own hash and equality run Python code,
        # several times per rating, a thousand ratings per answer.
        seq_by_id = {sent_id.int: seq for sent_id, seq in (sent or {}).items()}
        # Verdicts by kiosk_seq: those for the ratings in `sent`, then all of them.
        of_sent: dict[int, ItemResult] = {}
        others: list[ItemResult] = []
        for result in results:
            seq = seq_by_id.get(result.id.int)
            if seq is None:
                others.append(result)
            else:
                of_sent[seq] = result
        now = datetime.now(UTC)
        with self._write() as connection:
            verdicts = of_sent
            if others:
                verdicts = {**of_sent, **self._verdicts_by_lookup(connection, others)}
            for status in _SENT_STATUSES:
                seqs = [seq for seq, result in verdicts.items() if result.status == status]
                if seqs:
                    connection.execute(
                        _PENDING_BY_SEQS.values(state="sent", result=status, synced_at=now),
                        {"seqs": json.dumps(seqs)},
                    )
            for seq, result in verdicts.items():
                if result.status not in _SENT_STATUSES:
                    self._set_aside(connection, seq, result)
            if note_success:
                self._put_in(connection, {_LAST_SUCCESS: now.isoformat()})
        counted = of_sent if sent is not None else verdicts
        sent_count = sum(result.status in _SENT_STATUSES for result in counted.values())
        return Applied(sent=sent_count, set_aside=len(counted) - sent_count)

    @staticmethod
    def _verdicts_by_lookup(
        connection: Connection, results: Sequence[ItemResult]
    ) -> dict[int, ItemResult]:
        """The verdicts for ratings not in the upload as sent, by their stored kiosk_seq."""
        wanted = {result.id: result for result in results}
        query = sa.select(ratings.c.id, ratings.c.kiosk_seq).where(ratings.c.id.in_(wanted))
        found = {row.id: row.kiosk_seq for row in connection.execute(query)}
        for unknown in wanted.keys() - found.keys():
            log.warning("the server answered for rating %s, unknown here", unknown)
        return {seq: wanted[found_id] for found_id, seq in found.items()}

    @staticmethod
    def _set_aside(connection: Connection, seq: int, result: ItemResult) -> None:
        reason = result.reason or ""
        changed = connection.execute(
            _PENDING_BY_SEQS.values(state="set_aside", result=result.status, reason=reason),
            {"seqs": json.dumps([seq])},
        ).rowcount
        if changed:
            log.warning(
                "rating %s set aside: the server answered %s (%s)",
                result.id,
                result.status,
                reason or "no reason given",
            )

    def backlog(self) -> int:
        with self._read() as connection:
            return self._count(connection, "pending")

    @staticmethod
    def _count(connection: Connection, outbox_state: str) -> int:
        query = sa.select(sa.func.count()).select_from(outbox).where(
            outbox.c.state == outbox_state
        )
        return int(connection.execute(query).scalar_one())

    def sync_status(self) -> SyncStatus:
        oldest = (
            sa.select(ratings.c.wall_time)
            .select_from(outbox.join(ratings))
            .where(outbox.c.state == "pending")
            .order_by(outbox.c.kiosk_seq)
            .limit(1)
        )
        with self._read() as connection:
            values: dict[str, str] = {
                row.key: row.value
                for row in connection.execute(
                    sa.select(state.c.key, state.c.value).where(
                        state.c.key.in_((_LAST_SUCCESS, _LAST_ERROR_AT, _LAST_ERROR))
                    )
                )
            }
            return SyncStatus(
                backlog=self._count(connection, "pending"),
                set_aside=self._count(connection, "set_aside"),
                oldest_pending_at=connection.execute(oldest).scalar(),
                last_success_at=_parse_time(values.get(_LAST_SUCCESS)),
                last_error_at=_parse_time(values.get(_LAST_ERROR_AT)),
                last_error=values.get(_LAST_ERROR),
            )

    def set_aside(self, limit: int = 20) -> list[SetAside]:
        """The most recent ratings the server refused, with its answer and reason."""
        query = (
            sa.select(outbox.c.kiosk_seq, ratings.c.id, outbox.c.result, outbox.c.reason)
            .select_from(outbox.join(ratings))
            .where(outbox.c.state == "set_aside")
            .order_by(outbox.c.kiosk_seq.desc())
            .limit(limit)
        )
        with self._read() as connection:
            return [SetAside(*row) for row in connection.execute(query)]

    def note_attempt(self, error: str | None) -> None:
        """Record the outcome of an upload: a success when `error` is None."""
        now = datetime.now(UTC).isoformat()
        if error is None:
            self._put({_LAST_SUCCESS: now})
        else:
            self._put({_LAST_ERROR_AT: now, _LAST_ERROR: error})

    # -- small state ------------------------------------------------------------------

    def get_state(self, key: str) -> str | None:
        with self._read() as connection:
            return connection.execute(
                sa.select(state.c.value).where(state.c.key == key)
            ).scalar()

    def set_state(self, key: str, value: str) -> None:
        self._put({key: value})

    def delete_state(self, key: str) -> None:
        with self._write() as connection:
            connection.execute(sa.delete(state).where(state.c.key == key))

    def _put(self, values: dict[str, str]) -> None:
        with self._write() as connection:
            self._put_in(connection, values)

    @staticmethod
    def _put_in(connection: Connection, values: dict[str, str]) -> None:
        upsert = sqlite_insert(state)
        upsert = upsert.on_conflict_do_update(
            index_elements=[state.c.key], set_={"value": upsert.excluded.value}
        )
        connection.execute(upsert, [{"key": k, "value": v} for k, v in values.items()])

    # -- lifetime ---------------------------------------------------------------------

    def durability(self) -> dict[str, str]:
        """The SQLite settings in force on the store's connections, as SQLite reports
        them (journal_mode, synchronous: 2 = FULL, foreign_keys, busy_timeout)."""
        with self._read() as connection:
            return {
                name: str(connection.exec_driver_sql(f"PRAGMA {name}").scalar())
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> KioskStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
