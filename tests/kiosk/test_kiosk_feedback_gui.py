"""The citizen's follow-up after a low rating, in the real app in a real window
(Xvfb), tapped with real X events — the on-screen keyboard included — and checked by
what is on screen and what landed in the kiosk's SQLite file."""

import re
import time
import unicodedata

import pytest
from xvfb import Xvfb, colour_box

from hailong.config.reasons import REASON_CODES
from hailong.config.settings import DEFAULT_SCALE
from hailong.kiosk.harness import (
    KioskProcess,
    filling,
    seed_demo_store,
    showing,
    stored_rows,
    write_settings,
)
from hailong.kiosk.vi_keyboard import keys_for
from hailong.kiosk.viewmodels import (
    CHOICE_COLOUR,
    COMMENT_BACKGROUND,
    CONSENT_BACKGROUND,
    KEYPAD_ROWS,
    PHONE_BACKGROUND,
    PRIMARY_COLOUR,
    REASON_BACKGROUND,
    SECONDARY_COLOUR,
    THANKS_BACKGROUND,
)

pytestmark = pytest.mark.gui

LEVELS = [level.colour for level in DEFAULT_SCALE]
# Both "Bình thường" (SIPAS 3) and "Không hài lòng" (SIPAS 2) ask for a reason here.
ASKING = LEVELS[2:]
# Long enough for a loaded test machine to tap through a page, short enough to wait out.
TIMEOUT_S = 6.0
COMMENT = "Người dân chờ quá lâu"


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("feedback-gui")
    data_dir = tmp / "kiosk"
    seed_demo_store(data_dir, officer_id=1)
    config = write_settings(
        tmp / "kiosk.toml", data_dir, language="vi", thanks_s=2.0, response_interval_s=0.0,
        reason_timeout_s=TIMEOUT_S, low_rating_max_sipas=3,
    )
    with Xvfb(1024, 600) as x, KioskProcess(config, x.display) as app:
        app.database = data_dir / "kiosk.db"
        yield app


def last_row(database):
    (row,) = stored_rows(
        database,
        "SELECT button, reason, comment, callback_phone, phone_consent, held "
        "FROM ratings ORDER BY kiosk_seq DESC LIMIT 1",
    )
    return row


def rate(kiosk, colour):
    kiosk.wait_for(showing(LEVELS[0]), timeout=10)
    kiosk.tap_colour(colour)


def skip_every_question(kiosk):
    """From the reason page: skip, skip, no thanks, until the thank-you shows. The rating
    is kept, with nothing added."""
    kiosk.tap_colour(SECONDARY_COLOUR)
    kiosk.wait_for(filling(COMMENT_BACKGROUND), timeout=5)
    kiosk.tap_colour(SECONDARY_COLOUR)
    kiosk.wait_for(filling(CONSENT_BACKGROUND), timeout=5)
    kiosk.tap_colour(SECONDARY_COLOUR)
    kiosk.wait_for(filling(THANKS_BACKGROUND), timeout=5)


def test_a_low_rating_leads_through_reason_comment_consent_and_phone(kiosk):
    rate(kiosk, LEVELS[-1])
    kiosk.wait_for(filling(REASON_BACKGROUND), timeout=5)
    # Stored at once, and held back from upload while the citizen answers.
    assert last_row(kiosk.database)["held"] == 1
    kiosk.tap_choice(CHOICE_COLOUR, 0, len(REASON_CODES))

    kiosk.wait_for(filling(COMMENT_BACKGROUND), timeout=5)
    kiosk.type_keys(keys_for(COMMENT))
    kiosk.tap_colour(PRIMARY_COLOUR)

    kiosk.wait_for(filling(CONSENT_BACKGROUND), timeout=5)
    kiosk.tap_colour(PRIMARY_COLOUR)

    kiosk.wait_for(filling(PHONE_BACKGROUND), timeout=5)
    kiosk.type_keys(keys_for("0912345678"), KEYPAD_ROWS)
    # "Send" shows in full only once the number is complete.
    kiosk.wait_for(showing(PRIMARY_COLOUR), timeout=5)
    kiosk.tap_colour(PRIMARY_COLOUR)

    kiosk.wait_for(filling(THANKS_BACKGROUND), timeout=5)
    row = last_row(kiosk.database)
    assert row == {
        "button": 4,
        "reason": "waited_too_long",
        "comment": COMMENT,
        "callback_phone": "0912345678",
        "phone_consent": 1,
        "held": 0,
    }
    assert unicodedata.is_normalized("NFC", row["comment"])


def test_a_low_rating_left_alone_is_released_without_a_reason(kiosk):
    rate(kiosk, LEVELS[-1])
    kiosk.wait_for(filling(REASON_BACKGROUND), timeout=5)
    shown = time.monotonic()
    kiosk.wait_for(filling(THANKS_BACKGROUND), timeout=TIMEOUT_S + 5)
    assert time.monotonic() - shown >= TIMEOUT_S - 0.5
    assert last_row(kiosk.database) == {
        "button": 4, "reason": None, "comment": None, "callback_phone": None,
        "phone_consent": 0, "held": 0,
    }


def test_the_reason_page_looks_the_same_whichever_low_level_was_pressed(kiosk):
    pictures = []
    for colour in ASKING:
        rate(kiosk, colour)
        reason_page = kiosk.wait_for(filling(REASON_BACKGROUND), timeout=5)
        assert not any(colour_box(reason_page, level) for level in LEVELS)
        pictures.append(reason_page)
        skip_every_question(kiosk)
        assert last_row(kiosk.database)["held"] == 0
    assert pictures[0] == pictures[1]


def test_the_follow_up_pages_are_made_for_each_citizen_and_dropped_after(kiosk):
    """Made when a citizen is asked, dropped when the flow is past them: no page of
    the follow-up stays in memory between citizens."""
    seen = len(kiosk.log())
    rate(kiosk, LEVELS[-1])
    kiosk.wait_for(filling(REASON_BACKGROUND), timeout=5)
    skip_every_question(kiosk)
    since = kiosk.log()[seen:]
    assert re.findall(r"follow-up page made: (\w+)", since) == ["reason", "comment", "consent"]
    assert re.findall(r"follow-up pages dropped: (.+)", since) == ["reason, comment, consent"]


def test_a_high_rating_is_thanked_straight_away(kiosk):
    rate(kiosk, LEVELS[0])
    thanks = kiosk.wait_for(filling(THANKS_BACKGROUND), timeout=5)
    assert colour_box(thanks, REASON_BACKGROUND) is None
    assert last_row(kiosk.database) == {
        "button": 1, "reason": None, "comment": None, "callback_phone": None,
        "phone_consent": 0, "held": 0,
    }
