"""The staff side of the real kiosk app in a real window (Xvfb), driven by real X
events: the hidden staff entry, officer sign-in by photo and PIN and by badge scan,
the technician's PIN lock across a restart, and the citizen's language toggle."""

import json
import time

import pytest
from argon2 import PasswordHasher
from xvfb import Xvfb, click, colour_box

from hailong.config.settings import DEFAULT_SCALE
from hailong.device.simulator import Simulator
from hailong.kiosk.harness import (
    KioskProcess,
    seed_demo_store,
    showing,
    stored_rows,
    stored_state,
    write_settings,
)
from hailong.kiosk.staff import views
from hailong.kiosk.staff.drive import (
    enter_pin,
    give_credentials,
    open_staff_menu,
    scan_badge,
    tap_cell,
    xdotool,
)
from hailong.kiosk.viewmodels import THANKS_BACKGROUND

pytestmark = pytest.mark.gui

SCREEN = (1024, 600)
FIRST_LEVEL = DEFAULT_SCALE[0].colour
# Cheap Argon2 parameters: the kiosk verifies with whatever a hash says.
HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
OFFICER_PINS = {1: "1111", 2: "2468", 3: "3690", 4: "4444"}
BADGES = {2: "HL-0002-HUNG", 3: "HL-0003-MAI"}
TECHNICIAN_PIN = "909090"


@pytest.fixture(scope="module")
def display():
    with Xvfb(*SCREEN) as x:
        yield x.display


def prepare(tmp_path):
    """A demo kiosk whose officers have PINs and badges, and a technician PIN."""
    data_dir = tmp_path / "kiosk"
    seed_demo_store(data_dir, officer_id=1)
    give_credentials(data_dir / "kiosk.db", OFFICER_PINS, BADGES, hash_with=HASHER.hash)
    settings = write_settings(
        tmp_path / "kiosk.toml", data_dir, language="vi", window_size=SCREEN, thanks_s=0.5,
        technician_pin_hash=HASHER.hash(TECHNICIAN_PIN),
    )
    return settings, data_dir / "kiosk.db"


def rated_officers(database):
    rows = stored_rows(database, "SELECT officer_id FROM ratings ORDER BY kiosk_seq")
    return [row["officer_id"] for row in rows]


def rate(kiosk, idle_picture):
    """A citizen's tap, thanked, and the kiosk back at the question."""
    kiosk.tap_colour(FIRST_LEVEL)
    kiosk.wait_for(showing(THANKS_BACKGROUND))
    kiosk.wait_for(lambda png: png == idle_picture)


