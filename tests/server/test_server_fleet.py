"""Heartbeats, the fleet listing and sequence gaps, over real HTTP and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from server_harness import (
    EnrolledKiosk,
    Http,
    RatingMaker,
    RunningServer,
    enroll,
    make_org,
    signed_in,
    statuses,
    upload,
)
from sqlalchemy import update

from hailong.cli import main
from hailong.sync.server.heartbeat import OFFLINE_AFTER, ONLINE_WITHIN, kiosk_state
from hailong.sync.server.models import Kiosk
from hailong.sync.wire import API_PREFIX, HeartbeatAck, KioskGaps, KioskStatus

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def beat(server: RunningServer, kiosk: EnrolledKiosk, **fields: Any) -> Any:
    body = {
        "sent_wall_time": datetime.now(UTC).isoformat(),
        "app_version": "2.0.1",
        "box_status": "connected",
        "box_firmware": "hl-box 1.4",
        "backlog": 17,
        **fields,
    }
    return server.http().post(f"{API_PREFIX}/kiosk/heartbeat", json=body, headers=kiosk.headers)


def listing(http: Http) -> dict[int, KioskStatus]:
    answer = http.get(f"{API_PREFIX}/kiosks")
    assert answer.status_code == 200, answer.text
    return {k.id: k for k in map(KioskStatus.model_validate, answer.json())}


def test_state_follows_the_time_since_the_last_heartbeat() -> None:
    assert kiosk_state(None, None, NOW) == "new"
    assert kiosk_state(NOW - ONLINE_WITHIN, None, NOW) == "online"
    assert kiosk_state(NOW - ONLINE_WITHIN - timedelta(seconds=1), None, NOW) == "late"
    assert kiosk_state(NOW - OFFLINE_AFTER, None, NOW) == "late"
    assert kiosk_state(NOW - OFFLINE_AFTER - timedelta(seconds=1), None, NOW) == "offline"
    assert kiosk_state(NOW, NOW, NOW) == "revoked"


def test_a_heartbeat_is_stored_on_the_kiosk_and_shown_in_the_fleet(
    server: RunningServer,
) -> None:
    place = make_org(server.sessions, officers=1)
    kiosk = enroll(server, place.counter_ids[0])
    quiet = enroll(server, place.counter_ids[1])
    technician = signed_in(server, "technician", place.unit_id)
    assert {k: s.state for k, s in listing(technician).items()} == {
        kiosk.kiosk_id: "new", quiet.kiosk_id: "new"
    }

    # the kiosk's clock is 90 s ahead of the server's
    before = datetime.now(UTC)
    answer = beat(server, kiosk, sent_wall_time=(before + timedelta(seconds=90)).isoformat())
    after = datetime.now(UTC)
    assert answer.status_code == 200, answer.text
    ack = HeartbeatAck.model_validate(answer.json())
    assert before <= ack.server_time <= after
    assert 90_000 - (after - before) / timedelta(milliseconds=1) - 1 <= ack.clock_skew_ms <= 90_001

    shown = listing(technician)[kiosk.kiosk_id]
    assert shown.state == "online"
    assert (shown.app_version, shown.box_status, shown.box_firmware, shown.backlog) == (
        "2.0.1", "connected", "hl-box 1.4", 17)
    assert shown.clock_skew_ms == ack.clock_skew_ms
    assert shown.last_heartbeat_at == ack.server_time
    assert (shown.counter_id, shown.unit_id, shown.unit_name) == (
        place.counter_ids[0], place.unit_id, place.unit_name)
    assert listing(technician)[quiet.kiosk_id].state == "new"

    # silence is judged when the listing is read
    for silence, state in ((timedelta(minutes=5), "late"), (timedelta(hours=1), "offline")):
        with server.sessions() as session:
            session.execute(update(Kiosk).where(Kiosk.id == kiosk.kiosk_id)
                            .values(last_heartbeat_at=datetime.now(UTC) - silence))
            session.commit()
        assert listing(technician)[kiosk.kiosk_id].state == state
    assert beat(server, kiosk, backlog=0, box_status="disconnected").status_code == 200
    shown = listing(technician)[kiosk.kiosk_id]
    assert (shown.state, shown.backlog, shown.box_status) == ("online", 0, "disconnected")


def test_the_fleet_is_for_the_people_of_the_unit(server: RunningServer) -> None:
    place = make_org(server.sessions, officers=1)
    elsewhere = make_org(server.sessions, officers=1)
    kiosk = enroll(server, place.counter_ids[0])
    other = enroll(server, elsewhere.counter_ids[0])

    assert server.http().get(f"{API_PREFIX}/kiosks").status_code == 401
    supervisor = signed_in(server, "supervisor", place.unit_id)
    assert set(listing(supervisor)) == {kiosk.kiosk_id}
    assert supervisor.get(f"{API_PREFIX}/kiosks/{other.kiosk_id}/gaps").status_code == 404

    technician = signed_in(server, "technician", place.unit_id)
    assert set(listing(technician)) == {kiosk.kiosk_id}
    assert technician.get(f"{API_PREFIX}/kiosks/{other.kiosk_id}/gaps").status_code == 404
    assert technician.get(f"{API_PREFIX}/kiosks/{2**31 - 1}/gaps").status_code == 404
    admin = signed_in(server, "admin", None)
    assert {kiosk.kiosk_id, other.kiosk_id} <= set(listing(admin))

    # a kiosk token is not a login, and a heartbeat names no other kiosk
    assert server.http().get(f"{API_PREFIX}/kiosks", headers=kiosk.headers).status_code == 401
    assert beat(server, kiosk, kiosk_id=other.kiosk_id).status_code == 422
    assert server.http().post(f"{API_PREFIX}/kiosk/heartbeat", json={}).status_code == 401


def upload_seqs(server: RunningServer, kiosk: EnrolledKiosk, officer: int, seqs: list[int]) -> None:
    maker = RatingMaker(kiosk.counter_id)
    items = [maker.item(officer, 4, kiosk_seq=seq) for seq in seqs]
    assert set(statuses(upload(server, kiosk, maker.batch(items)))) == {"accepted"}


def gaps(http: Http, kiosk: EnrolledKiosk, **params: Any) -> KioskGaps:
    answer = http.get(f"{API_PREFIX}/kiosks/{kiosk.kiosk_id}/gaps", params=params)
    assert answer.status_code == 200, answer.text
    return KioskGaps.model_validate(answer.json())


def ranges(report: KioskGaps) -> list[tuple[int, int]]:
    return [(gap.first, gap.last) for gap in report.gaps]


def test_sequence_gaps_are_listed_as_ranges_and_close_when_ratings_arrive(
    server: RunningServer,
) -> None:
    place = make_org(server.sessions, officers=1)
    kiosk = enroll(server, place.counter_ids[0])
    technician = signed_in(server, "technician", place.unit_id)
    assert gaps(technician, kiosk) == KioskGaps(
        kiosk_id=kiosk.kiosk_id, last_seq=0, missing=0, gaps=[], truncated=False)

    upload_seqs(server, kiosk, place.officer_ids[0], [2, 5, 6, 9, 10, 20])
    report = gaps(technician, kiosk)
    assert ranges(report) == [(1, 1), (3, 4), (7, 8), (11, 19)]
    assert (report.last_seq, report.missing, report.truncated) == (20, 14, False)
    assert listing(technician)[kiosk.kiosk_id].missing == 14

    first_two = gaps(technician, kiosk, limit=2)
    assert ranges(first_two) == [(1, 1), (3, 4)] and first_two.truncated
    assert ranges(gaps(technician, kiosk, after=4)) == [(7, 8), (11, 19)]
    assert ranges(gaps(technician, kiosk, after=12)) == [(13, 19)]

    upload_seqs(server, kiosk, place.officer_ids[0], [1, 3, 4, 12])
    report = gaps(technician, kiosk)
    assert ranges(report) == [(7, 8), (11, 11), (13, 19)]
    assert report.missing == 10


def test_admin_lists_kiosks_and_their_gaps(
    server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    place = make_org(server.sessions, officers=1)
    kiosk = enroll(server, place.counter_ids[0])
    assert beat(server, kiosk, backlog=3).status_code == 200
    upload_seqs(server, kiosk, place.officer_ids[0], [1, 2, 4, 8])
    url = ["--database-url", server.settings.database_url]

    capsys.readouterr()
    assert main(["admin", *url, "kiosk", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = next(line.split("\t") for line in lines if line.startswith(f"{kiosk.kiosk_id}\t"))
    assert row[1:3] == ["Quầy 1", place.unit_name]
    assert row[5] == "online" and row[7:9] == ["connected", "3"] and row[10] == "4"

    assert main(["admin", *url, "kiosk", "gaps", str(kiosk.kiosk_id)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "4 missing" in out[0] and out[1:] == ["3", "5-7"]

    assert main(["admin", *url, "kiosk", "gaps", str(2**31 - 1)]) == 1
    assert "no kiosk" in capsys.readouterr().err
