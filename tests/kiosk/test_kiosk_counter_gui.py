"""The counter's day in the real kiosk app, in a real window (Xvfb), driven by real X
events and a simulated button box on a real pseudo-terminal, and checked on screen
and in the kiosk's SQLite file: the supervisor's figures, the sign-out at the end of
the shift, a tap and a press made together, and the technician's on-screen keyboard."""

import json
import os
import shutil
import subprocess
import time
import zoneinfo
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher
from xvfb import Xvfb, click, colour_box

from hailong.config.settings import DEFAULT_SCALE
from hailong.device.simulator import Simulator
from hailong.kiosk.harness import (
    KioskProcess,
    demo_config,
    seed_demo_store,
    showing,
    stored_rows,
    stored_state,
    write_settings,
)
from hailong.kiosk.session import RatingSession
from hailong.kiosk.staff import views
from hailong.kiosk.staff.drive import enter_pin, open_staff_menu
from hailong.kiosk.vi_keyboard import URL_KEYBOARD_ROWS, Key, keys_for
from hailong.kiosk.viewmodels import THANKS_BACKGROUND

pytestmark = pytest.mark.gui

SCREEN = (1024, 600)
LEVELS = [level.colour for level in DEFAULT_SCALE]
# Cheap Argon2 parameters: the kiosk verifies with whatever a hash says.
HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
STAFF_PIN = "909090"
ZONE = "Asia/Ho_Chi_Minh"


@pytest.fixture(scope="module")
def display():
    with Xvfb(*SCREEN) as x:
        yield x.display


def prepare(tmp_path, **kiosk):
    """A demo kiosk with officer 1 signed in, whose every level goes straight to the
    thank-you, with staff PINs; `kiosk` adds or replaces [kiosk] settings."""
    data_dir = tmp_path / "kiosk"
    seed_demo_store(data_dir, officer_id=1)
    pin_hash = HASHER.hash(STAFF_PIN)
    options = {
        "language": "en", "window_size": SCREEN, "thanks_s": 0.5, "response_interval_s": 0.0,
        "low_rating_max_sipas": 0, "supervisor_pin_hash": pin_hash,
        "technician_pin_hash": pin_hash, **kiosk,
    }
    return write_settings(tmp_path / "kiosk.toml", data_dir, **options), data_dir / "kiosk.db"


def stored(database):
    rows = stored_rows(
        database,
        "SELECT officer_id, source, button, sipas_level, flags, wall_time "
        "FROM ratings ORDER BY kiosk_seq",
    )
    return [{**row, "flags": json.loads(row["flags"])} for row in rows]


