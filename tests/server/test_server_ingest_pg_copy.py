"""What the bulk path of ingest (COPY into a staging table on PostgreSQL, the
multi-row INSERT on SQLite) must keep: batch order, the stored values, a staging
table that starts empty for every batch on the same connection."""

from __future__ import annotations

import uuid

from server_harness import RatingMaker, RunningServer, enroll, make_org, statuses, upload
from sqlalchemy import select

from hailong.sync.server.models import Rating


def test_of_two_new_items_with_one_sequence_number_the_first_wins(
    server: RunningServer,
) -> None:
    place = make_org(server.sessions)
    kiosk = enroll(server, place.counter_ids[0])
    maker = RatingMaker(kiosk.counter_id)
    first = maker.item(place.officer_ids[0], 5)
    rival = dict(maker.item(place.officer_ids[0], 2), kiosk_seq=first["kiosk_seq"])

    answer = upload(server, kiosk, maker.batch([first, rival]))

    assert statuses(answer) == ["accepted", "conflict"]
    with server.sessions() as session:
        stored = session.scalars(select(Rating.id).where(Rating.kiosk_id == kiosk.kiosk_id))
        assert set(stored) == {uuid.UUID(first["id"])}


def test_every_field_arrives_as_sent_and_batches_do_not_leak_into_each_other(
    server: RunningServer,
) -> None:
    place = make_org(server.sessions)
    kiosk = enroll(server, place.counter_ids[0])
    maker = RatingMaker(kiosk.counter_id)
    boxed = dict(
        maker.item(place.officer_ids[0], 1),
        source="box", box_serial="HL-0042", box_boot_nonce=2**40, box_seq=7,
        flags=["too_soon", "outside_hours"], reason="staff_attitude", comment="Chờ lâu",
    )
    plain = maker.item(None, 4)

    for items in ([boxed], [plain]):  # on the same pooled connection, one after the other
        assert statuses(upload(server, kiosk, maker.batch(items))) == ["accepted"]

    with server.sessions() as session:
        rows = {
            row.id: row
            for row in session.scalars(select(Rating).where(Rating.kiosk_id == kiosk.kiosk_id))
        }
    assert set(rows) == {uuid.UUID(boxed["id"]), uuid.UUID(plain["id"])}
    box_row, plain_row = rows[uuid.UUID(boxed["id"])], rows[uuid.UUID(plain["id"])]
    assert (box_row.box_serial, box_row.box_boot_nonce, box_row.box_seq) == ("HL-0042", 2**40, 7)
    assert box_row.flags == '["outside_hours", "too_soon"]' and box_row.flagged
    assert (box_row.reason, box_row.comment, box_row.source) == ("staff_attitude", "Chờ lâu", "box")
    assert box_row.boot_id == uuid.UUID(boxed["boot_id"])
    assert box_row.corrected_time.tzinfo is not None and box_row.time_verified
    assert plain_row.officer_id is None and plain_row.box_serial is None
    assert plain_row.flags == "[]" and not plain_row.flagged and not plain_row.phone_consent
