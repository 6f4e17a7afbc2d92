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

File format. The tables are `kiosk_schema`'s, built and upgraded by Alembic; values
are stored as SQLAlchemy's SQLite dialect stores those column types (see
`CONVERTED_COLUMNS`), but the store itself runs on the standard library's `sqlite3`:
SQLAlchemy (and the asyncio it pulls in) cost a kiosk process some 16 MB of memory, so
it is imported only to upgrade a database that is behind.

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
import sqlite3
import threading
import unicodedata
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from hailong.config.reasons import ReasonCode
from hailong.i18n import _
from hailong.kiosk.session import BoxKey, NewRating
from hailong.sync.ids import new_rating_id
from hailong.sync.kiosk_migrations import is_current
from hailong.sync.wire import Flag, ItemResult, RatingItem, Source

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
# SQLite's page cache per connection (its default is 2 MB): a rating touches a few
# pages at the right edge of each index, and the operating system caches the file
# anyway. With the default, a kiosk's memory crept up with its database.
CACHE_KIB = 512
# Idle connections kept open; the kiosk uses about four at once (box, taps, uploader, UI).
_POOL_SIZE = 5
_LAST_SUCCESS = "sync.last_success_at"
_LAST_ERROR_AT = "sync.last_error_at"
_LAST_ERROR = "sync.last_error"
_SENT_STATUSES = ("accepted", "duplicate")

StoredAs = Literal["uuid", "time", "bool", "json"]

# The columns whose stored form is not their Python value, as SQLAlchemy's SQLite
# dialect writes `kiosk_schema`'s types (a test holds this map to that schema):
#   uuid  `Uuid`: 32 lowercase hex digits
#   time  `UtcDateTime`: UTC, naive, text "YYYY-MM-DD HH:MM:SS.ffffff"
#   bool  `Boolean`: 0 or 1
#   json  `JSON`: the text of `json.dumps(value)`
# Every other column holds an integer or text, stored as it is.
CONVERTED_COLUMNS: Mapping[str, Mapping[str, StoredAs]] = {
    "ratings": {
        "id": "uuid",
        "flags": "json",
        "wall_time": "time",
        "clock_trusted": "bool",
        "boot_id": "uuid",
        "phone_consent": "bool",
        "held": "bool",
    },
    "outbox": {"synced_at": "time"},
}


def _time_text(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"a naive datetime cannot be stored, got {value!r}")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _time_value(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# A rating as `_stored` reads it; built once, like every statement below: a press is on
# the hot path from the box's frame to its acknowledgement.
_RATING_COLUMNS = ", ".join(
    f"ratings.{name}"
    for name in (
        "kiosk_seq", "id", "counter_id", "officer_id", "button", "scale_size",
        "sipas_level", "source", "flags", "box_serial", "box_boot_nonce", "box_seq",
        "wall_time", "monotonic_ms", "clock_trusted", "boot_id", "reason", "comment",
        "callback_phone", "phone_consent", "held",
    )
)
# What `record` writes; the feedback columns keep their defaults.
_RECORDED = (
    "id", "counter_id", "officer_id", "button", "scale_size", "sipas_level", "source",
    "flags", "box_serial", "box_boot_nonce", "box_seq", "wall_time", "monotonic_ms",
    "clock_trusted", "boot_id", "held",
)
# The unique index on the box key decides what is a resent press; the sequence
# counter moves only when a row was really inserted, so resends leave no gap.
_INSERT_RATING = (
    f"INSERT INTO ratings (kiosk_seq, {', '.join(_RECORDED)}) "
    "VALUES ((SELECT last_value + 1 FROM sequences WHERE name = 'kiosk_seq'), "
    f"{', '.join(':' + name for name in _RECORDED)}) "
    "ON CONFLICT (box_serial, box_boot_nonce, box_seq) DO NOTHING "
    f"RETURNING {_RATING_COLUMNS}"
)
_SELECT_BOX_PRESS = (
    f"SELECT {_RATING_COLUMNS} FROM ratings "
    "WHERE box_serial = ? AND box_boot_nonce = ? AND box_seq = ?"
)
_ADVANCE_SEQ = "UPDATE sequences SET last_value = ? WHERE name = 'kiosk_seq'"
_ENQUEUE = "INSERT INTO outbox (kiosk_seq, state) VALUES (?, 'pending')"
_SELECT_SINCE = (
    f"SELECT {_RATING_COLUMNS} FROM ratings WHERE wall_time >= ? ORDER BY kiosk_seq"
)
_UPDATE_FEEDBACK = (
    "UPDATE ratings SET reason = ?, comment = ?, callback_phone = ?, phone_consent = ? "
    "WHERE id = ? AND held IS 1"
)
_RELEASE = "UPDATE ratings SET held = 0 WHERE id = ? AND held IS 1"
_RELEASE_ALL = "UPDATE ratings SET held = 0 WHERE held IS 1"

# The outbox's oldest waiting ratings, each as its wire item's JSON written by SQLite
# itself (`json_object`), byte for byte what `RatingItem.model_dump_json` gives:
# building a row object, a `RatingItem` and its JSON in Python for every rating cost
# several times as much. The server validates every item; an item it cannot read is
# set aside alone, where a row failing validation here would stall the whole queue.
_HEX_UUID_PARTS = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))


