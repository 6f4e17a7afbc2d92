"""Enrollment, the kiosk's configuration pull and officer photos, over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server_harness import RunningServer, enroll, issue_code, make_org, signed_in
from sqlalchemy import select

from hailong.sync.server.fleet import secret_hash
from hailong.sync.server.models import Kiosk
from hailong.sync.server.seed import demo_photo
from hailong.sync.wire import API_PREFIX, EnrollResponse, KioskConfig

PHOTO = demo_photo("nguyen-thi-lan.png")


def enroll_with(server: RunningServer, code: str) -> tuple[int, dict]:
    answer = server.http().post(
        f"{API_PREFIX}/enroll",
        json={"code": code, "app_version": "1.2.3", "hostname": "quay-1"},
    )
    return answer.status_code, answer.json()


def test_a_code_is_traded_once_for_a_credential_and_the_counter_config(
    server: RunningServer,
) -> None:
    place = make_org(server.sessions, officers=2, photo=PHOTO)
    code = issue_code(server.sessions, place.counter_ids[1])
    status, body = enroll_with(server, code.lower())  # typed without care for case
    assert status == 200, body
    enrolled = EnrollResponse.model_validate(body)
    assert enrolled.config.counter.id == place.counter_ids[1]
    assert enrolled.config.counter.unit_name == place.unit_name
    assert sorted(o.id for o in enrolled.config.officers) == sorted(place.officer_ids)
    with server.sessions() as session:
        kiosk = session.get_one(Kiosk, enrolled.kiosk_id)
        assert kiosk.token_hash == secret_hash(enrolled.token)  # only the hash is kept
        assert enrolled.token not in (kiosk.token_hash, kiosk.hostname)
        assert (kiosk.app_version, kiosk.hostname) == ("1.2.3", "quay-1")

    status, body = enroll_with(server, code)
    assert status == 403 and "already been used" in body["detail"]


def test_unknown_and_expired_codes_are_refused_with_a_reason(server: RunningServer) -> None:
    place = make_org(server.sessions, officers=1)
    status, body = enroll_with(server, "ABCD-EFGH-JKMN")
    assert status == 403 and "not valid" in body["detail"]
    long_ago = datetime.now(UTC) - timedelta(days=2)
    expired = issue_code(server.sessions, place.counter_ids[0], timedelta(hours=24), long_ago)
    status, body = enroll_with(server, expired)
    assert status == 403 and "expired" in body["detail"]
    with server.sessions() as session:
        counters = session.scalars(select(Kiosk.counter_id)).all()
        assert place.counter_ids[0] not in counters


def test_config_pull_needs_the_kiosk_token(server: RunningServer) -> None:
    place = make_org(server.sessions, officers=3, photo=PHOTO)
    kiosk = enroll(server, place.counter_ids[0])
    http = server.http()
    answer = http.get(f"{API_PREFIX}/kiosk/config", headers=kiosk.headers)
    assert answer.status_code == 200
    config = KioskConfig.model_validate(answer.json())
    assert config.kiosk_id == kiosk.kiosk_id
    assert [o.title for o in config.officers] == ["Chuyên viên"] * 3
    assert all(o.photo_url for o in config.officers)

    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": kiosk.token}):
        refused = http.get(f"{API_PREFIX}/kiosk/config", headers=headers)
        assert refused.status_code == 401, headers


def test_photos_go_to_kiosks_of_the_unit_and_people_who_may_see_the_officer(
    server: RunningServer,
) -> None:
    place = make_org(server.sessions, officers=1, photo=PHOTO)
    elsewhere = make_org(server.sessions, officers=1, photo=PHOTO)
    kiosk = enroll(server, place.counter_ids[0])
    http = server.http()
    url = KioskConfig.model_validate(
        http.get(f"{API_PREFIX}/kiosk/config", headers=kiosk.headers).json()
    ).officers[0].photo_url
    assert url is not None
    photo = http.get(url, headers=kiosk.headers)
    assert photo.status_code == 200
    assert photo.headers["content-type"] == "image/png" and photo.content == PHOTO
    again = http.get(url, headers={**kiosk.headers, "If-None-Match": photo.headers["etag"]})
    assert again.status_code == 304

    other = f"{API_PREFIX}/officers/{elsewhere.officer_ids[0]}/photo"
    assert http.get(other, headers=kiosk.headers).status_code == 404
    assert http.get(url).status_code == 401

    supervisor = signed_in(server, "supervisor", place.unit_id)
    assert supervisor.get(url).content == PHOTO
    assert supervisor.get(other).status_code == 404