def eventually(condition, timeout=10.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not come true within {timeout} s"
        time.sleep(0.05)


# -- (a) the supervisor's figures --------------------------------------------------------


def percent(part, whole):
    return "—" if whole == 0 else f"{part / whole * 100:.1f} %"


def expected_table(rows, now):
    """The supervisor's rows for the demo roster, worked out here from the stored
    ratings: counts today and this month (local time), valid = not flagged, and this
    month's SIPAS index (levels 4–5) and Decision 766 rate (all but levels 1–2)."""
    local = now.astimezone(ZoneInfo(ZONE))
    today = local.replace(hour=0, minute=0, second=0, microsecond=0)
    month = today.replace(day=1)

    def when(row):
        return datetime.fromisoformat(row["wall_time"].removesuffix("Z")).replace(tzinfo=UTC)

    table = []
    for officer in demo_config().officers:
        theirs = [r for r in rows if r["officer_id"] == officer.id and when(r) >= month]
        valid = [r for r in theirs if not r["flags"]]
        table.append([
            officer.name,
            str(sum(when(r) >= today for r in theirs)),
            str(sum(when(r) >= today for r in valid)),
            str(len(theirs)),
            str(len(valid)),
            percent(sum(r["sipas_level"] >= 4 for r in valid), len(valid)),
            percent(sum(r["sipas_level"] > 2 for r in valid), len(valid)),
        ])
    return table


def test_the_supervisor_sees_the_counts_and_indices_of_the_ratings_given(
    display, tmp_path, monkeypatch
):
    trace = tmp_path / "trace.txt"
    monkeypatch.setenv("HAILONG_KIOSK_TRACE", str(trace))
    # Long enough that the second tap, right after the first thank-you, is too soon
    # even on a loaded machine.
    interval_s = 2.5
    settings, database = prepare(tmp_path, response_interval_s=interval_s)
    with KioskProcess(settings, display) as kiosk:
        idle = kiosk.wait_for(showing(LEVELS[0]))
        # Level 1, level 2 too soon after it (kept, flagged), then levels 4 and 3 each
        # after the response interval: three valid ratings of four.
        tapped_at = [0.0]
        for level, wait in ((0, False), (1, False), (3, True), (2, True)):
            if wait:
                eventually(lambda: time.monotonic() - tapped_at[-1] > interval_s + 0.2)
            kiosk.tap_colour(LEVELS[level])
            tapped_at.append(time.monotonic())
            kiosk.wait_for(showing(THANKS_BACKGROUND))
            kiosk.wait_for(lambda png: png == idle)
        rows = stored(database)
        assert [(r["button"], r["flags"]) for r in rows] == [
            (1, []), (2, ["too_soon"]), (4, []), (3, []),
        ]

        open_staff_menu(kiosk)
        kiosk.tap_colour(views.MENU_SUPERVISOR)
        enter_pin(kiosk, STAFF_PIN)
        kiosk.wait_for(showing(views.SUPERVISOR_HEADER))
        eventually(lambda: trace.exists() and "supervisor table" in trace.read_text(),
                   what="the supervisor's table")
        shown = next(json.loads(line.split(" supervisor table ", 1)[1])
                     for line in trace.read_text(encoding="utf-8").splitlines()
                     if " supervisor table " in line)
    assert shown[1:] == expected_table(rows, datetime.now(UTC))
    # Worked out by hand, for the officer who was serving.
    assert shown[1][1:] == ["4", "3", "4", "3", "33.3 %", "66.7 %"]


# -- (b) the automatic sign-out at the end of the shift ---------------------------------


def zone_ending_in(directory, seconds):
    """A time zone (compiled with `zic`) in which it is 12:00:00 `seconds` from now,
    so that opening hours ending at 12:00 end then; its name and the weekday there."""
    end = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=seconds + 1)
    since_midnight = end.hour * 3600 + end.minute * 60 + end.second
    offset = (12 * 3600 - since_midnight) % 86400
    if offset > 43200:
        offset -= 86400
    sign, size = ("-" if offset < 0 else ""), abs(offset)
    source = directory / "zone.txt"
    source.write_text(
        f"Zone Test/ShiftEnd {sign}{size // 3600}:{size % 3600 // 60:02}:{size % 60:02} - LOCAL\n",
        encoding="utf-8",
    )
    zic = shutil.which("zic", path=os.pathsep.join((os.environ.get("PATH", ""), "/usr/sbin")))
    assert zic, "zic (Debian: libc-bin) compiles the test's time zone"
    subprocess.run([zic, "-d", str(directory), str(source)], check=True, timeout=20)
    return "Test/ShiftEnd", (end + timedelta(seconds=offset)).isoweekday(), end


def test_the_officer_is_signed_out_when_the_last_open_period_ends(
    display, tmp_path, monkeypatch
):
    zones = tmp_path / "zones"
    zones.mkdir()
    zone, weekday, ends_at = zone_ending_in(zones, seconds=12)
    monkeypatch.setenv("PYTHONTZPATH", os.pathsep.join((str(zones), *zoneinfo.TZPATH)))
    settings, database = prepare(tmp_path)
    text = settings.read_text(encoding="utf-8").replace(
        "\n[kiosk.opening_hours]\nenabled = false\n",
        f'\n[kiosk.opening_hours]\ntimezone = "{zone}"\n'
        f'periods = [{{ days = [{weekday}], start = "11:00", end = "12:00" }}]\n',
    )
    settings.write_text(text, encoding="utf-8")

    with KioskProcess(settings, display) as kiosk:
        serving = kiosk.wait_for(showing(LEVELS[0]))
        kiosk.tap_colour(LEVELS[0])
        kiosk.wait_for(showing(THANKS_BACKGROUND))
        kiosk.wait_for(lambda png: png == serving)
        assert datetime.now(UTC) < ends_at, "the kiosk took too long to start for this test"
        assert stored_state(database, "officer_id") == "1"

        eventually(lambda: stored_state(database, "officer_id") == "", timeout=20,
                   what="the sign-out")
        assert datetime.now(UTC) >= ends_at
        on_break = kiosk.wait_for(lambda png: png != serving and showing(LEVELS[0])(png))
        kiosk.tap_colour(LEVELS[0])
        kiosk.wait_for(showing(THANKS_BACKGROUND))
        kiosk.wait_for(lambda png: png == on_break)
        assert "signing the officer out" in kiosk.log()
    assert [(r["officer_id"], r["flags"]) for r in stored(database)] == [
        (1, []),
        (None, ["no_officer", "outside_hours"]),
    ]


