"""The ratings export: filtered, scoped to the caller's units, and paged by a
stable cursor.

Pages follow (server_received_at, id): ratings that arrive later sort after the
ones already exported, so a consumer can keep the last cursor and ask again later
for what came since. The cursor is that pair, opaque to the client.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from hailong.sync.server import tables
from hailong.sync.server.models import Counter, Officer, Rating
from hailong.sync.wire import ExportedRating

PAGE_LIMIT = 1000
MAX_PAGE_LIMIT = 10_000
CSV_CHUNK = 1000
CSV_COLUMNS = tuple(ExportedRating.model_fields)


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True)
class Cursor:
    received_at: datetime
    id: UUID

    def encode(self) -> str:
        raw = f"{self.received_at.isoformat()}|{self.id}".encode("ascii")
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
            when, rating_id = raw.split("|")
            received_at = datetime.fromisoformat(when)
            if received_at.tzinfo is None:
                raise ValueError("the cursor's time has no time zone")
            return cls(received_at.astimezone(UTC), UUID(rating_id))
        except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError) as error:
            raise InvalidCursor(str(error)) from None


@dataclass(frozen=True)
class ExportFilter:
    """[start, end) on the corrected time; `unit_ids` None means every unit."""

    unit_ids: frozenset[int] | None = None
    start: datetime | None = None
    end: datetime | None = None
    officer_id: int | None = None
    counter_id: int | None = None


_COLUMNS = (
    Rating.id, Rating.kiosk_id, Rating.kiosk_seq, Counter.unit_id, Rating.counter_id,
    Counter.name, Rating.officer_id, Officer.name, Rating.button, Rating.scale_size,
    Rating.sipas_level, Rating.source, Rating.flags, Rating.wall_time, Rating.clock_trusted,
    Rating.corrected_time, Rating.time_verified, Rating.server_received_at, Rating.reason,
    Rating.comment, Rating.callback_phone, Rating.phone_consent,
)


def _query(where: ExportFilter, after: Cursor | None) -> Select[Any]:
    query = (
        select(*_COLUMNS)
        .join(Counter, Counter.id == Rating.counter_id)
        .outerjoin(Officer, Officer.id == Rating.officer_id)
        .order_by(Rating.server_received_at, Rating.id)
    )
    if where.unit_ids is not None:
        query = query.where(Counter.unit_id.in_(sorted(where.unit_ids)))
    if where.start is not None:
        query = query.where(Rating.corrected_time >= where.start)
    if where.end is not None:
        query = query.where(Rating.corrected_time < where.end)
    if where.officer_id is not None:
        query = query.where(Rating.officer_id == where.officer_id)
    if where.counter_id is not None:
        query = query.where(Rating.counter_id == where.counter_id)
    if after is not None:
        query = query.where(
            or_(
                Rating.server_received_at > after.received_at,
                and_(Rating.server_received_at == after.received_at, Rating.id > after.id),
            )
        )
    return query


def _exported(row: Any) -> ExportedRating:
    (rating_id, kiosk_id, kiosk_seq, unit_id, counter_id, counter_name, officer_id,
     officer_name, button, scale_size, sipas_level, source, flags, wall_time, clock_trusted,
     corrected_time, time_verified, received_at, reason, comment, callback_phone,
     phone_consent) = row
    return ExportedRating(
        id=rating_id, kiosk_id=kiosk_id, kiosk_seq=kiosk_seq, unit_id=unit_id,
        counter_id=counter_id, counter_name=counter_name, officer_id=officer_id,
        officer_name=officer_name, button=button, scale_size=scale_size,
        sipas_level=sipas_level, source=source, flags=json.loads(flags), wall_time=wall_time,
        clock_trusted=clock_trusted, corrected_time=corrected_time,
        time_verified=time_verified, server_received_at=received_at, reason=reason,
        comment=comment, callback_phone=callback_phone, phone_consent=phone_consent,
    )


def _key(rating: ExportedRating) -> Cursor:
    return Cursor(rating.server_received_at.astimezone(UTC), rating.id)


def page(
    session: Session, where: ExportFilter, after: Cursor | None, limit: int
) -> tuple[list[ExportedRating], Cursor | None]:
    """Up to `limit` ratings after `after`, and the cursor of the next page (None
    when this one reaches the end)."""
    rows = session.execute(_query(where, after).limit(limit + 1)).all()
    items = [_exported(row) for row in rows[:limit]]
    return items, (_key(items[-1]) if len(rows) > limit else None)


def page_end(
    session: Session, where: ExportFilter, after: Cursor | None, limit: int
) -> tuple[Cursor | None, bool]:
    """The key of the last rating of a page of `limit` after `after` (None when
    there is none), and whether more ratings follow it."""
    keys = _query(where, after).with_only_columns(Rating.server_received_at, Rating.id)
    rows = session.execute(keys.limit(limit + 1)).all()
    if not rows:
        return None, False
    received_at, rating_id = rows[min(limit, len(rows)) - 1]
    return Cursor(received_at, rating_id), len(rows) > limit


def csv_header() -> str:
    """The column names, after a byte-order mark: spreadsheets then read the
    Vietnamese names as UTF-8."""
    return tables.BOM + tables.csv_line(CSV_COLUMNS)


def csv_stream(
    open_session: Callable[[], Session],
    where: ExportFilter,
    after: Cursor | None,
    last: Cursor | None,
) -> Iterator[str]:
    """The CSV text of every rating after `after`, up to and including `last`
    (None: to the end), read in chunks with a short-lived session for each so no
    transaction stays open while the client reads."""
    yield csv_header()
    position = after
    while True:
        with open_session() as session:
            query = _query(where, position)
            if last is not None:
                query = query.where(
                    or_(
                        Rating.server_received_at < last.received_at,
                        and_(Rating.server_received_at == last.received_at, Rating.id <= last.id),
                    )
                )
            rows = session.execute(query.limit(CSV_CHUNK)).all()
        if not rows:
            return
        items = [_exported(row) for row in rows]
        yield "".join(tables.csv_line(item.model_dump(mode="json").values()) for item in items)
        if len(rows) < CSV_CHUNK:
            return
        position = _key(items[-1])
