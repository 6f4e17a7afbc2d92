"""The kiosk checks in with the real server: heartbeats land on its kiosk row, and a
roster changed on the server reaches the running kiosk without a restart."""

from __future__ import annotations

import threading
from pathlib import Path

from stack import (
    Server,
    enroll_kiosk,
    processes,
    run_hailong,
    start_server,
    wait_until,
    write_kiosk_settings,
)

from hailong.config.loader import load_kiosk
from hailong.config.settings import KioskFile
from hailong.kiosk.controller import Event, KioskController
from hailong.kiosk.staff.pins import officer_with_badge
from hailong.sync.store import KioskStore


def enrolled_without_box(tmp_path: Path, server: Server, **sync: object) -> tuple[
    KioskFile, list[int]
]:
    """A kiosk enrolled at counter 1 of `server`, its box disabled, `sync` in its
    `[sync]` section: its settings and its roster's officer ids."""
    kiosk_toml = write_kiosk_settings(
        tmp_path / "kiosk.toml",
        data_dir=tmp_path / "kiosk",
        box_link=tmp_path / "no-box",
        server_url=server.url,
        sync=sync,
    )
    roster = enroll_kiosk(kiosk_toml, server.enroll_code(counter=1))
    settings = load_kiosk(kiosk_toml)
    no_box = settings.device.model_copy(update={"enabled": False})
    return settings.model_copy(update={"device": no_box}), roster


def test_heartbeats_and_roster_changes_reach_across(tmp_path: Path):
    with processes() as started:
        server = start_server(tmp_path / "server", started)
        settings, roster = enrolled_without_box(
            tmp_path, server, heartbeat_interval_s=0.3, config_refresh_s=0.5, interval_s=0.5
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


def test_the_servers_kiosk_policy_reaches_the_kiosk(tmp_path: Path):
    server_toml = tmp_path / "server.toml"
    server_toml.write_text(
        "[kiosk_policy]\n"
        "low_rating_max_sipas = 3\n"
        'reasons = ["waited_too_long", "other"]\n'
        'question_vi = "Ông/Bà thấy cán bộ phục vụ thế nào?"\n'
        "[[kiosk_policy.scale]]\nbutton = 1\nlabel = \"Hài lòng\"\nsipas_level = 4\n"
        'colour = "#1b7f3b"\nicon = "happy"\n'
        "[[kiosk_policy.scale]]\nbutton = 2\nlabel = \"Không hài lòng\"\nsipas_level = 2\n"
        'colour = "#cc0000"\nicon = "unhappy"\n'
        "[kiosk_policy.opening_hours]\nenabled = false\n",
        encoding="utf-8",
    )
    with processes() as started:
        server = start_server(tmp_path / "server", started, config=server_toml)
        kiosk_toml = write_kiosk_settings(
            tmp_path / "kiosk.toml", data_dir=tmp_path / "kiosk", box_link=tmp_path / "no-box",
            server_url=server.url,
        )
        enroll_kiosk(kiosk_toml, server.enroll_code(counter=1))
        settings = load_kiosk(kiosk_toml)
        with KioskStore(settings.kiosk.database_path) as store:
            controller = KioskController(settings, store, asks_feedback=True)
            policy = controller.policy
            assert [level.label for level in controller.scale] == ["Hài lòng", "Không hài lòng"]
            assert (policy.low_rating_max_sipas, policy.reasons) == (
                3, ("waited_too_long", "other")
            )
            assert policy.question_vi == "Ông/Bà thấy cán bộ phục vụ thế nào?"
            rating = controller.touch(2)
            assert rating is not None and rating.scale_size == 2 and rating.sipas_level == 2
            assert controller.wants_reason(rating)


def test_a_badge_given_out_since_the_last_pull_is_pulled_at_once(tmp_path: Path):
    with processes() as started:
        server = start_server(tmp_path / "server", started)
        # Left to itself the kiosk would not pull the roster again for an hour.
        settings, roster = enrolled_without_box(
            tmp_path, server, config_refresh_s=3600, heartbeat_interval_s=3600
        )
        def roster_pulled() -> None:
            server.process.wait_for(lambda line: "GET /api/v1/kiosk/config" in line, 10)

        with KioskStore(settings.kiosk.database_path) as store:
            controller = KioskController(settings, store)
            controller.start()
            try:
                roster_pulled()  # the pull every kiosk makes as it starts
                run_hailong("admin", "--data-dir", str(server.data_dir), "officer", "set-badge",
                            str(roster[1]), "NV-2025-0042")
                assert officer_with_badge(controller.roster(), "NV-2025-0042") is None
                assert controller.pull_roster_soon()
                roster_pulled()
                wait_until(
                    lambda: officer_with_badge(controller.roster(), "NV-2025-0042") is not None,
                    10,
                    "the badge on the running kiosk's roster",
                )
                # Asked again at once (the same unknown card scanned twice): not again.
                assert not controller.pull_roster_soon()
            finally:
                controller.stop()