def _wire_value(name: str) -> str:
    """SQL for a `ratings` column as the wire item's JSON has it."""
    column = f"ratings.{name}"
    stored = CONVERTED_COLUMNS["ratings"].get(name)
    if stored == "uuid":
        parts = ", ".join(f"substr({column}, {at}, {length})" for at, length in _HEX_UUID_PARTS)
        return f"lower(printf('%s-%s-%s-%s-%s', {parts}))"
    if stored == "time":
        # Pydantic writes "YYYY-MM-DDTHH:MM:SS[.ffffff]Z", leaving out a zero fraction.
        iso = (
            f"CASE WHEN substr({column}, 21) = '000000' THEN substr({column}, 1, 19) "
            f"ELSE {column} END"
        )
        return f"replace({iso}, ' ', 'T') || 'Z'"
    if stored == "bool":
        return f"json(CASE WHEN {column} THEN 'true' ELSE 'false' END)"
    if stored == "json":
        return f"json({column})"
    return column


_ITEM_JSON = "json_object({})".format(
    ", ".join(f"'{name}', {_wire_value(name)}" for name in RatingItem.model_fields)
)
_SELECT_PENDING = (
    f"SELECT outbox.kiosk_seq, ratings.id, {_ITEM_JSON} "
    "FROM outbox JOIN ratings ON ratings.kiosk_seq = outbox.kiosk_seq "
    "WHERE outbox.state = 'pending' AND ratings.held IS 0 AND outbox.kiosk_seq > ? "
    "ORDER BY outbox.kiosk_seq LIMIT ?"
)
# Many ratings at once are passed as one JSON array: one bound value instead of a
# thousand.
_SETTLE = (
    "UPDATE outbox SET state = 'sent', result = ?, synced_at = ? "
    "WHERE state = 'pending' AND kiosk_seq IN (SELECT value FROM json_each(?))"
)
_SET_ASIDE = (
    "UPDATE outbox SET state = 'set_aside', result = ?, reason = ? "
    "WHERE state = 'pending' AND kiosk_seq = ?"
)
_SEQS_OF_IDS = (
    "SELECT id, kiosk_seq FROM ratings WHERE id IN (SELECT value FROM json_each(?))"
)
_COUNT = "SELECT count(*) FROM outbox WHERE state = ?"
_OLDEST_PENDING = (
    "SELECT ratings.wall_time FROM outbox JOIN ratings ON ratings.kiosk_seq = outbox.kiosk_seq "
    "WHERE outbox.state = 'pending' ORDER BY outbox.kiosk_seq LIMIT 1"
)
_SELECT_SET_ASIDE = (
    "SELECT outbox.kiosk_seq, ratings.id, outbox.result, outbox.reason "
    "FROM outbox JOIN ratings ON ratings.kiosk_seq = outbox.kiosk_seq "
    "WHERE outbox.state = 'set_aside' ORDER BY outbox.kiosk_seq DESC LIMIT ?"
)
_GET_STATE = 'SELECT value FROM state WHERE "key" = ?'
_SYNC_STATE = 'SELECT "key", value FROM state WHERE "key" IN (?, ?, ?)'
_PUT_STATE = (
    'INSERT INTO state ("key", value) VALUES (?, ?) '
    'ON CONFLICT ("key") DO UPDATE SET value = excluded.value'
)
_DELETE_STATE = 'DELETE FROM state WHERE "key" = ?'


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


