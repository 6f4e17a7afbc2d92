"""The fleet page: every kiosk of the person's units with its state, backlog,
versions, clock skew and sequence gaps."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from server_harness import (
    EnrolledKiosk,
    RatingMaker,
    RunningServer,
    enroll,
    make_org,
    signed_in,
    statuses,
    upload,
)
from sqlalchemy import update

from hailong.sync.server.models import Kiosk
from hailong.sync.wire import API_PREFIX


def beat(server: RunningServer, kiosk: EnrolledKiosk, backlog: int, ahead_s: float) -> None:
    answer = server.http().post(
        f"{API_PREFIX}/kiosk/heartbeat",
        json={"sent_wall_time": (datetime.now(UTC) + timedelta(seconds=ahead_s)).isoformat(),
              "app_version": "2.4.0", "box_status": "connected",
              "box_firmware": "hl-box 1.7", "backlog": backlog},
        headers=kiosk.headers,
    )
    assert answer.status_code == 200, answer.text


def row(html: str, kiosk_id: int) -> str:
    match = re.search(rf'<tr data-kiosk-id="{kiosk_id}"(.*?)</tr>', html, re.S)
    assert match, f"no row for kiosk {kiosk_id}"
    return match.group(1)


def cell(html: str, kiosk_id: int, name: str) -> str:
    match = re.search(rf'<td class="[^"]*\b{name}\b[^"]*"[^>]*>(.*?)</td>', row(html, kiosk_id),
                      re.S)
    assert match, name
    return re.sub(r"<[^>]+>", " ", match.group(1)).strip()


def test_the_fleet_page_shows_state_backlog_versions_skew_and_gaps(
    server: RunningServer,
) -> None:
    place = make_org(server.sessions, officers=1)
    elsewhere = make_org(server.sessions, officers=1)
    quiet, late, gone = (enroll(server, counter) for counter in (*place.counter_ids,
                                                                 place.counter_ids[0]))
    other = enroll(server, elsewhere.counter_ids[0])
    beat(server, quiet, backlog=17, ahead_s=-3.0)
    maker = RatingMaker(quiet.counter_id)
    items = [maker.item(place.officer_ids[0], 4, kiosk_seq=seq) for seq in (1, 2, 5, 9)]
    assert set(statuses(upload(server, quiet, maker.batch(items)))) == {"accepted"}
    beat(server, late, backlog=0, ahead_s=0)
    beat(server, gone, backlog=250, ahead_s=0)
    now = datetime.now(UTC)
    with server.sessions() as session:
        for kiosk, silent in ((late, timedelta(minutes=5)), (gone, timedelta(hours=3))):
            session.execute(update(Kiosk).where(Kiosk.id == kiosk.kiosk_id)
                            .values(last_heartbeat_at=now - silent))
        session.commit()

    technician = signed_in(server, "technician", place.unit_id)
    page = technician.get("/fleet")
    assert page.status_code == 200
    assert 'name="viewport"' in page.text and "https://" not in page.text
    states = dict(re.findall(r'<tr data-kiosk-id="(\d+)" data-state="(\w+)"', page.text))
    assert states == {str(quiet.kiosk_id): "online", str(late.kiosk_id): "late",
                      str(gone.kiosk_id): "offline"}
    assert cell(page.text, quiet.kiosk_id, "backlog") == "17"
    assert cell(page.text, quiet.kiosk_id, "app") == "2.4.0"
    assert cell(page.text, quiet.kiosk_id, "box").startswith("hl-box 1.7")
    assert re.fullmatch(r"-3\.\d s", cell(page.text, quiet.kiosk_id, "skew"))
    assert cell(page.text, quiet.kiosk_id, "missing") == "5"  # 3, 4, 6, 7, 8
    assert f'href="/api/v1/kiosks/{quiet.kiosk_id}/gaps"' in page.text
    assert cell(page.text, late.kiosk_id, "missing") == "0"
    # worst first by default
    order = re.findall(r'<tr data-kiosk-id="(\d+)"', page.text)
    assert order == [str(gone.kiosk_id), str(late.kiosk_id), str(quiet.kiosk_id)]
    by_backlog = re.findall(r'<tr data-kiosk-id="(\d+)"',
                            technician.get("/fleet", params={"sort": "backlog"}).text)
    assert by_backlog == [str(gone.kiosk_id), str(quiet.kiosk_id), str(late.kiosk_id)]
    assert technician.get("/fleet", params={"sort": "nonsense"}).status_code == 422

    supervisor = signed_in(server, "supervisor", place.unit_id)
    assert f'data-kiosk-id="{other.kiosk_id}"' not in supervisor.get("/fleet").text
    assert f'data-kiosk-id="{quiet.kiosk_id}"' in supervisor.get("/fleet").text
    admin = signed_in(server, "admin", None)
    everything = admin.get("/fleet").text
    assert f'data-kiosk-id="{other.kiosk_id}"' in everything
    assert f'data-kiosk-id="{quiet.kiosk_id}"' in everything


def test_a_technician_lands_on_the_fleet_and_sees_no_scores(server: RunningServer) -> None:
    place = make_org(server.sessions, officers=1)
    technician = signed_in(server, "technician", place.unit_id)
    home = technician.get("/", allow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/fleet"
    page = technician.get("/fleet")
    assert 'href="/fleet"' in page.text and 'href="/audit"' not in page.text
    assert technician.get(f"/officers/{place.officer_ids[0]}").status_code == 403
