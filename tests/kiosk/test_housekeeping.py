"""The kiosk checks in with the real server: heartbeats land on its kiosk row, and a
roster changed on the server reaches the running kiosk without a restart."""

from __future__ import annotations

import threading
from pathlib import Path

from stack import (
    enroll_kiosk,
    processes,
    run_hailong,
    start_server,
    wait_until,
    write_kiosk_settings,
)

from hailong.config.loader import load_kiosk
from hailong.kiosk.controller import Event, KioskController
from hailong.sync.store import KioskStore


def test_heartbeats_and_roster_changes_reach_across(tmp_path: Path):
    with processes() as started:
        server = start_server(tmp_path / "server", started)
        kiosk_toml = write_kiosk_settings(
            tmp_path / "kiosk.toml",
            data_dir=tmp_path / "kiosk",
            box_link=tmp_path / "no-box",
            server_url=server.url,
            sync={"heartbeat_interval_s": 0.3, "config_refresh_s": 0.5, "interval_s": 0.5},
        )
        roster = enroll_kiosk(kiosk_toml, server.enroll_code(counter=1))
        settings = load_kiosk(kiosk_toml)
        settings = settings.model_copy(
            update={"device": settings.device.model_copy(update={"enabled": False})}
        )
        officer_changes = threading.Event()
        with KioskStore(settings.kiosk.database_path) as store:
            controller = KioskController(settings, store)
            controller.add_listener(lambda e: e is Event.OFFICER and officer_changes.set())
            controller.sign_in(roster[0])
            officer_changes.clear()
            controller.touch(2)
            controller.start()
            try:
                wait_until(
                    lambda: server.query(
                        "SELECT box_status, backlog FROM kiosks WHERE last_heartbeat_at IS NOT NULL"
                    ),
                    20,
                    "a heartbeat stored on the server",
                )
                (unit_id,) = server.query("SELECT unit_id FROM counters WHERE id = 1")[0]
                run_hailong(
                    "admin",
                    "--data-dir",
                    str(server.data_dir),
                    "officer",
                    "add",
                    "Đỗ Thị Hạnh",
                    "--unit",
                    str(unit_id),
                    "--title",
                    "Chuyên viên",
                )
                wait_until(
                    lambda: "Đỗ Thị Hạnh" in [o.name for o in controller.roster()],
                    20,
                    "the new officer on the running kiosk's roster",
                )
                assert officer_changes.is_set()
                # The officer signed in before the change is still serving.
                card = controller.officer_card()
                assert card is not None and card.officer_id == roster[0]
            finally:
                controller.stop()
        ((status, backlog),) = server.query(
            "SELECT box_status, backlog FROM kiosks WHERE last_heartbeat_at IS NOT NULL"
        )
        assert status == "disabled"
        assert backlog in (0, 1)
