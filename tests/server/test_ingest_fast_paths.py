"""The ingest's fast paths give what the plain ones gave: the content hash of the
first release, the answer `BatchResult` would write, the batch `parse_batch` would
read, and on PostgreSQL the same verdicts whether a batch goes straight in or
through the staging table."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from server_harness import RatingMaker, RunningServer, enroll, make_org, statuses, upload
from sqlalchemy import select

from hailong.config.reasons import REASON_CODES
from hailong.sync.server.ingest import Verdict
from hailong.sync.server.ingest_rules import (
    TooManyItems,
    content_hash,
    parse_batch,
    parse_batch_json,
)
from hailong.sync.server.models import Rating
from hailong.sync.wire import (
    FEEDBACK_FIELDS,
    BatchResult,
    ItemResult,
    RatingItem,
    batch_result_json,
)

# The first release's content_hash, kept here as the reference the fast one must match.
_REFERENCE_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def reference_hash(item: RatingItem) -> str:
    data = item.model_dump(mode="json")
    for name in FEEDBACK_FIELDS:
        if data[name] == RatingItem.model_fields[name].default:
            del data[name]
    if item.wall_time.tzinfo is not None:
        data["wall_time"] = item.wall_time.astimezone(UTC).isoformat()
    data["flags"] = sorted(set(item.flags))
    return hashlib.sha256(_REFERENCE_JSON.encode(data).encode("utf-8")).hexdigest()


big = st.integers(min_value=-(2**70), max_value=2**70)
maybe_text = st.none() | st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
offsets = st.sampled_from([None, UTC, timezone(timedelta(hours=7)), timezone(-timedelta(hours=3))])


@st.composite
def items(draw: st.DrawFn) -> RatingItem:
    wall = draw(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1)))
    consent = draw(st.booleans())
    return RatingItem(
        id=draw(st.uuids()),
        kiosk_seq=draw(st.integers(min_value=1, max_value=2**70)),
        counter_id=draw(big),
        officer_id=draw(st.none() | big),
        button=draw(st.integers(1, 5)),
        scale_size=draw(st.integers(2, 5)),
        sipas_level=draw(st.integers(1, 5)),
        source=draw(st.sampled_from(["box", "touch"])),
        flags=draw(st.lists(st.sampled_from(["too_soon", "no_officer", "outside_hours"]))),
        boot_id=draw(st.uuids()),
        monotonic_ms=draw(st.integers(min_value=0, max_value=2**70)),
        wall_time=wall.replace(tzinfo=draw(offsets)),
        clock_trusted=draw(st.booleans()),
        box_serial=draw(maybe_text),
        box_boot_nonce=draw(st.none() | big),
        box_seq=draw(st.none() | big),
        reason=draw(st.none() | st.sampled_from(REASON_CODES)),
        comment=draw(maybe_text),
        callback_phone=draw(st.sampled_from([None, "0912345678"])) if consent else None,
        phone_consent=consent,
    )


@settings(max_examples=300, deadline=None)
@given(items())
def test_the_content_hash_is_the_first_release_hash_for_any_item(item: RatingItem) -> None:
    assert content_hash(item) == reference_hash(item)


def test_the_content_hash_of_odd_text_is_the_first_release_hash() -> None:
    odd = "".join(chr(c) for c in range(0x80)) + "\u2028\u2029 Chờ lâu 😀 \ufeff"
    item = RatingItem.model_validate({
        "id": str(uuid.uuid4()), "kiosk_seq": 1, "counter_id": 1, "officer_id": None,
        "button": 1, "scale_size": 4, "sipas_level": 5, "source": "box",
        "flags": ["too_soon", "too_soon"], "boot_id": str(uuid.uuid4()), "monotonic_ms": 0,
        "wall_time": "2026-03-02T07:59:00.000001-01:30", "clock_trusted": False,
        "box_serial": odd, "comment": odd,
    })
    assert content_hash(item) == reference_hash(item)


@pytest.mark.parametrize(
    "results",
    [
        [],
        [Verdict(uuid.uuid4(), "accepted")],
        [
            Verdict(uuid.uuid4(), "accepted"),
            Verdict(uuid.uuid4(), "duplicate"),
            Verdict(uuid.uuid4(), "conflict", "số thứ tự 7 đã dùng \"rồi\" \\ \n\t\x01"),
            Verdict(uuid.uuid4(), "rejected", "officer 9 😀 \u2028"),
        ],
    ],
)
def test_the_answer_is_what_the_batch_result_model_writes(results: list[Verdict]) -> None:
    model = BatchResult(results=[ItemResult(id=r.id, status=r.status, reason=r.reason)
                                 for r in results])
    assert batch_result_json(results) == model.model_dump_json().encode()
    assert BatchResult.model_validate_json(batch_result_json(results)) == model


def raw_item(seq: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()), "kiosk_seq": seq, "counter_id": 7, "officer_id": 3,
        "button": 2, "scale_size": 4, "sipas_level": 4, "source": "box", "flags": [],
        "boot_id": str(uuid.uuid4()), "monotonic_ms": 50_000,
        "wall_time": "2026-03-02T07:59:00+07:00", "clock_trusted": True, **fields,
    }


def envelope(raw_items: list[Any]) -> dict[str, Any]:
    return {"sent_wall_time": "2026-03-02T08:00:00Z", "sent_monotonic_ms": 100_000,
            "boot_id": str(uuid.uuid4()), "items": raw_items}


@pytest.mark.parametrize(
    "payload",
    [
        envelope([raw_item(1), raw_item(2, reason="late_result", comment="Chậm")]),
        envelope([raw_item(1), raw_item(2, flags=["from_a_newer_kiosk"]), raw_item(3)]),
        envelope([]),
    ],
)
def test_reading_the_body_as_bytes_gives_what_parse_batch_gives(payload: Any) -> None:
    assert parse_batch_json(json.dumps(payload).encode(), 10) == parse_batch(payload)


def test_a_body_that_cannot_be_read_raises_what_the_route_turns_into_4xx() -> None:
    for not_json in (b'{"items": [', b"[" * 100_000, b'"\xb6\xe9\x1b]'):
        with pytest.raises(ValueError) as invalid:
            parse_batch_json(not_json, 10)
        assert not isinstance(invalid.value, ValidationError)
    with pytest.raises(ValidationError):
        parse_batch_json(json.dumps(envelope([raw_item(1, id="no")])).encode(), 10)
    for body in (envelope([raw_item(n) for n in range(1, 4)]),
                 envelope([raw_item(1), raw_item(2, button="x"), raw_item(3)])):
        with pytest.raises(TooManyItems) as many:
            parse_batch_json(json.dumps(body).encode(), 2)
        assert (many.value.count, many.value.limit) == (3, 2)


def test_a_batch_mixing_new_stored_and_clashing_ratings_gets_every_verdict(
    server: RunningServer,
) -> None:
    # On PostgreSQL the first upload goes straight in by COPY; the second clashes and
    # takes the staging table. The verdicts must not depend on the path.
    place = make_org(server.sessions)
    kiosk = enroll(server, place.counter_ids[0])
    maker = RatingMaker(kiosk.counter_id)
    officer = place.officer_ids[0]
    first = [maker.item(officer, level) for level in (5, 4, 1)]
    assert statuses(upload(server, kiosk, maker.batch(first))) == ["accepted"] * 3

    fresh = maker.item(officer, 3)
    changed = dict(first[1], sipas_level=5, button=1)
    rival = dict(maker.item(officer, 2), kiosk_seq=first[2]["kiosk_seq"])
    later = maker.item(officer, 5, reason="harassment_or_payment")
    answer = upload(server, kiosk, maker.batch([first[0], fresh, changed, rival, later, fresh]))

    assert statuses(answer) == [
        "duplicate", "accepted", "conflict", "conflict", "accepted", "duplicate"
    ]
    assert [r["id"] for r in answer.json()["results"]] == [
        i["id"] for i in (first[0], fresh, changed, rival, later, fresh)
    ]


def test_text_the_database_cannot_hold_is_rejected_alone(server: RunningServer) -> None:
    place = make_org(server.sessions)
    kiosk = enroll(server, place.counter_ids[0])
    maker = RatingMaker(kiosk.counter_id)
    officer = place.officer_ids[0]
    nul = maker.item(officer, 1, reason="other", comment="chờ\x00lâu")
    good = maker.item(officer, 5)
    answer = upload(server, kiosk, maker.batch([nul, good]))
    assert statuses(answer) == ["rejected", "accepted"]
    assert "comment" in answer.json()["results"][0]["reason"]
    # JSON may escape half a surrogate pair; Python reads it, no database stores it.
    lone = json.dumps(maker.batch([maker.item(officer, 1, reason="other", comment="x")]))
    answer = server.http().post(
        "/api/v1/ratings/batches", data=lone.replace('"x"', '"\\ud800"').encode(),
        headers={**kiosk.headers, "Content-Type": "application/json"},
    )
    assert statuses(answer) == ["rejected"]


def test_stored_values_compare_as_sqlalchemy_writes_them(server: RunningServer) -> None:
    # SQLite keeps times as text: one written without its zero fraction of a second
    # would not equal, or sort with, the same time written by SQLAlchemy.
    place = make_org(server.sessions)
    kiosk = enroll(server, place.counter_ids[0])
    maker = RatingMaker(kiosk.counter_id)
    whole_second = datetime(2026, 1, 2, 8, 0, tzinfo=UTC)
    other_boot = uuid.uuid4()
    item = maker.item(place.officer_ids[0], 4, wall_time=whole_second, boot_id=str(other_boot))
    assert statuses(upload(server, kiosk, maker.batch([item]))) == ["accepted"]

    with server.sessions() as session:
        found = session.scalars(
            select(Rating.id).where(
                Rating.wall_time == whole_second,
                Rating.corrected_time == whole_second,
                Rating.boot_id == other_boot,
                Rating.kiosk_id == kiosk.kiosk_id,
                Rating.time_verified.is_(False),
                Rating.flagged.is_(False),
            )
        ).all()
    assert found == [uuid.UUID(item["id"])]


@pytest.mark.parametrize("body", [b"[" * 50_000, b'"\xb6\xe9\xeb\xfe\x1b]\xee\''])
def test_bodies_nested_too_deep_or_not_utf8_are_client_errors(
    server: RunningServer, body: bytes
) -> None:
    place = make_org(server.sessions, officers=1)
    kiosk = enroll(server, place.counter_ids[0])
    answer = server.http().post(
        "/api/v1/ratings/batches", data=body,
        headers={**kiosk.headers, "Content-Type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