def _stored(row: Sequence[Any]) -> StoredRating:
    (
        kiosk_seq, rating_id, counter_id, officer_id, button, scale_size, sipas_level,
        source, flags, box_serial, box_boot_nonce, box_seq, wall_time, monotonic_ms,
        clock_trusted, boot_id, reason, comment, callback_phone, phone_consent, held,
    ) = row
    return StoredRating(
        id=uuid.UUID(rating_id),
        kiosk_seq=kiosk_seq,
        counter_id=counter_id,
        officer_id=officer_id,
        button=button,
        scale_size=scale_size,
        sipas_level=sipas_level,
        source=source,
        flags=tuple(json.loads(flags)),
        box=BoxKey(box_serial, box_boot_nonce, box_seq) if box_serial is not None else None,
        wall_time=_time_value(wall_time),
        monotonic_ms=monotonic_ms,
        clock_trusted=bool(clock_trusted),
        boot_id=uuid.UUID(boot_id),
        feedback=Feedback(
            reason=reason,
            comment=comment,
            callback_phone=callback_phone,
            phone_consent=bool(phone_consent),
        ),
        held=bool(held),
    )


def _connect(path: Path, *, foreign_keys: bool) -> sqlite3.Connection:
    # With isolation_level None, sqlite3 leaves transactions alone: the store emits
    # BEGIN (IMMEDIATE) and COMMIT itself rather than letting it begin lazily, DEFERRED.
    connection = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    try:
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        (mode,) = connection.execute("PRAGMA journal_mode = WAL").fetchone()
        if mode.lower() != "wal":
            log.warning("%s cannot use WAL (journal_mode is %s)", path, mode)
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        connection.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
    except BaseException:
        connection.close()
        raise
    return connection


