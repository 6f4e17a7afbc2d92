"""`hailong demo`'s kiosk settings: a kiosk file the kiosk accepts, whose staff screens
open with the PIN the demo prints."""

from __future__ import annotations

from pathlib import Path

from hailong.config.loader import load_kiosk
from hailong.demo import write_kiosk_settings
from hailong.kiosk.staff.pins import pin_matches


def test_the_demo_kiosk_opens_its_staff_screens_with_the_printed_pin(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    write_kiosk_settings(path, tmp_path / "kiosk", tmp_path / "box", "http://127.0.0.1:8080",
                         "314159")
    kiosk = load_kiosk(path).kiosk
    assert pin_matches(kiosk.supervisor_pin_hash, "314159")
    assert pin_matches(kiosk.technician_pin_hash, "314159")
    assert not pin_matches(kiosk.supervisor_pin_hash, "271828")
