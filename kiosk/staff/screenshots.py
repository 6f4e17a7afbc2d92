"""Pictures of the staff screens for `python -m hailong.kiosk.screenshots`: the real
app on a demo store, a few ratings given by touch, the screens opened by hand."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from hailong.config.settings import DEFAULT_SCALE
from hailong.kiosk.harness import KioskProcess, seed_demo_store, showing, write_settings
from hailong.kiosk.staff.drive import enter_pin, give_credentials, open_staff_menu, tap_cell
from hailong.kiosk.staff.pins import hash_pin
from hailong.kiosk.staff.views import (
    KEYPAD_PANEL,
    MENU_BACK,
    MENU_SIGN_IN,
    MENU_SUPERVISOR,
    MENU_TECHNICIAN,
    ROSTER_COLUMNS,
    ROSTER_PANEL,
    SERVER_URL_ROW,
    STAFF_MARK,
    SUPERVISOR_HEADER,
    TECHNICIAN_KEYBOARD,
)
from hailong.kiosk.viewmodels import THANKS_BACKGROUND
from hailong.kiosk.xdisplay import click, colour_box

log = logging.getLogger(__name__)

# The demo's staff PIN; the pictures never show it.
DEMO_PIN = "2468"


def staff_screenshots(
    tmp: Path,
    display: str,
    language: str,
    window_size: tuple[int, int],
    save: Callable[[str, bytes], None],
) -> None:
    data_dir = tmp / "staff"
    seed_demo_store(data_dir, officer_id=1)
    give_credentials(data_dir / "kiosk.db", {2: DEMO_PIN})
    pin_hash = hash_pin(DEMO_PIN)
    config = write_settings(
        tmp / "staff.toml", data_dir, language=language, window_size=window_size,
        thanks_s=0.5, response_interval_s=0.0,
        supervisor_pin_hash=pin_hash, technician_pin_hash=pin_hash,
    )
    happy, content = DEFAULT_SCALE[0].colour, DEFAULT_SCALE[1].colour
    with KioskProcess(config, display) as kiosk:
        # Something for the supervisor to count (no low rating: it would ask why).
        for colour in (happy, content, happy):
            kiosk.wait_for(showing(colour))
            kiosk.tap_colour(colour)
            kiosk.wait_for(showing(THANKS_BACKGROUND))
        kiosk.wait_for(lambda png: showing(happy)(png) and showing(STAFF_MARK)(png))
        open_staff_menu(kiosk)
        save("kiosk-staff-menu", kiosk.wait_for(showing(MENU_SIGN_IN)))
        kiosk.tap_colour(MENU_SIGN_IN)
        save("kiosk-staff-roster", kiosk.wait_for(showing(ROSTER_PANEL)))
        tap_cell(kiosk, ROSTER_PANEL, 1, ROSTER_COLUMNS)
        save("kiosk-staff-pin", kiosk.wait_for(showing(KEYPAD_PANEL)))
        kiosk.tap_colour(MENU_BACK)
        kiosk.wait_for(showing(MENU_SUPERVISOR))
        kiosk.tap_colour(MENU_SUPERVISOR)
        enter_pin(kiosk, DEMO_PIN)
        save("kiosk-staff-supervisor", kiosk.wait_for(showing(SUPERVISOR_HEADER)))
        kiosk.tap_colour(MENU_BACK)
        kiosk.wait_for(showing(MENU_TECHNICIAN))
        kiosk.tap_colour(MENU_TECHNICIAN)
        enter_pin(kiosk, DEMO_PIN)
        technician = kiosk.wait_for(showing(SERVER_URL_ROW))
        save("kiosk-staff-technician", technician)
        # A tap in the server URL field brings up the on-screen keyboard.
        row = colour_box(technician, SERVER_URL_ROW)
        assert row is not None
        click(display, kiosk.window, row.x + int(row.width * 0.6), row.y + row.height // 2)
        save("kiosk-staff-technician-keyboard", kiosk.wait_for(showing(TECHNICIAN_KEYBOARD)))