# -- (c) a tap and a press at the same moment --------------------------------------------


def test_a_tap_and_a_box_press_together_are_one_rating_and_the_box_is_answered(
    display, tmp_path
):
    box = Simulator(link=tmp_path / "box")
    box.start()
    settings, database = prepare(tmp_path)
    text = settings.read_text(encoding="utf-8").replace(
        "[device]\nenabled = false\n", f"[device]\nport = {json.dumps(str(tmp_path / 'box'))}\n"
    )
    settings.write_text(text, encoding="utf-8")
    try:
        with KioskProcess(settings, display) as kiosk:
            eventually(lambda: "is connected on" in kiosk.log(), what="the box connection")
            button = colour_box(kiosk.wait_for(showing(LEVELS[1])), LEVELS[1])
            since = box.mark()
            started = time.monotonic()
            click(kiosk.display, kiosk.window, *button.centre)
            box.press(2)
            assert time.monotonic() - started < RatingSession.COINCIDENCE_S
            # The box sees its press acknowledged (its light confirms it to the citizen).
            box.wait_for(lambda event: event["event"] == "ack", timeout=10, since=since)
            eventually(lambda: "at the same moment as the previous rating: one rating"
                       in kiosk.log(), what="the second half of the rating")
            kiosk.wait_for(showing(THANKS_BACKGROUND))
        rows = stored(database)
        assert len(rows) == 1, rows
        assert (rows[0]["button"], rows[0]["officer_id"], rows[0]["flags"]) == (2, 1, [])
    finally:
        box.close()


# -- (d) the technician's on-screen keyboard ---------------------------------------------


def test_the_technician_types_a_server_url_on_the_on_screen_keyboard(display, tmp_path):
    settings, database = prepare(tmp_path)
    with KioskProcess(settings, display) as kiosk:
        open_staff_menu(kiosk)
        kiosk.tap_colour(views.MENU_TECHNICIAN)
        enter_pin(kiosk, STAFF_PIN)
        screen = kiosk.wait_for(showing(views.SERVER_URL_ROW))
        assert colour_box(screen, views.TECHNICIAN_KEYBOARD) is None
        row = colour_box(screen, views.SERVER_URL_ROW)
        middle = row.y + row.height // 2

        def type_url(old, new):
            # A tap right of the text puts the cursor at its end.
            click(kiosk.display, kiosk.window, row.x + int(row.width * 0.6), middle)
            kiosk.wait_for(showing(views.TECHNICIAN_KEYBOARD))
            kiosk.type_keys([Key("backspace", "")] * len(old) + keys_for(new),
                            URL_KEYBOARD_ROWS, views.TECHNICIAN_KEYBOARD)
            # "Save"; the field loses the focus, and the keyboard goes.
            click(kiosk.display, kiosk.window, row.x + int(row.width * 0.9), middle)

        # A slip in the port: "8080/" becomes "99999".
        type_url("8080/", "99999")
        refused = kiosk.wait_for(showing(views.MESSAGE_REFUSED))
        assert colour_box(refused, views.TECHNICIAN_KEYBOARD) is None
        assert ("technician's change of sync.server_url refused: sync.server_url: expected a URL "
                'such as http://server:8080; found "http://127.0.0.1:99999"') in kiosk.log()
        assert stored_state(database, "settings_override") is None

        # Typed afresh, letters, digits and signs.
        type_url("http://127.0.0.1:99999", "http://10.0.0.5:8181")
        kiosk.wait_for(showing(views.MESSAGE_SAVED))
        eventually(lambda: stored_state(database, "settings_override") is not None)
        assert json.loads(stored_state(database, "settings_override")) == {
            "sync": {"server_url": "http://10.0.0.5:8181"}
        }
        assert "technician changed sync.server_url" in kiosk.log()

        # The kiosk reads its settings at start: once the technician leaves, it stops
        # for its service manager to start it again, with the new URL.
        kiosk.tap_colour(views.MENU_BACK)
        kiosk.wait_for(showing(views.MENU_SIGN_IN))
        assert kiosk.running
        kiosk.tap_colour(views.MENU_BACK)
        eventually(lambda: not kiosk.running)
        assert kiosk.stop() == 0
        assert "settings changed by the technician; stopping, to be started again" in kiosk.log()
