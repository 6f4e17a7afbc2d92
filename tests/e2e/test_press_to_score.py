"""The first real path, as separate real processes and nothing of ours mocked:
simulated box (pty) → driver → rating session → kiosk SQLite → uploader → server
→ its database → the officer's score (JSON API and HTML page)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from stack import (
    Http,
    Process,
    enroll_kiosk,
    hailong,
    json_event,
    processes,
    run_hailong,
    sign_in,
    start_server,
    write_kiosk_settings,
)

from hailong.config.reasons import REASON_CODES
from hailong.kiosk.harness import KioskProcess, filling
from hailong.kiosk.staff.drive import scan_badge
from hailong.kiosk.viewmodels import CHOICE_COLOUR, REASON_BACKGROUND
from hailong.xvfb import Xvfb

pytestmark = pytest.mark.e2e

RESPONSE_INTERVAL_S = 0.3
# Each follow-up page gives up after this; the test answers one and lets the rest lapse.
REASON_TIMEOUT_S = 2.0


@pytest.fixture(name="processes")
def processes_fixture() -> Iterator[list[Process]]:
    with processes() as started:
        yield started


def test_box_presses_reach_the_officers_score(tmp_path: Path, processes: list[Process]):
    server = start_server(tmp_path / "server", processes)
    server_url, username, password = server.url, server.username, server.password

    # Enrollment as a technician does it: a one-time code from the admin command.
    code = server.enroll_code(counter=1)
    box_link = tmp_path / "box"
    kiosk_toml = write_kiosk_settings(
        tmp_path / "kiosk.toml",
        data_dir=tmp_path / "kiosk",
        box_link=box_link,
        server_url=server_url,
        kiosk={"response_interval_s": RESPONSE_INTERVAL_S, "reason_timeout_s": REASON_TIMEOUT_S},
        sync={"interval_s": 0.5},
    )
    officer_id, colleague = enroll_kiosk(kiosk_toml, code)[:2]
    sign_in(kiosk_toml, officer_id)

    box = Process(
        "box", hailong("device", "simulate", "--link", str(box_link)), stdin=subprocess.PIPE
    )
    processes.append(box)
    box.wait_for(json_event("ready"), 30)

    with Xvfb() as xvfb, KioskProcess(kiosk_toml, xvfb.display, tmp_path / "kiosk.log") as kiosk:
        box.wait_for(json_event("hello_sent"), 30)

        def press(*buttons: int) -> None:
            assert box.proc.stdin is not None
            box.proc.stdin.write("".join(f"press {b}\n" for b in buttons))
            box.proc.stdin.flush()

        # Citizens a little apart: Rất hài lòng, Hài lòng, Bình thường, Không hài lòng,
        # Rất hài lòng; then one Không hài lòng pressed twice at once (the repeat is kept
        # but flagged, and left out of the indices). After the first Không hài lòng the
        # screen asks why, and the citizen taps "harassment or unofficial payment".
        seq = 0
        for button in (1, 2, 3, 4, 1):
            press(button)
            seq += 1
            box.wait_for(json_event("ack", seq=seq), 15)
            if button == 4:
                kiosk.wait_for(filling(REASON_BACKGROUND), timeout=10)
                serious = REASON_CODES.index("harassment_or_payment")
                kiosk.tap_choice(CHOICE_COLOUR, serious, len(REASON_CODES))
            time.sleep(RESPONSE_INTERVAL_S + 0.1)
        press(4, 4)
        box.wait_for(json_event("ack", seq=seq + 2), 15)

        session = Http(server_url)
        assert session.login(username, password).status_code == 303
        deadline = time.monotonic() + 30
        while True:
            score = session.get(f"/api/v1/officers/{officer_id}/score")
            assert score.status_code == 200, score.text
            body = score.json()
            if body["ratings"] == 7 or time.monotonic() > deadline:
                break
            time.sleep(0.2)

        assert body["ratings"] == 7
        assert body["flagged"] == 1
        assert body["valid"] == 6
        assert {int(k): v for k, v in body["by_sipas_level"].items()} == {
            5: 2,
            4: 1,
            3: 1,
            2: 2,
            1: 0,
        }
        # SIPAS: (Rất hài lòng + Hài lòng) / valid = 3/6; Decision 766: (6 − 2 negatives) / 6.
        assert body["sipas_index"] == pytest.approx(50.0)
        assert body["decision766_rate"] == pytest.approx(400 / 6)

        html = session.get(f"/officers/{officer_id}")
        assert html.status_code == 200
        assert "50" in html.text and "66" in html.text

        status = run_hailong("sync", "status", "--config", str(kiosk_toml))
        assert "Waiting to upload: 0" in status, status
        # The low ratings were held while their citizens answered; the uploads meanwhile
        # sent the others and were not failures (which would have meant a backoff).
        assert "upload failed" not in kiosk.log(), kiosk.log()[-4000:]

        # The reason travelled with its rating; the later ones were left unanswered.
        exported = session.get("/api/v1/ratings", params={"format": "json"}).json()["items"]
        reasons = [r["reason"] or "" for r in exported if r["sipas_level"] == 2]
        assert sorted(reasons) == ["", "", "harassment_or_payment"]

        # A colleague takes over with a badge given out on the server after the kiosk
        # pulled its roster: the kiosk pulls it again at the scan and signs them in.
        run_hailong("admin", "--data-dir", str(server.data_dir), "officer", "set-badge",
                    str(colleague), "NV-2025-0042")
        deadline = time.monotonic() + 15
        while kiosk.log().rsplit("screen: ", 1)[-1].split()[0] != "idle":
            assert time.monotonic() < deadline, kiosk.log()[-4000:]
            time.sleep(0.2)
        scan_badge(kiosk, "NV-2025-0042")
        while f"officer signed in: {colleague}" not in kiosk.log():
            assert time.monotonic() < deadline + 15, kiosk.log()[-4000:]
            time.sleep(0.2)

        assert kiosk.stop() == 0, kiosk.log()[-4000:]
