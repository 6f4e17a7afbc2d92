"""The pure rules of ratings ingest: which items a kiosk may send, how an item is
fingerprinted, and how its time is corrected. No database, no clock."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import TypeAdapter, ValidationError
from pydantic_core import to_json

from hailong.i18n import _
from hailong.sync.wire import FEEDBACK_FIELDS, Batch, ItemResult, RatingItem

# One uploaded item after validation: the item, or the rejection of an invalid one.
Entry = RatingItem | ItemResult


@dataclass(frozen=True)
class KioskScope:
    """What a kiosk may rate: its own counter and the officers of that counter's unit."""

    counter_id: int
    officer_ids: frozenset[int]


# What the database columns hold: BIGINT, and VARCHAR(64) for the box serial.
MAX_BIGINT = 2**63 - 1
MAX_BOX_SERIAL = 64
# A boot older than this is not believed: the time stays the kiosk's, unverified.
MAX_BOOT_AGE = timedelta(days=3660)
_MAX_BOOT_AGE_MS = MAX_BOOT_AGE // timedelta(milliseconds=1)


def _storage_problem(item: RatingItem) -> str | None:
    for name in ("kiosk_seq", "monotonic_ms", "box_boot_nonce", "box_seq"):
        value = getattr(item, name)
        if value is not None and not -MAX_BIGINT - 1 <= value <= MAX_BIGINT:
            return _("{field} is out of range").format(field=name)
    if item.wall_time.tzinfo is None:
        return _("wall_time has no time zone")
    try:
        item.wall_time.astimezone(UTC)
    except OverflowError:
        return _("wall_time is out of range")
    serial = item.box_serial
    if serial is not None and (len(serial) > MAX_BOX_SERIAL or not serial.isprintable()):
        return _("box_serial must be at most {n} printable characters").format(n=MAX_BOX_SERIAL)
    if item.comment is not None and not _storable_text(item.comment):
        return _("comment must be text without NUL characters or lone surrogates")
    return None


