"""Malformed requests to the fleet and export endpoints get 4xx answers, never
5xx, and every endpoint is described in /openapi.json."""

from __future__ import annotations

from typing import Any

from server_harness import RunningServer, enroll, make_org, signed_in

from hailong.sync.server.models import Kiosk
from hailong.sync.wire import API_PREFIX

HEARTBEAT_GARBAGE: list[dict[str, Any]] = [
    {"data": b"{not json", "headers": {"Content-Type": "application/json"}},
    {"data": b"\xff\xfe\x00", "headers": {"Content-Type": "application/json"}},
    {"json": []},
    {"json": None},
    {"json": {"sent_wall_time": "yesterday", "app_version": "1", "box_status": "connected",
              "backlog": 0}},
    {"json": {"sent_wall_time": "2026-11-25T10:00:00", "app_version": "1",  # no time zone
              "box_status": "connected", "backlog": 0}},
    {"json": {"sent_wall_time": "2026-11-25T10:00:00Z", "app_version": "1" * 65,
              "box_status": "connected", "backlog": 0}},
    {"json": {"sent_wall_time": "2026-11-25T10:00:00Z", "app_version": "1",
              "box_status": "on fire", "backlog": 0}},
    {"json": {"sent_wall_time": "2026-11-25T10:00:00Z", "app_version": "1",
              "box_status": "connected", "backlog": -1}},
    {"json": {"sent_wall_time": "2026-11-25T10:00:00Z", "app_version": "1",
              "box_status": "connected", "backlog": 2**70}},
    {"json": {"sent_wall_time": "2026-11-25T10:00:00Z", "app_version": {"x": 1},
              "box_status": "connected", "backlog": "many"}},
]

EXPORT_GARBAGE: list[dict[str, Any]] = [
    {"from": "last tuesday"},
    {"to": "2026-13-45"},
    {"to": "9999-12-31T23:59:59-01:00"},
    {"from": "0001-01-01T00:00:00+07:00"},
    {"officer_id": -1},
    {"officer_id": 2**40},
    {"counter_id": "quầy 1"},
    {"limit": 0},
    {"limit": 10**20},
    {"limit": "all"},
    {"format": "xml"},
    {"cursor": "%%%"},
    {"cursor": "\x00"},
    {"cursor": "A" * 500},
]

GAPS_GARBAGE: list[tuple[str, dict[str, Any]]] = [
    ("0", {}),
    ("-3", {}),
    (str(2**40), {}),
    ("abc", {}),
    ("1", {"after": -1}),
    ("1", {"after": 2**63}),
    ("1", {"limit": 0}),
    ("1", {"limit": 10**9}),
]


def client_error(answer: Any) -> bool:
    return 400 <= answer.status_code < 500


def test_garbage_to_the_heartbeat_is_a_client_error(server: RunningServer) -> None:
    place = make_org(server.sessions, officers=1)
    kiosk = enroll(server, place.counter_ids[0])
    http = server.http()
    for garbage in HEARTBEAT_GARBAGE:
        body = {key: value for key, value in garbage.items() if key != "headers"}
        headers = {**kiosk.headers, **garbage.get("headers", {})}
        answer = http.post(f"{API_PREFIX}/kiosk/heartbeat", headers=headers, **body)
        assert client_error(answer), (garbage, answer.status_code, answer.text)
    with server.sessions() as session:
        assert session.get_one(Kiosk, kiosk.kiosk_id).last_heartbeat_at is None


def test_garbage_to_the_fleet_and_export_queries_is_a_client_error(
    server: RunningServer,
) -> None:
    admin = signed_in(server, "admin", None)
    for params in EXPORT_GARBAGE:
        for fmt in ({}, {"format": "csv"}):
            answer = admin.get(f"{API_PREFIX}/ratings", params={**fmt, **params})
            assert client_error(answer), (params, fmt, answer.status_code, answer.text)
    for kiosk_id, params in GAPS_GARBAGE:
        answer = admin.get(f"{API_PREFIX}/kiosks/{kiosk_id}/gaps", params=params)
        assert client_error(answer), (kiosk_id, params, answer.status_code, answer.text)
    for method in ("POST", "PUT", "DELETE"):
        assert admin.request(method, f"{API_PREFIX}/kiosks").status_code == 405
        assert admin.request(method, f"{API_PREFIX}/ratings").status_code == 405
    assert admin.get(f"{API_PREFIX}/kiosk/heartbeat").status_code == 405
    forged = {"hailong_session": "forged"}
    assert server.http().get(f"{API_PREFIX}/ratings", cookies=forged).status_code == 401
    assert server.http().get(f"{API_PREFIX}/kiosks", cookies=forged).status_code == 401


def test_every_endpoint_is_described(server: RunningServer) -> None:
    spec = server.http().get("/openapi.json").json()
    paths = spec["paths"]
    for path, method in (
        ("/kiosk/heartbeat", "post"),
        ("/kiosks", "get"),
        ("/kiosks/{kiosk_id}/gaps", "get"),
        ("/ratings", "get"),
        ("/ratings/batches", "post"),
    ):
        assert method in paths[API_PREFIX + path], path
    assert "429" in paths[f"{API_PREFIX}/ratings/batches"]["post"]["responses"]
    export = paths[f"{API_PREFIX}/ratings"]["get"]
    assert {"application/json", "text/csv"} <= set(export["responses"]["200"]["content"])
    assert {p["name"] for p in export["parameters"]} == {
        "from", "to", "officer_id", "counter_id", "cursor", "limit", "format"}
    assert {"Heartbeat", "HeartbeatAck", "KioskStatus", "KioskGaps", "RatingPage"} <= set(
        spec["components"]["schemas"])
