"""Ratings upload over real HTTP: exactly once, per-item verdicts, limits, time."""

from __future__ import annotations

import gzip
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta

from server_harness import (
    MAX_BATCH_ITEMS,
    MAX_BODY_BYTES,
    RatingMaker,
    RunningServer,
    enroll,
    make_org,
    make_user,
    statuses,
    upload,
)
from sqlalchemy import func, select

from hailong.sync.server.models import Kiosk, Rating
from hailong.sync.wire import API_PREFIX


def stored(server: RunningServer, *ids: str) -> dict[uuid.UUID, Rating]:
    with server.sessions() as session:
        rows = session.scalars(select(Rating).where(Rating.id.in_([uuid.UUID(i) for i in ids])))
        return {row.id: row for row in rows}


def test_a_batch_is_stored_once_and_a_resend_is_reported_duplicate(server: RunningServer) -> None:
    place = make_org(server.sessions)
    kiosk = enroll(server, place.counter_ids[0])
    maker = RatingMaker(kiosk.counter_id)
    items = [maker.item(place.officer_ids[0], level) for level in (5, 4, 3)]
    batch = maker.batch(items)

    assert statuses(upload(server, kiosk, batch)) == ["accepted"] * 3
    # the answer was lost; the kiosk sends the same batch again
    assert statuses(upload(server, kiosk, batch)) == ["duplicate"] * 3
    rows = stored(server, *(i["id"] for i in items))
    assert len(rows) == 3
    assert {r.kiosk_id for r in rows.values()} == {kiosk.kiosk_id}
    with server.sessions() as session:
        assert session.get_one(Kiosk, kiosk.kiosk_id).last_seq == 3


def test_the_same_id_with_other_content_is_a_conflict_and_changes_nothing(
    server: RunningServer,
) -> None:
    place = make_org(server.sessions)
    kiosk = enroll(server, place.counter_ids[0])
    maker = RatingMaker(kiosk.counter_id)
    item = maker.item(place.officer_ids[0], 5)
    assert statuses(upload(server, kiosk, maker.batch([item]))) == ["accepted"]

    changed = dict(item, sipas_level=2, button=4)
    answer = upload(server, kiosk, maker.batch([changed]))
    assert statuses(answer) == ["conflict"]
    assert answer.json()["results"][0]["reason"]
    assert stored(server, item["id"])[uuid.UUID(item["id"])].sipas_level == 5

    # a new id that reuses a taken sequence number is a conflict too
    reused = dict(maker.item(place.officer_ids[0], 4), kiosk_seq=item["kiosk_seq"])
    assert statuses(upload(server, kiosk, maker.batch([reused]))) == ["conflict"]
    assert stored(server, reused["id"]) == {}


def test_an_item_repeated_inside_one_batch_is_stored_once(server: RunningServer) -> None:
    place = make_org(server.sessions)
    kiosk = enroll(server, place.counter_ids[0])
    maker = RatingMaker(kiosk.counter_id)
    item = maker.item(place.officer_ids[0], 4)
    altered = dict(item, sipas_level=3, button=3)
    answer = upload(server, kiosk, maker.batch([item, item, altered]))
    assert statuses(answer) == ["accepted", "duplicate", "conflict"]


def test_a_rejected_item_does_not_block_the_others(server: RunningServer) -> None:
    place = make_org(server.sessions)
    other_unit = make_org(server.sessions)
    kiosk = enroll(server, place.counter_ids[0])
    maker = RatingMaker(kiosk.counter_id)
    items = [
        maker.item(place.officer_ids[0], 5),
        maker.item(other_unit.officer_ids[0], 1),  # an officer of another unit
        maker.item(place.officer_ids[1], 4, counter_id=place.counter_ids[1]),  # not its counter
        maker.item(place.officer_ids[1], 4, flags=["no_such_flag"]),  # fails validation
        maker.item(None, 3),  # no officer signed in: kept
    ]
    answer = upload(server, kiosk, maker.batch(items))
    assert statuses(answer) == ["accepted", "rejected", "rejected", "rejected", "accepted"]
    reasons = [r["reason"] for r in answer.json()["results"]]
    assert f"officer {other_unit.officer_ids[0]}" in reasons[1]
    assert f"counter {place.counter_ids[1]}" in reasons[2]
    assert "flags" in reasons[3]
    assert set(stored(server, *(i["id"] for i in items))) == {
        uuid.UUID(items[0]["id"]), uuid.UUID(items[4]["id"])
    }