def eventually(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never became true"
        time.sleep(0.05)


def test_officers_sign_in_by_photo_and_pin_and_by_badge_and_the_technician_by_pin(
    display, tmp_path
):
    settings, database = prepare(tmp_path)
    with KioskProcess(settings, display) as kiosk:
        serving_lan = kiosk.wait_for(showing(FIRST_LEVEL))
        rate(kiosk, serving_lan)
        # The staff screens are made when the menu opens, and again after it closed.
        assert "staff screens made" not in kiosk.log()
        open_staff_menu(kiosk)
        assert kiosk.log().count("staff screens made") == 1
        kiosk.tap_colour(views.MENU_SIGN_IN)
        # The second photo of the roster: Trần Văn Hùng, officer 2.
        tap_cell(kiosk, views.ROSTER_PANEL, 1, views.ROSTER_COLUMNS)
        kiosk.wait_for(showing(views.KEYPAD_PANEL))
        enter_pin(kiosk, OFFICER_PINS[2])
        eventually(lambda: stored_state(database, "officer_id") == "2")
        serving_hung = kiosk.wait_for(
            lambda png: colour_box(png, FIRST_LEVEL) is not None
            and colour_box(png, views.KEYPAD_PANEL) is None
        )
        assert serving_hung != serving_lan
        assert "officer signed in: 2" in kiosk.log()

        # A USB barcode scanner types the code and Enter within milliseconds.
        scan_badge(kiosk, BADGES[3])
        eventually(lambda: stored_state(database, "officer_id") == "3")
        serving_mai = kiosk.wait_for(lambda png: png not in (serving_lan, serving_hung)
                                     and colour_box(png, FIRST_LEVEL) is not None)
        rate(kiosk, serving_mai)
        # Hand-over loses nothing: each rating stays with whoever was serving.
        assert rated_officers(database) == [1, 3]

        # The same characters typed at a person's pace are not a scan.
        scan_badge(kiosk, BADGES[2], key_delay_ms=150)

        # The technician's screen opens with the right PIN.
        open_staff_menu(kiosk)
        assert kiosk.log().count("staff screens made") == 2
        # (The menu came after those keys, so they have been handled by now.)
        assert stored_state(database, "officer_id") == "3"
        kiosk.tap_colour(views.MENU_TECHNICIAN)
        enter_pin(kiosk, TECHNICIAN_PIN)
        kiosk.wait_for(showing(views.TECHNICIAN_HEADER))

        # A server URL the settings refuse is not saved; a good one is.
        def set_server_url(text):
            row = colour_box(kiosk.wait_for(showing(views.SERVER_URL_ROW)), views.SERVER_URL_ROW)
            y = row.y + row.height // 2
            click(kiosk.display, kiosk.window, row.x + int(row.width * 0.35), y)
            xdotool(kiosk, "key", "ctrl+a")
            xdotool(kiosk, "type", "--delay", "20", text)
            click(kiosk.display, kiosk.window, row.x + int(row.width * 0.9), y)

        set_server_url("not a url")
        eventually(lambda: "change of sync.server_url refused" in kiosk.log())
        assert stored_state(database, "settings_override") is None
        set_server_url("http://127.0.0.1:8181")
        eventually(lambda: stored_state(database, "settings_override") is not None)
        assert json.loads(stored_state(database, "settings_override")) == {
            "sync": {"server_url": "http://127.0.0.1:8181"}
        }


def test_wrong_technician_pins_lock_it_even_after_a_restart(display, tmp_path):
    settings, _database = prepare(tmp_path)
    with KioskProcess(settings, display) as kiosk:
        open_staff_menu(kiosk)
        kiosk.tap_colour(views.MENU_TECHNICIAN)
        for attempt in range(3):
            kiosk.wait_for(showing(views.KEYPAD_PANEL))
            assert colour_box(kiosk.screen(), views.LOCKED_BANNER) is None, attempt
            enter_pin(kiosk, "123456")
        kiosk.wait_for(showing(views.LOCKED_BANNER))

    with KioskProcess(settings, display) as kiosk:
        open_staff_menu(kiosk)
        kiosk.tap_colour(views.MENU_TECHNICIAN)
        kiosk.wait_for(showing(views.LOCKED_BANNER))
        # Even the right PIN is not tried while locked.
        enter_pin(kiosk, TECHNICIAN_PIN)
        kiosk.wait_for(showing(views.LOCKED_BANNER))
        assert colour_box(kiosk.screen(), views.TECHNICIAN_HEADER) is None
        assert "PIN accepted" not in kiosk.log()


def test_the_language_toggle_switches_the_question_to_english_and_back(display, tmp_path):
    settings, _database = prepare(tmp_path)
    with KioskProcess(settings, display) as kiosk:
        vietnamese = kiosk.wait_for(showing(views.LANGUAGE_TOGGLE))
        tap_cell(kiosk, views.LANGUAGE_TOGGLE, 3, 4)
        english = kiosk.wait_for(lambda png: png != vietnamese
                                 and colour_box(png, FIRST_LEVEL) is not None)
        assert "language: en" in kiosk.log()
        tap_cell(kiosk, views.LANGUAGE_TOGGLE, 0, 4)
        assert kiosk.wait_for(lambda png: png != english) == vietnamese

        # After a rating the next citizen starts in Vietnamese again.
        tap_cell(kiosk, views.LANGUAGE_TOGGLE, 3, 4)
        kiosk.wait_for(lambda png: png == english)
        kiosk.tap_colour(FIRST_LEVEL)
        assert kiosk.wait_for(lambda png: png == vietnamese, timeout=15) == vietnamese


def test_the_button_test_lights_each_press_on_screen_and_stores_none(display, tmp_path):
    settings, database = prepare(tmp_path)
    box = Simulator(link=tmp_path / "box")
    box.start()
    # The same kiosk, with its button box on the simulator's serial line.
    text = settings.read_text(encoding="utf-8").replace(
        "[device]\nenabled = false\n", f"[device]\nport = {json.dumps(str(tmp_path / 'box'))}\n"
    )
    settings.write_text(text, encoding="utf-8")
    try:
        with KioskProcess(settings, display) as kiosk:
            open_staff_menu(kiosk)
            kiosk.tap_colour(views.MENU_TECHNICIAN)
            enter_pin(kiosk, TECHNICIAN_PIN)
            kiosk.wait_for(showing(views.BUTTON_TEST_ROW))
            kiosk.tap_colour(views.BUTTON_TEST_ROW)
            third = DEFAULT_SCALE[2].colour
            assert colour_box(kiosk.screen(), third) is None
            box.press(3)
            kiosk.wait_for(showing(third))
            assert rated_officers(database) == []
    finally:
        box.close()
