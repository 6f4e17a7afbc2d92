"""What kiosk and server say to each other over HTTP (API v1).

Both ends import these models, so a field cannot drift between them. Times are
timezone-aware UTC; ids are UUIDs made on the kiosk when a rating is stored and
kept across every retry (the idempotency key).
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import to_json

from hailong.config.reasons import ReasonCode
from hailong.config.settings import KioskPolicy

API_PREFIX = "/api/v1"

Source = Literal["box", "touch"]
ItemStatus = Literal["accepted", "duplicate", "conflict", "rejected"]
Flag = Literal["too_soon", "no_officer", "outside_hours"]
BoxStatus = Literal["connected", "connecting", "disconnected", "disabled"]
# Derived by the server from the time of the last heartbeat.
KioskState = Literal["new", "online", "late", "offline", "revoked"]


MAX_COMMENT = 1000
# Vietnamese numbers: 10 digits from 0, or +84 and 9 digits; spaces are dropped before.
PHONE_PATTERN = r"^(0[0-9]{9}|\+84[0-9]{9})$"


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RatingItem(_Wire):
    """One rating as the kiosk stored it."""

    id: UUID
    kiosk_seq: Annotated[int, Field(ge=1)]
    counter_id: int
    officer_id: int | None
    button: Annotated[int, Field(ge=1, le=5)]
    scale_size: Annotated[int, Field(ge=2, le=5)]
    sipas_level: Annotated[int, Field(ge=1, le=5)]
    source: Source
    flags: list[Flag] = []
    boot_id: UUID
    monotonic_ms: Annotated[int, Field(ge=0)]
    wall_time: datetime
    clock_trusted: bool
    # Where a press came from on the box: de-duplication key (serial, boot nonce, sequence).
    box_serial: str | None = None
    box_boot_nonce: int | None = None
    box_seq: int | None = None
    # What the citizen added after a low rating; all optional, a phone number only
    # with the citizen's explicit consent to be called back.
    reason: ReasonCode | None = None
    comment: Annotated[str, Field(max_length=MAX_COMMENT)] | None = None
    callback_phone: Annotated[str, Field(pattern=PHONE_PATTERN)] | None = None
    phone_consent: bool = False

    @field_validator("comment")
    @classmethod
    def _comment_nfc(cls, text: str | None) -> str | None:
        return unicodedata.normalize("NFC", text) if text is not None else None

    @model_validator(mode="after")
    def _phone_needs_consent(self) -> RatingItem:
        if self.callback_phone is not None and not self.phone_consent:
            raise ValueError("callback_phone is only sent with phone_consent")
        return self


# Fields added after the first release: left out of an item's fingerprint while they
# hold their default, so a rating stored before they existed still fingerprints the same.
FEEDBACK_FIELDS = ("reason", "comment", "callback_phone", "phone_consent")


class Batch(_Wire):
    """An upload. `sent_*` is the kiosk's clock when it sent the batch, so the server
    can correct the times of ratings from the same boot."""

    sent_wall_time: datetime
    sent_monotonic_ms: Annotated[int, Field(ge=0)]
    boot_id: UUID
    items: list[RatingItem]


class ItemResult(_Wire):
    id: UUID
    status: ItemStatus
    reason: str | None = None


class BatchResult(_Wire):
    results: list[ItemResult]


_ITEM_RESULT_FIELDS = tuple(ItemResult.model_fields)


def batch_result_json(results: Iterable[tuple[UUID, ItemStatus, str | None]]) -> bytes:
    """The JSON of a `BatchResult` holding these results (`ItemResult`'s fields in
    its order), byte for byte what `model_dump_json` gives, without building and
    validating a model per item: the server answers a thousand at a time."""
    return to_json(
        {"results": [dict(zip(_ITEM_RESULT_FIELDS, result, strict=True)) for result in results]}
    )


class EnrollRequest(_Wire):
    code: Annotated[str, Field(min_length=4, max_length=64)]
    app_version: str
    hostname: str = ""


class Officer(_Wire):
    id: int
    name: str
    title: str
    photo_url: str | None = None
    # Argon2id hash of the officer's sign-in PIN, and sha256 (hex) of the code on
    # their badge; None when not set (that way of signing in is then unavailable).
    pin_hash: str | None = None
    badge_hash: str | None = None


def badge_digest(code: str) -> str:
    """What the server keeps of a badge's code and the kiosk compares: sha256 (hex) of
    the code as scanned, surrounding blanks removed."""
    return hashlib.sha256(code.strip().encode("utf-8")).hexdigest()


class Counter(_Wire):
    id: int
    name: str
    unit_name: str


class KioskConfig(_Wire):
    """What a kiosk pulls from the server: where it stands and who works there."""

    kiosk_id: int
    counter: Counter
    officers: list[Officer]
    # The unit's scale, reasons, texts and opening hours; None from an older server.
    policy: KioskPolicy | None = None


class EnrollResponse(_Wire):
    kiosk_id: int
    token: str
    config: KioskConfig


class Score(_Wire):
    """An officer's score over a period, by both official formulas.

    `sipas_index`: (Hài lòng + Rất hài lòng) / valid ratings × 100 (SIPAS levels 4–5).
    `decision766_rate`: (valid ratings − not satisfied) / valid ratings × 100, where
    not satisfied is SIPAS level 1–2 (Bình thường is not a negative here).
    Flagged ratings are counted apart and left out of both.
    """

    officer_id: int
    officer_name: str
    ratings: int
    valid: int
    flagged: int
    by_sipas_level: dict[int, int]
    sipas_index: float | None
    decision766_rate: float | None
    period_start: datetime | None = None
    period_end: datetime | None = None


class Heartbeat(_Wire):
    """What a kiosk says about itself between uploads. `sent_wall_time` is its
    clock when sending, so the server can tell how far off that clock is."""

    sent_wall_time: AwareDatetime
    app_version: Annotated[str, Field(max_length=64)]
    box_status: BoxStatus
    box_firmware: Annotated[str, Field(max_length=64)] = ""
    # Ratings stored on the kiosk and not yet accepted by the server.
    backlog: Annotated[int, Field(ge=0, le=2**62)]


class HeartbeatAck(_Wire):
    server_time: datetime
    # The kiosk's clock minus the server's, in milliseconds.
    clock_skew_ms: int


class KioskStatus(_Wire):
    """One kiosk in the fleet listing. `missing` counts the sequence numbers below
    `last_seq` the server never stored."""

    id: int
    counter_id: int
    counter_name: str
    unit_id: int
    unit_name: str
    hostname: str
    app_version: str
    enrolled_at: datetime
    state: KioskState
    last_seen_at: datetime | None
    last_heartbeat_at: datetime | None
    box_status: BoxStatus | None
    box_firmware: str | None
    backlog: int | None
    clock_skew_ms: int | None
    last_seq: int
    missing: int


class SeqGap(_Wire):
    """Sequence numbers `first`..`last` (inclusive) never stored."""

    first: int
    last: int


class KioskGaps(_Wire):
    kiosk_id: int
    last_seq: int
    missing: int
    gaps: list[SeqGap]
    # More gaps exist than were listed; ask again from after the last one.
    truncated: bool


class ExportedRating(_Wire):
    """A stored rating as the export gives it."""

    id: UUID
    kiosk_id: int
    kiosk_seq: int
    unit_id: int
    counter_id: int
    counter_name: str
    officer_id: int | None
    officer_name: str | None
    button: int
    scale_size: int
    sipas_level: int
    source: Source
    flags: list[str]
    wall_time: datetime
    clock_trusted: bool
    corrected_time: datetime
    time_verified: bool
    server_received_at: datetime
    reason: str | None = None
    comment: str | None = None
    callback_phone: str | None = None
    phone_consent: bool = False


class RatingPage(_Wire):
    """One page of the export; pass `next_cursor` back as `cursor` for the next."""

    items: list[ExportedRating]
    next_cursor: str | None