def test_the_kiosk_is_the_one_its_token_names(server: RunningServer) -> None:
    place = make_org(server.sessions)
    kiosk_a = enroll(server, place.counter_ids[0])
    kiosk_b = enroll(server, place.counter_ids[1])
    maker_b = RatingMaker(kiosk_b.counter_id)
    # kiosk A's token with kiosk B's counter in the body: refused, not stored as B
    foreign = maker_b.item(place.officer_ids[0], 1)
    assert statuses(upload(server, kiosk_a, maker_b.batch([foreign]))) == ["rejected"]
    # a body naming a kiosk is not a batch at all
    claimed = dict(maker_b.batch([maker_b.item(place.officer_ids[0], 1)]),
                   kiosk_id=kiosk_b.kiosk_id)
    assert upload(server, kiosk_a, claimed).status_code == 422
    # B's own upload of an id that A already used is a conflict, never B's duplicate
    maker_a = RatingMaker(kiosk_a.counter_id)
    item_a = maker_a.item(place.officer_ids[0], 5)
    assert statuses(upload(server, kiosk_a, maker_a.batch([item_a]))) == ["accepted"]
    copy_for_b = dict(item_a, counter_id=kiosk_b.counter_id)
    assert statuses(upload(server, kiosk_b, maker_b.batch([copy_for_b]))) == ["conflict"]
    assert stored(server, item_a["id"])[uuid.UUID(item_a["id"])].kiosk_id == kiosk_a.kiosk_id


def test_uploads_without_a_valid_token_are_unauthorised(server: RunningServer) -> None:
    place = make_org(server.sessions)
    maker = RatingMaker(place.counter_ids[0])
    batch = maker.batch([maker.item(place.officer_ids[0], 5)])
    http = server.http()
    for headers in ({}, {"Authorization": "Bearer " + "x" * 43}):
        answer = http.post(f"{API_PREFIX}/ratings/batches", json=batch, headers=headers)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"


def test_too_large_bodies_and_batches_get_413_and_store_nothing(server: RunningServer) -> None:
    place = make_org(server.sessions)
    kiosk = enroll(server, place.counter_ids[0])
    maker = RatingMaker(kiosk.counter_id)
    padding = "x" * 200
    items = [maker.item(place.officer_ids[0], 4, box_serial=padding[:64]) for _ in range(40)]
    big = maker.batch(items)
    body = json.dumps(big).encode()
    body += b" " * (MAX_BODY_BYTES + 1 - len(body))  # still valid JSON, one byte too many
    answer = server.http().post(
        f"{API_PREFIX}/ratings/batches", data=body,
        headers={**kiosk.headers, "Content-Type": "application/json"},
    )
    assert answer.status_code == 413
    assert str(MAX_BODY_BYTES) in answer.json()["detail"]

    # the same limit holds for a chunked body, which declares no length
    chunks = (body[i : i + 8192] for i in range(0, len(body), 8192))
    answer = server.http().post(
        f"{API_PREFIX}/ratings/batches", data=chunks,
        headers={**kiosk.headers, "Content-Type": "application/json"},
    )
    assert answer.status_code == 413

    many = maker.batch([maker.item(None, 4) for _ in range(MAX_BATCH_ITEMS + 1)])
    answer = upload(server, kiosk, many)
    assert answer.status_code == 413
    assert str(MAX_BATCH_ITEMS) in answer.json()["detail"]
    assert stored(server, *(i["id"] for i in items + many["items"])) == {}


def test_a_gzip_body_is_accepted_and_a_gzip_bomb_is_not(server: RunningServer) -> None:
    place = make_org(server.sessions)
    kiosk = enroll(server, place.counter_ids[0])
    maker = RatingMaker(kiosk.counter_id)
    batch = maker.batch([maker.item(place.officer_ids[0], 5) for _ in range(5)])
    headers = {**kiosk.headers, "Content-Type": "application/json", "Content-Encoding": "gzip"}
    http = server.http()
    answer = http.post(f"{API_PREFIX}/ratings/batches",
                       data=gzip.compress(json.dumps(batch).encode()), headers=headers)
    assert statuses(answer) == ["accepted"] * 5
    bomb = gzip.compress(b" " * (MAX_BODY_BYTES * 4))
    assert len(bomb) < MAX_BODY_BYTES
    assert http.post(f"{API_PREFIX}/ratings/batches", data=bomb,
                     headers=headers).status_code == 413
    assert http.post(f"{API_PREFIX}/ratings/batches", data=b"\x1f\x8b junk",
                     headers=headers).status_code == 400


def test_malformed_json_is_a_client_error(server: RunningServer) -> None:
    place = make_org(server.sessions)
    kiosk = enroll(server, place.counter_ids[0])
    answer = server.http().post(
        f"{API_PREFIX}/ratings/batches", data=b"{not json",
        headers={**kiosk.headers, "Content-Type": "application/json"},
    )
    assert answer.status_code == 422


