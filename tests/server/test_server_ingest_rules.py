"""The pure ingest rules: scope checks, content fingerprints, time correction and
item-by-item validation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from hailong.sync.server.ingest_rules import (
    KioskScope,
    content_hash,
    corrected_time,
    item_problem,
    parse_batch,
)
from hailong.sync.wire import ItemResult, RatingItem

BOOT = uuid.uuid4()
RECEIVED = datetime(2026, 3, 2, 8, 0, 0, tzinfo=UTC)


def raw_item(**fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "kiosk_seq": 1,
        "counter_id": 7,
        "officer_id": 3,
        "button": 2,
        "scale_size": 4,
        "sipas_level": 4,
        "source": "box",
        "flags": [],
        "boot_id": str(BOOT),
        "monotonic_ms": 50_000,
        "wall_time": "2026-03-02T07:59:00+00:00",
        "clock_trusted": True,
    }
    values.update(fields)
    return values


def item(**fields: Any) -> RatingItem:
    return RatingItem.model_validate(raw_item(**fields))


# What `content_hash` gave for `item(id=...)` below before ratings carried feedback.
FIRST_RELEASE_HASH = "615d1ccb0acce967835aa489a1d27aa18bd56ee4ab8a5aea62d95da8a12f15c8"
SCOPE = KioskScope(counter_id=7, officer_ids=frozenset({3, 4}))


def test_an_item_of_this_kiosk_has_no_problem() -> None:
    assert item_problem(item(), SCOPE) is None
    assert item_problem(item(officer_id=None), SCOPE) is None


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"counter_id": 8}, "counter 8"),
        ({"officer_id": 99}, "officer 99"),
        ({"button": 4, "scale_size": 3}, "button 4"),
        ({"wall_time": "2026-03-02T07:59:00"}, "time zone"),
    ],
)
def test_an_item_outside_the_kiosk_scope_is_explained(fields: dict[str, Any], words: str) -> None:
    problem = item_problem(item(**fields), SCOPE)
    assert problem is not None and words in problem


def test_the_content_hash_is_stable_for_a_resend_and_changes_with_any_field() -> None:
    first = raw_item(flags=["too_soon", "outside_hours"])
    same = dict(first, flags=["outside_hours", "too_soon"],
                wall_time="2026-03-02T14:59:00+07:00")  # the same instant, other offset
    assert content_hash(RatingItem.model_validate(first)) == content_hash(
        RatingItem.model_validate(same)
    )
    for change in ({"sipas_level": 5}, {"officer_id": 4}, {"monotonic_ms": 50_001},
                   {"box_seq": 12}, {"flags": []}):
        other = RatingItem.model_validate(dict(first, **change))
        assert content_hash(other) != content_hash(RatingItem.model_validate(first)), change


def test_an_item_from_the_sending_boot_is_placed_by_the_server_clock() -> None:
    # The kiosk's wall clock says 1970; its monotonic clock says the press was 90 s
    # before the batch was sent.
    wrong_clock = item(monotonic_ms=10_000, wall_time="1970-01-01T00:00:10+00:00")
    when, verified = corrected_time(wrong_clock, BOOT, 100_000, RECEIVED)
    assert verified is True
    assert when == RECEIVED - timedelta(seconds=90)


def test_an_item_from_another_boot_keeps_its_wall_time_unverified() -> None:
    earlier_boot = item(boot_id=str(uuid.uuid4()),
                        wall_time="2026-03-01T16:00:00+07:00")
    when, verified = corrected_time(earlier_boot, BOOT, 100_000, RECEIVED)
    assert verified is False
    assert when == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert when.tzinfo is not None


def test_an_item_from_after_the_send_time_cannot_be_verified() -> None:
    impossible = item(monotonic_ms=200_000)
    assert corrected_time(impossible, BOOT, 100_000, RECEIVED)[1] is False


def envelope(items: list[Any]) -> dict[str, Any]:
    return {
        "sent_wall_time": "2026-03-02T08:00:00+00:00",
        "sent_monotonic_ms": 100_000,
        "boot_id": str(BOOT),
        "items": items,
    }


def test_a_batch_with_one_unknown_flag_rejects_that_item_only() -> None:
    good_a, bad, good_b = raw_item(kiosk_seq=1), raw_item(kiosk_seq=2), raw_item(kiosk_seq=3)
    bad["flags"] = ["from_a_newer_kiosk"]
    batch, entries = parse_batch(envelope([good_a, bad, good_b]))
    assert [e.id for e in batch.items] == [uuid.UUID(good_a["id"]), uuid.UUID(good_b["id"])]
    assert isinstance(entries[0], RatingItem) and isinstance(entries[2], RatingItem)
    rejected = entries[1]
    assert isinstance(rejected, ItemResult)
    assert rejected.status == "rejected" and rejected.id == uuid.UUID(bad["id"])
    assert rejected.reason is not None and "flags" in rejected.reason


@pytest.mark.parametrize(
    "payload",
    [
        envelope([raw_item(id="not-a-uuid")]),  # no id to report the item under
        envelope([42]),
        dict(envelope([raw_item()]), boot_id="nope"),  # the envelope itself is wrong
        dict(envelope([raw_item()]), kiosk_id=5),  # identity never comes from the body
        {"items": "many"},
    ],
)
def test_a_batch_that_cannot_be_answered_item_by_item_is_invalid(payload: Any) -> None:
    with pytest.raises(ValidationError):
        parse_batch(payload)


def test_a_valid_batch_parses_whole() -> None:
    items = [raw_item(kiosk_seq=n) for n in (1, 2)]
    batch, entries = parse_batch(envelope(items))
    assert entries == batch.items and len(entries) == 2
    assert batch.sent_wall_time.utcoffset() == timedelta(0)


def test_the_fingerprint_of_a_rating_without_feedback_is_what_it_was_before_feedback() -> None:
    # Frozen: the sha256 the first release computed for this exact item. A kiosk that
    # resends it after an upgrade must get "duplicate", not "conflict".
    frozen = item(
        id="1c7e2b4a-0d5f-4e8a-9b3c-2f6d8e1a7c45", boot_id="7b1f0e2c-5a4d-4c3b-8e9f-0a1b2c3d4e5f"
    )
    assert content_hash(frozen) == FIRST_RELEASE_HASH


def test_feedback_is_part_of_the_fingerprint() -> None:
    base = raw_item()
    with_reason = item(**base, reason="late_result")
    assert content_hash(with_reason) != content_hash(item(**base))
    assert content_hash(item(**base, reason="late_result", comment="Chậm")) != content_hash(
        with_reason
    )


def test_a_phone_number_without_consent_is_rejected_alone() -> None:
    good = raw_item()
    bad = raw_item(callback_phone="0912345678")
    _batch, entries = parse_batch(
        {"sent_wall_time": "2026-03-02T08:00:00+00:00", "sent_monotonic_ms": 60_000,
         "boot_id": str(BOOT), "items": [good, bad]}
    )
    assert isinstance(entries[0], RatingItem)
    assert isinstance(entries[1], ItemResult) and "consent" in (entries[1].reason or "")
