"""The real kiosk app in a real window (Xvfb), tapped with real X events, checked by
what is on screen and what landed in its SQLite file."""

import json
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from xvfb import Xvfb, colour_box, display_env, screen_size

from hailong.config.settings import DEFAULT_SCALE
from hailong.kiosk.harness import (
    KioskProcess,
    seed_demo_store,
    showing,
    stored_rows,
    write_settings,
)
from hailong.kiosk.viewmodels import THANKS_BACKGROUND

pytestmark = pytest.mark.gui

SCREEN = (1280, 800)
LEVELS = [level.colour for level in DEFAULT_SCALE]


@pytest.fixture(scope="module")
def display():
    with Xvfb(*SCREEN) as x:
        yield x.display


@pytest.fixture(scope="module")
def kiosk(display, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gui")
    data_dir = tmp / "kiosk"
    seed_demo_store(data_dir, officer_id=1)
    config = write_settings(
        tmp / "kiosk.toml", data_dir, language="en", fullscreen=True, thanks_s=1.0,
        # Every level straight to the thank-you: the follow-up has its own tests.
        response_interval_s=0.0, low_rating_max_sipas=0,
    )
    with KioskProcess(config, display) as app:
        app.database = data_dir / "kiosk.db"
        yield app


def stored_ratings(database):
    rows = stored_rows(
        database,
        "SELECT source, button, sipas_level, officer_id, counter_id, flags "
        "FROM ratings ORDER BY kiosk_seq",
    )
    return [(row["source"], row["button"], row["sipas_level"], row["officer_id"],
             row["counter_id"], json.loads(row["flags"])) for row in rows]


def png_size(png):
    return struct.unpack(">II", png[16:24])


def test_the_kiosk_fills_the_screen_with_the_touch_buttons(kiosk):
    idle = kiosk.wait_for(showing(LEVELS[0]))
    assert screen_size(kiosk.display) == SCREEN
    # Fullscreen even with no window manager to honour the request.
    assert png_size(idle) == SCREEN
    boxes = [colour_box(idle, colour) for colour in LEVELS]
    assert all(boxes), "every level has its coloured button"
    # Button 1 on the left, as on the box; all of them big enough for a finger.
    assert [box.x for box in boxes] == sorted(box.x for box in boxes)
    assert all(box.width > 150 and box.height > 150 for box in boxes)


def test_each_tap_is_stored_and_thanked_the_same_whatever_was_chosen(kiosk):
    thanks_seen = []
    for colour in LEVELS:
        kiosk.wait_for(showing(colour))
        kiosk.tap_colour(colour)
        thanks = kiosk.wait_for(showing(THANKS_BACKGROUND), timeout=5)
        assert not any(colour_box(thanks, level) for level in LEVELS)
        thanks_seen.append(thanks)

    # Officer-blind: not one pixel tells which button was pressed.
    assert all(png == thanks_seen[0] for png in thanks_seen)
    assert stored_ratings(kiosk.database) == [
        ("touch", 1, 5, 1, 1, []),
        ("touch", 2, 4, 1, 1, []),
        ("touch", 3, 3, 1, 1, []),
        ("touch", 4, 2, 1, 1, []),
    ]
    # ...and it goes back to the question by itself.
    kiosk.wait_for(showing(LEVELS[0]), timeout=5)


def test_the_running_kiosk_has_not_loaded_the_servers_libraries(kiosk):
    # After taps were stored: SQLAlchemy and requests (with what they pull in) cost a
    # kiosk about 20 MB; the store and the uploader use the standard library. Their
    # compiled parts show among the process's mapped files once imported.
    mapped = Path(f"/proc/{kiosk.pid}/maps").read_text()
    assert "/site-packages/kivy/" in mapped  # the check sees the app's libraries
    for library in ("/sqlalchemy/", "/charset_normalizer/"):
        assert library not in mapped, library


def test_escape_f1_and_alt_f4_neither_close_the_kiosk_nor_open_settings(kiosk):
    before = len(stored_ratings(kiosk.database))
    for keys in ("Escape", "F1", "alt+F4"):
        kiosk.press_key(keys)
    # Still showing the buttons (no settings panel over them) and still taking taps.
    kiosk.wait_for(showing(LEVELS[1]))
    kiosk.tap_colour(LEVELS[1])
    kiosk.wait_for(showing(THANKS_BACKGROUND), timeout=5)
    assert len(stored_ratings(kiosk.database)) == before + 1
    assert kiosk.running


def test_the_service_manager_stops_it_cleanly(kiosk):
    assert kiosk.stop() == 0
    assert "stopping the kiosk app" in kiosk.log()


def test_an_unexpected_error_in_the_app_is_logged_and_exits_non_zero(display, tmp_path):
    data_dir = tmp_path / "kiosk"
    seed_demo_store(data_dir)
    config = write_settings(tmp_path / "kiosk.toml", data_dir, language="en")
    # The real start-up path, with a fault planted in a Kivy callback of the running app.
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from hailong.config.loader import load_kiosk
        from hailong.kiosk.kivy_env import prepare_kivy_environment
        settings = load_kiosk(Path(sys.argv[1]))
        prepare_kivy_environment(settings.kiosk.data_dir / "kivy")
        from kivy.clock import Clock
        from hailong.kiosk.app import run_app

        def fault(_dt):
            raise RuntimeError("planted fault")

        Clock.schedule_once(fault, 0.5)
        sys.exit(run_app(settings, settings.kiosk.database_path))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(config)],
        env=display_env(display),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 70, result.stderr
    assert "unexpected error in the kiosk app" in result.stderr
    assert "RuntimeError: planted fault" in result.stderr
    assert result.stderr.count("Traceback") == 1  # logged once, not also dumped by Python