def test_times_from_the_sending_boot_are_corrected_to_the_server_clock(
    server: RunningServer,
) -> None:
    place = make_org(server.sessions)
    kiosk = enroll(server, place.counter_ids[0])
    maker = RatingMaker(kiosk.counter_id)
    # a kiosk without a real-time clock that booted believing it is 1970
    wrong = datetime(1970, 1, 1, tzinfo=UTC)
    first = maker.item(place.officer_ids[0], 5, wall_time=wrong)
    second = maker.item(place.officer_ids[0], 4, wall_time=wrong, step_ms=600_000)
    earlier_boot = RatingMaker(kiosk.counter_id).item(
        place.officer_ids[0], 3, wall_time=datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    )
    earlier_boot["kiosk_seq"] = 100
    before = datetime.now(UTC)
    batch = maker.batch([first, second, earlier_boot], sent_after_ms=30_000)
    assert statuses(upload(server, kiosk, batch)) == ["accepted"] * 3
    after = datetime.now(UTC)
    rows = stored(server, first["id"], second["id"], earlier_boot["id"])
    one, two, old = (rows[uuid.UUID(i["id"])] for i in (first, second, earlier_boot))

    assert one.wall_time == wrong and one.time_verified
    assert before - timedelta(seconds=630) <= one.corrected_time <= after - timedelta(seconds=630)
    assert two.corrected_time - one.corrected_time == timedelta(seconds=600)
    assert before - timedelta(seconds=30) <= two.corrected_time <= after - timedelta(seconds=30)
    assert before <= one.server_received_at <= after
    assert not old.time_verified
    assert old.corrected_time == old.wall_time == datetime(2026, 1, 5, 3, 0, tzinfo=UTC)


def test_concurrent_resends_store_each_rating_exactly_once(server: RunningServer) -> None:
    place = make_org(server.sessions)
    kiosk = enroll(server, place.counter_ids[0])
    maker = RatingMaker(kiosk.counter_id)
    batch = maker.batch([maker.item(place.officer_ids[0], 4) for _ in range(30)])
    verdicts: list[list[str]] = []
    lock = threading.Lock()

    def send() -> None:
        result = statuses(upload(server, kiosk, batch))
        with lock:
            verdicts.append(result)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(verdicts) == 4
    for position in range(30):
        column = sorted(v[position] for v in verdicts)
        assert column == ["accepted", "duplicate", "duplicate", "duplicate"]
    with server.sessions() as session:
        count = session.scalar(
            select(func.count()).select_from(Rating).where(Rating.kiosk_id == kiosk.kiosk_id)
        )
    assert count == 30


def test_items_the_database_cannot_hold_are_rejected_not_crashing(
    server: RunningServer,
) -> None:
    place = make_org(server.sessions)
    kiosk = enroll(server, place.counter_ids[0])
    maker = RatingMaker(kiosk.counter_id)
    officer = place.officer_ids[0]
    items = [
        maker.item(officer, 5, kiosk_seq=2**63),
        maker.item(officer, 5, box_serial="A\x00B"),
        maker.item(officer, 5, box_serial="S" * 65),
        maker.item(officer, 5, wall_time=datetime(2026, 3, 2, 8, 0)),  # no time zone
        maker.item(officer, 5, wall_time=datetime(1, 1, 1, tzinfo=UTC), boot_id=str(uuid.uuid4())),
        maker.item(officer, 5, monotonic_ms=0, box_boot_nonce=-(2**63), box_seq=2**63 - 1),
        maker.item(2**40, 5, counter_id=2**40),
    ]
    items[4]["wall_time"] = "0001-01-01T00:00:00+07:00"
    answer = upload(server, kiosk, maker.batch(items, sent_after_ms=10**15))
    assert statuses(answer) == ["rejected"] * 5 + ["accepted", "rejected"]
    stored_row = stored(server, items[5]["id"])[uuid.UUID(items[5]["id"])]
    assert not stored_row.time_verified  # sent "31 700 years" after the press: not believed


def test_ids_beyond_the_database_range_are_client_errors(server: RunningServer) -> None:
    place = make_org(server.sessions, officers=1)
    http = server.http()
    assert http.login(*make_user(server.sessions, "supervisor", place.unit_id)).ok
    for path in (f"{API_PREFIX}/officers/{2**40}/score", f"{API_PREFIX}/officers/0/photo"):
        assert http.get(path).status_code == 422
    assert http.get(f"/officers/{2**40}").status_code == 422
    assert server.http().login("giam\x00sat", "whatever-password").status_code == 401


def test_feedback_is_stored_with_its_rating_and_a_resend_is_a_duplicate(
    server: RunningServer,
) -> None:
    place = make_org(server.sessions)
    kiosk = enroll(server, place.counter_ids[0])
    maker = RatingMaker(kiosk.counter_id)
    item = dict(
        maker.item(place.officer_ids[0], 2),
        reason="harassment_or_payment",
        comment="Cán bộ đòi tiền bồi dưỡng",
        callback_phone="0912345678",
        phone_consent=True,
    )
    plain = maker.item(place.officer_ids[0], 5)
    batch = maker.batch([item, plain])
    assert statuses(upload(server, kiosk, batch)) == ["accepted", "accepted"]
    assert statuses(upload(server, kiosk, batch)) == ["duplicate", "duplicate"]
    rows = stored(server, item["id"], plain["id"])
    kept = rows[uuid.UUID(item["id"])]
    assert (kept.reason, kept.comment, kept.callback_phone, kept.phone_consent) == (
        "harassment_or_payment", "Cán bộ đòi tiền bồi dưỡng", "0912345678", True
    )
    other = rows[uuid.UUID(plain["id"])]
    assert (other.reason, other.comment, other.phone_consent) == (None, None, False)
    # Other feedback under the same id is another rating, not an edit.
    assert statuses(upload(server, kiosk, maker.batch([dict(item, reason="other")]))) == [
        "conflict"
    ]
