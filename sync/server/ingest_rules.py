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

from pydantic import ValidationError

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
    return None


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


# Built once: content_hash runs for every uploaded item, and json.dumps with
# non-default options builds a new encoder on each call.
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_FEEDBACK_DEFAULTS = tuple(
    (name, RatingItem.model_fields[name].default) for name in FEEDBACK_FIELDS
)


def content_hash(item: RatingItem) -> str:
    """sha256 of the item's canonical JSON: equal for a resend of the same rating,
    different as soon as any field differs."""
    data = item.model_dump(mode="json")
    for name, default in _FEEDBACK_DEFAULTS:
        if data[name] == default:
            del data[name]
    if item.wall_time.tzinfo is not None:
        data["wall_time"] = item.wall_time.astimezone(UTC).isoformat()
    data["flags"] = sorted(set(item.flags))
    return hashlib.sha256(_CANONICAL_JSON.encode(data).encode("utf-8")).hexdigest()


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
    if item.boot_id == batch_boot_id and 0 <= age_ms <= MAX_BOOT_AGE / timedelta(milliseconds=1):
        return received_at - timedelta(milliseconds=age_ms), True
    return item.wall_time.astimezone(UTC), False


def _reason(errors: Sequence[Any]) -> str:
    parts = []
    for error in errors:
        field = ".".join(str(part) for part in error["loc"][2:]) or _("item")
        parts.append(f"{field}: {error['msg']}")
    return "; ".join(parts)


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