def _storable_text(text: str) -> bool:
    """Whether PostgreSQL can hold `text`: UTF-8 without NUL."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def item_problem(item: RatingItem, scope: KioskScope) -> str | None:
    """Why this kiosk may not send `item`, or None when it may."""
    storage = _storage_problem(item)
    if storage is not None:
        return storage
    if item.counter_id != scope.counter_id:
        return _("counter {counter} is not this kiosk's counter ({own})").format(
            counter=item.counter_id, own=scope.counter_id
        )
    if item.officer_id is not None and item.officer_id not in scope.officer_ids:
        return _("officer {officer} does not work in the unit of this kiosk's counter").format(
            officer=item.officer_id
        )
    if item.button > item.scale_size:
        return _("button {button} does not exist on a scale of {size} levels").format(
            button=item.button, size=item.scale_size
        )
    return None


# The item's fields in the canonical JSON's key order, read straight from the model's
# `__dict__`: content_hash runs for every uploaded item, and building the dict through
# `model_dump` and the text through `json` cost twice what the serialisation below does.
_HASHED_FIELDS = tuple(sorted(RatingItem.model_fields))
_FEEDBACK_DEFAULTS = tuple(
    (name, RatingItem.model_fields[name].default) for name in FEEDBACK_FIELDS
)
_DATETIME = TypeAdapter(datetime)


def content_hash(item: RatingItem) -> str:
    """sha256 of the item's canonical JSON: equal for a resend of the same rating,
    different as soon as any field differs.

    The canonical JSON is what the first release hashed, byte for byte (stored
    ratings keep their hash): the item's JSON form with sorted keys, no blanks and
    no ASCII escaping, the feedback fields left out while they hold their defaults,
    `wall_time` in UTC as `isoformat` gives it, and the flags sorted without repeats.
    """
    fields = item.__dict__
    data = {name: fields[name] for name in _HASHED_FIELDS}
    for name, default in _FEEDBACK_DEFAULTS:
        if data[name] == default:
            del data[name]
    wall_time = data["wall_time"]
    data["wall_time"] = (
        wall_time.astimezone(UTC).isoformat()
        if wall_time.tzinfo is not None
        else _DATETIME.dump_python(wall_time, mode="json")
    )
    if data["flags"]:
        data["flags"] = sorted(set(data["flags"]))
    return hashlib.sha256(to_json(data)).hexdigest()


def corrected_time(
    item: RatingItem, batch_boot_id: UUID, sent_monotonic_ms: int, received_at: datetime
) -> tuple[datetime, bool]:
    """(time the scores use, whether it was verified against the server's clock).

    A rating stored during the boot that sent the batch is placed at
    `received_at − (sent_monotonic − item_monotonic)`: the monotonic clock is
    immune to a wrong or jumping wall clock. Any other rating keeps the kiosk's
    wall time, unverified.
    """
    age_ms = sent_monotonic_ms - item.monotonic_ms
    if 0 <= age_ms <= _MAX_BOOT_AGE_MS and item.boot_id == batch_boot_id:
        return received_at - timedelta(milliseconds=age_ms), True
    return item.wall_time.astimezone(UTC), False


def _reason(errors: Sequence[Any]) -> str:
    parts = []
    for error in errors:
        field = ".".join(str(part) for part in error["loc"][2:]) or _("item")
        parts.append(f"{field}: {error['msg']}")
    return "; ".join(parts)


class TooManyItems(Exception):
    """A batch with more items than the server takes at once."""

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(f"{count} items, at most {limit}")
        self.count = count
        self.limit = limit


def parse_batch_json(raw: bytes, max_items: int) -> tuple[Batch, list[Entry]]:
    """`parse_batch` of an upload's body. A valid batch is validated straight from the
    bytes, without a Python object per JSON value on the way; only a batch that fails
    is decoded and gone through item by item. Raises TooManyItems, ValidationError,
    or ValueError for a body that is not JSON (pydantic's own error would carry the
    undecodable bytes into the answer)."""
    try:
        batch = Batch.model_validate_json(raw)
    except ValidationError:
        try:
            payload = json.loads(raw)
        except RecursionError:
            raise ValueError("the JSON is nested too deeply") from None
        items = payload.get("items") if isinstance(payload, dict) else None
        if isinstance(items, list) and len(items) > max_items:
            raise TooManyItems(len(items), max_items) from None
        return parse_batch(payload)
    if len(batch.items) > max_items:
        raise TooManyItems(len(batch.items), max_items)
    return batch, list(batch.items)


def parse_batch(payload: Any) -> tuple[Batch, list[Entry]]:
    """Validate an uploaded batch item by item.

    An item that fails validation but carries a readable id is rejected alone, so
    one bad item (say, a flag a newer kiosk knows and this server does not) never
    blocks the rest. Anything else wrong raises the ValidationError.
    """
    try:
        batch = Batch.model_validate(payload)
    except ValidationError as exc:
        bad: dict[int, list[Any]] = {}
        for error in exc.errors():
            loc = error["loc"]
            if len(loc) < 2 or loc[0] != "items" or not isinstance(loc[1], int):
                raise
            bad.setdefault(loc[1], []).append(error)
        raw_items = payload["items"]
        rejected: dict[int, ItemResult] = {}
        for index, errors in bad.items():
            raw = raw_items[index]
            try:
                item_id = UUID(str(raw["id"]))
            except (KeyError, TypeError, ValueError):
                raise exc from None
            rejected[index] = ItemResult(id=item_id, status="rejected", reason=_reason(errors))
        good = [raw for index, raw in enumerate(raw_items) if index not in rejected]
        batch = Batch.model_validate({**payload, "items": good})
        valid = iter(batch.items)
        entries: list[Entry] = [
            rejected[index] if index in rejected else next(valid)
            for index in range(len(raw_items))
        ]
        return batch, entries
    return batch, list(batch.items)
