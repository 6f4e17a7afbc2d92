"""Driving the staff screens of a running kiosk (`harness.KioskProcess`) with real X
input, as a member of staff would, and giving a demo store's officers PINs and
badges: for the GUI tests and the screenshot tool. No Kivy here."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from hailong.kiosk.harness import KioskProcess, showing
from hailong.kiosk.staff.pins import badge_hash, hash_pin
from hailong.kiosk.staff.views import KEYPAD_PANEL, KEYPAD_ROWS, MENU_SIGN_IN, STAFF_MARK
from hailong.kiosk.xdisplay import click, colour_box, display_env


def give_credentials(
    database: Path,
    pins: Mapping[int, str],
    badges: Mapping[int, str] = {},
    hash_with: Callable[[str], str] = hash_pin,
) -> None:
    """Give the officers of an enrolled kiosk's roster their PINs and badge codes, as
    the server would send them (hashed)."""
    from hailong.kiosk.enrollment import load_config
    from hailong.sync.store import KioskStore

    with KioskStore(database) as store:
        config = load_config(store)
        assert config is not None, "the kiosk is not enrolled"
        officers = [
            officer.model_copy(update={
                "pin_hash": hash_with(pins[officer.id]) if officer.id in pins else None,
                "badge_hash": badge_hash(badges[officer.id]) if officer.id in badges else None,
            })
            for officer in config.officers
        ]
        store.set_state("config", config.model_copy(update={"officers": officers})
                        .model_dump_json())


def xdotool(kiosk: KioskProcess, *args: str) -> None:
    subprocess.run(["xdotool", *args], env=display_env(kiosk.display), check=True, timeout=20)


def open_staff_menu(kiosk: KioskProcess) -> None:
    """Hold the corner mark until the menu opens."""
    mark = colour_box(kiosk.wait_for(showing(STAFF_MARK)), STAFF_MARK)
    assert mark is not None
    x, y = mark.centre
    # The pointer comes from a pixel away so that the window knows where it is.
    xdotool(kiosk, "mousemove", "--window", kiosk.window, "--sync", str(x + 1), str(y + 1),
            "mousemove", "--window", kiosk.window, "--sync", str(x), str(y), "mousedown", "1")
    try:
        kiosk.wait_for(showing(MENU_SIGN_IN), timeout=10)
    finally:
        xdotool(kiosk, "mouseup", "1")


def tap_cell(
    kiosk: KioskProcess, colour: str, column: int, columns: int, row: int = 0, rows: int = 1
) -> None:
    """Tap cell (column, row) of a grid laid evenly over what is painted `colour`."""
    box = colour_box(kiosk.wait_for(showing(colour)), colour)
    assert box is not None
    click(kiosk.display, kiosk.window,
          box.x + int((column + 0.5) * box.width / columns),
          box.y + int((row + 0.5) * box.height / rows))


def enter_pin(kiosk: KioskProcess, pin: str) -> None:
    """Tap the PIN's digits, then OK, on the keypad."""
    pad = colour_box(kiosk.wait_for(showing(KEYPAD_PANEL)), KEYPAD_PANEL)
    assert pad is not None
    columns, rows = len(KEYPAD_ROWS[0]), len(KEYPAD_ROWS)
    places = {name: (c, r) for r, keys in enumerate(KEYPAD_ROWS) for c, name in enumerate(keys)}
    for name in [*pin, "ok"]:
        column, row = places[name]
        click(kiosk.display, kiosk.window,
              pad.x + int((column + 0.5) * pad.width / columns),
              pad.y + int((row + 0.5) * pad.height / rows))


def scanner_keys(code: str) -> Sequence[str]:
    """The keys a USB barcode scanner presses for `code`, Enter included (xdotool names)."""
    names = {"-": "minus", ".": "period", "/": "slash", " ": "space"}
    return [
        f"shift+{char.lower()}" if char.isupper() else names.get(char, char) for char in code
    ] + ["Return"]


def scan_badge(kiosk: KioskProcess, code: str, key_delay_ms: int = 10) -> None:
    xdotool(kiosk, "windowfocus", "--sync", kiosk.window,
            "key", "--delay", str(key_delay_ms), *scanner_keys(code))