class _Pool:
    """Connections to one file, handed out one per operation: the store is used from
    several threads at once (the box driver, taps, the uploader, the UI), and an
    sqlite3 connection must serve one of them at a time."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        """`begin` ... COMMIT around the block; ROLLBACK when it raises."""
        with self._lock:
            connection = self._idle.pop() if self._idle else None
        if connection is None:
            connection = _connect(self._path, foreign_keys=True)
        try:
            connection.execute(begin)
            try:
                yield connection
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        finally:
            self._give_back(connection)

    def _give_back(self, connection: sqlite3.Connection) -> None:
        # One still in a transaction is one whose ROLLBACK failed: not to be reused.
        if not connection.in_transaction:
            with self._lock:
                if not self._closed and len(self._idle) < _POOL_SIZE:
                    self._idle.append(connection)
                    return
        connection.close()

    def close(self) -> None:
        """Close every idle connection, and those in use as they come back. The store
        still works after it (like SQLAlchemy's `Engine.dispose`), one connection per
        operation, so a thread still finishing its work at shutdown is not cut off."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


def _create_private(path: Path) -> None:
    """An empty file is an empty SQLite database; creating it ourselves keeps the
    kiosk's credential readable by its owner only (SQLite's -wal and -shm files
    copy these permissions)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def _unusable(path: Path, error: BaseException) -> StoreError:
    return StoreError(
        _("{path} is not a usable kiosk database: {error}").format(path=path, error=error)
    )


def _upgrade(path: Path, extra_migrations: Sequence[Path]) -> None:
    """Bring the database at `path` to the newest revision (and `extra_migrations`)
    with Alembic, in one transaction. Imported only here: an up-to-date kiosk never
    loads SQLAlchemy or Alembic."""
    import sqlalchemy as sa
    from alembic.util.exc import CommandError
    from sqlalchemy import event

    from hailong.sync.kiosk_migrations import upgrade

    # SQLite's recipe for rebuilding a table (what batch mode does) needs foreign
    # keys off, or dropping the old copy of `ratings` would trip on `outbox`; they
    # are checked before the upgrade commits instead.
    engine = sa.create_engine(
        sa.URL.create("sqlite", database=str(path)),
        creator=lambda: _connect(path, foreign_keys=False),
    )

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        # Another process opening the same file waits here, then finds it upgraded.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with engine.connect() as connection, connection.begin():
            if not extra_migrations and is_current(connection.connection.driver_connection):
                return
            try:
                upgrade(connection, "head", extra_migrations)
            except CommandError as exc:
                raise StoreError(
                    _(
                        "cannot upgrade the kiosk database {path}: {error} (was it written "
                        "by a newer version of Hài Lòng?)"
                    ).format(path=path, error=exc)
                ) from exc
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise StoreError(
                    _("upgrading {path} would break references: {rows}").format(
                        path=path, rows=broken[:5]
                    )
                )
    except sa.exc.DatabaseError as exc:
        raise _unusable(path, exc.orig) from exc
    finally:
        engine.dispose()


class KioskStore:
    def __init__(self, path: Path, *, extra_migrations: Sequence[Path] = ()) -> None:
        """Open (creating when needed) and upgrade the kiosk database at `path`.
        `extra_migrations`: more folders of Alembic revisions after the shipped ones
        (tests rehearse a future upgrade with it)."""
        self.path = path
        _create_private(path)
        self._pool = _Pool(path)
        self._write_lock = threading.Lock()
        try:
            if extra_migrations or not self._is_current():
                _upgrade(path, extra_migrations)
        except sqlite3.DatabaseError as exc:
            self._pool.close()
            raise _unusable(path, exc) from exc
        except BaseException:
            self._pool.close()
            raise

    def _is_current(self) -> bool:
        with self._read() as connection:
            return is_current(connection)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        # Writers take the write lock up front, so two writers queue on busy_timeout
        # instead of failing half-way when a read lock cannot be upgraded.
        with self._write_lock, self._pool.transaction("BEGIN IMMEDIATE") as connection:
            yield connection

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._pool.transaction("BEGIN") as connection:
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
            "id": new_rating_id().hex,
            "counter_id": rating.counter_id,
            "officer_id": rating.officer_id,
            "button": rating.button,
            "scale_size": rating.scale_size,
            "sipas_level": rating.sipas_level,
            "source": rating.source,
            "flags": json.dumps(list(rating.flags)),
            "box_serial": box.serial if box else None,
            "box_boot_nonce": box.boot_nonce if box else None,
            "box_seq": box.seq if box else None,
            "wall_time": _time_text(wall_time),
            "monotonic_ms": monotonic_ms,
            "clock_trusted": int(clock_trusted),
            "boot_id": boot_id.hex,
            "held": int(hold),
        }
        with self._write() as connection:
            rows = connection.execute(_INSERT_RATING, values).fetchall()
            if rows:
                (row,) = rows
                connection.execute(_ADVANCE_SEQ, (row[0],))
                connection.execute(_ENQUEUE, (row[0],))
            else:
                assert box is not None  # only a box key can conflict
                (row,) = connection.execute(
                    _SELECT_BOX_PRESS, (box.serial, box.boot_nonce, box.seq)
                ).fetchall()
                log.info("box %s resent press %s; already stored", box.serial, box.seq)
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
            rows = connection.execute(_SELECT_PENDING, (after_seq, max_items)).fetchall()
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
        values = (
            feedback.reason,
            unicodedata.normalize("NFC", feedback.comment)
            if feedback.comment is not None
            else None,
            feedback.callback_phone,
            int(feedback.phone_consent),
            rating_id.hex,
        )
        with self._write() as connection:
            return connection.execute(_UPDATE_FEEDBACK, values).rowcount == 1

    def release(self, rating_id: uuid.UUID) -> bool:
        """Let a held rating be uploaded, with whatever feedback it has."""
        with self._write() as connection:
            return connection.execute(_RELEASE, (rating_id.hex,)).rowcount == 1

    def release_all(self) -> int:
        """Release every held rating (at start: a citizen cut off by a crash or a power
        cut keeps their rating and what they had answered)."""
        with self._write() as connection:
            return connection.execute(_RELEASE_ALL).rowcount

    def ratings_since(self, when: datetime) -> list[StoredRating]:
        """Every rating stored at or after `when` (kiosk wall time), oldest first."""
        with self._read() as connection:
            rows = connection.execute(_SELECT_SINCE, (_time_text(when),)).fetchall()
        return [_stored(row) for row in rows]

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
            synced_at = _time_text(now)
            for status in _SENT_STATUSES:
                seqs = [seq for seq, result in verdicts.items() if result.status == status]
                if seqs:
                    connection.execute(_SETTLE, (status, synced_at, json.dumps(seqs)))
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
        connection: sqlite3.Connection, results: Sequence[ItemResult]
    ) -> dict[int, ItemResult]:
        """The verdicts for ratings not in the upload as sent, by their stored kiosk_seq."""
        wanted = {result.id: result for result in results}
        rows = connection.execute(
            _SEQS_OF_IDS, (json.dumps([rating_id.hex for rating_id in wanted]),)
        ).fetchall()
        found = {uuid.UUID(hex_id): seq for hex_id, seq in rows}
        for unknown in wanted.keys() - found.keys():
            log.warning("the server answered for rating %s, unknown here", unknown)
        return {seq: wanted[found_id] for found_id, seq in found.items()}

    @staticmethod
    def _set_aside(connection: sqlite3.Connection, seq: int, result: ItemResult) -> None:
        reason = result.reason or ""
        changed = connection.execute(_SET_ASIDE, (result.status, reason, seq)).rowcount
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
    def _count(connection: sqlite3.Connection, outbox_state: str) -> int:
        (count,) = connection.execute(_COUNT, (outbox_state,)).fetchone()
        return int(count)

    def sync_status(self) -> SyncStatus:
        with self._read() as connection:
            values: dict[str, str] = dict(
                connection.execute(
                    _SYNC_STATE, (_LAST_SUCCESS, _LAST_ERROR_AT, _LAST_ERROR)
                ).fetchall()
            )
            oldest = connection.execute(_OLDEST_PENDING).fetchall()
            return SyncStatus(
                backlog=self._count(connection, "pending"),
                set_aside=self._count(connection, "set_aside"),
                oldest_pending_at=_time_value(oldest[0][0]) if oldest else None,
                last_success_at=_parse_time(values.get(_LAST_SUCCESS)),
                last_error_at=_parse_time(values.get(_LAST_ERROR_AT)),
                last_error=values.get(_LAST_ERROR),
            )

    def set_aside(self, limit: int = 20) -> list[SetAside]:
        """The most recent ratings the server refused, with its answer and reason."""
        with self._read() as connection:
            rows = connection.execute(_SELECT_SET_ASIDE, (limit,)).fetchall()
        return [
            SetAside(kiosk_seq, uuid.UUID(hex_id), result, reason)
            for kiosk_seq, hex_id, result, reason in rows
        ]

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
            row = connection.execute(_GET_STATE, (key,)).fetchone()
        return None if row is None else row[0]

    def set_state(self, key: str, value: str) -> None:
        self._put({key: value})

    def delete_state(self, key: str) -> None:
        with self._write() as connection:
            connection.execute(_DELETE_STATE, (key,))

    def _put(self, values: dict[str, str]) -> None:
        with self._write() as connection:
            self._put_in(connection, values)

    @staticmethod
    def _put_in(connection: sqlite3.Connection, values: dict[str, str]) -> None:
        connection.executemany(_PUT_STATE, values.items())

    # -- lifetime ---------------------------------------------------------------------

    def durability(self) -> dict[str, str]:
        """The SQLite settings in force on the store's connections, as SQLite reports
        them (journal_mode, synchronous: 2 = FULL, foreign_keys, busy_timeout, and the
        page cache's cache_size: negative = KiB)."""
        with self._read() as connection:
            return {
                name: str(connection.execute(f"PRAGMA {name}").fetchone()[0])
                for name in (
                    "journal_mode", "synchronous", "foreign_keys", "busy_timeout", "cache_size"
                )
            }

    def close(self) -> None:
        self._pool.close()

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
