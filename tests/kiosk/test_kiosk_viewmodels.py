from pathlib import Path

import pytest

from hailong.config.settings import DEFAULT_SCALE, KioskFile, ScaleLevel
from hailong.kiosk.controller import KioskController, OfficerCard
from hailong.kiosk.flow import KioskFlow, Page
from hailong.kiosk.harness import seed_demo_store
from hailong.kiosk.viewmodels import (
    CHOICE_COLOUR,
    COMMENT_BACKGROUND,
    COMMENT_VISIBLE_CHARS,
    CONSENT_BACKGROUND,
    DARK_TEXT,
    KEYBOARD_BACKGROUND,
    LIGHT_TEXT,
    PHONE_BACKGROUND,
    PHONE_BACKSPACE,
    PRIMARY_COLOUR,
    REASON_BACKGROUND,
    SECONDARY_COLOUR,
    THANKS_BACKGROUND,
    PhoneView,
    ReasonChoice,
    choice_centre,
    comment_counter,
    comment_display,
    idle_view,
    level_buttons,
    mouth_points,
    phone_key,
    phone_view,
    readable_text_on,
    reason_choices,
    rgba,
)
from hailong.sync.store import KioskStore

CARD = OfficerCard(
    officer_id=7,
    name="Nguyễn Thị Lan",
    title="Chuyên viên",
    counter_name="Quầy 1",
    unit_name="Chi cục Thủy lợi",
    photo_path=Path("/photos/7.png"),
)


def test_the_serving_officer_is_named_in_the_question():
    view = idle_view(CARD, DEFAULT_SCALE, "connected")
    assert view.officer_present
    assert (view.headline, view.title) == ("Nguyễn Thị Lan", "Chuyên viên")
    assert view.place == "Quầy 1 · Chi cục Thủy lợi"
    assert view.photo == Path("/photos/7.png")
    assert view.question == "Are you satisfied with the service of officer Nguyễn Thị Lan?"
    assert view.box_warning == ""


def test_a_unit_may_word_the_question_its_own_way():
    view = idle_view(CARD, DEFAULT_SCALE, "connected", "Ông/Bà thấy cán bộ phục vụ thế nào?")
    assert view.question == "Ông/Bà thấy cán bộ phục vụ thế nào?"


def test_with_nobody_signed_in_the_counter_rests_but_still_takes_ratings():
    view = idle_view(None, DEFAULT_SCALE, "connected")
    assert not view.officer_present
    assert view.headline == "This counter is taking a short break"
    assert (view.title, view.place, view.photo) == ("", "", None)
    assert "officer" not in view.question
    assert [b.button for b in view.buttons] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("status", "warned"),
    [("disconnected", True), ("connecting", True), ("connected", False), ("disabled", False)],
)
def test_a_box_that_is_not_connected_is_mentioned_unless_turned_off(status, warned):
    assert bool(idle_view(CARD, DEFAULT_SCALE, status).box_warning) is warned


def test_buttons_follow_the_box_order_with_their_colours_labels_and_faces():
    shuffled = (DEFAULT_SCALE[2], DEFAULT_SCALE[0], DEFAULT_SCALE[3], DEFAULT_SCALE[1])
    buttons = level_buttons(shuffled)
    assert [b.button for b in buttons] == [1, 2, 3, 4]
    assert [b.label for b in buttons] == ["Rất hài lòng", "Hài lòng", "Bình thường",
                                          "Không hài lòng"]
    assert buttons[0].colour == rgba("#1b7f3b")
    mouths = [b.mouth for b in buttons]
    assert mouths == sorted(mouths, reverse=True) and mouths[0] > 0 > mouths[-1]
    assert buttons[2].mouth == 0


def test_an_unknown_icon_gets_a_straight_mouth():
    odd = ScaleLevel(button=1, label="Tốt", sipas_level=5, colour="#00ff00", icon="star")
    assert level_buttons([odd])[0].mouth == 0


def test_labels_stay_readable_on_light_and_dark_buttons():
    assert readable_text_on(rgba("#f1c232")) == DARK_TEXT  # yellow
    assert readable_text_on(rgba("#cc0000")) == LIGHT_TEXT  # red
    assert readable_text_on(rgba("#1b7f3b")) == LIGHT_TEXT  # dark green
    assert readable_text_on(rgba("#ffffff")) == DARK_TEXT


def test_colours_are_parsed_strictly():
    assert rgba("#ff8000") == (1.0, 128 / 255, 0.0, 1.0)
    for bad in ("#fff", "ff80001", "#gg0000"):
        with pytest.raises(ValueError):
            rgba(bad)


def _middle_and_ends(curvature):
    points = mouth_points(curvature, cx=0, cy=0, radius=100, steps=16)
    ys = points[1::2]
    return ys[len(ys) // 2], ys[0], ys[-1]


def test_a_smile_curves_up_a_frown_down_and_neutral_is_flat():
    middle, left, right = _middle_and_ends(1.0)
    assert left == right > middle
    middle, left, right = _middle_and_ends(-1.0)
    assert left == right < middle
    middle, left, right = _middle_and_ends(0.0)
    assert left == right == middle
    # The mouth stays inside the face whatever the bend.
    for curvature in (-5, -1, 0, 1, 5):
        points = mouth_points(curvature, cx=0, cy=0, radius=100)
        assert all(x * x + y * y < 100 * 100 for x, y in zip(points[::2], points[1::2],
                                                               strict=True))


# -- with the real controller on a real store ---------------------------------------


def _controller(tmp_path, **seed):
    data_dir = tmp_path / "kiosk"
    seed_demo_store(data_dir, **seed)
    settings = KioskFile.model_validate(
        {"kiosk": {"data_dir": str(data_dir)}, "device": {"enabled": False}}
    )
    store = KioskStore(settings.kiosk.database_path)
    return KioskController(settings, store), store


def test_the_idle_screen_shows_the_officer_signed_in_on_the_real_store(tmp_path):
    controller, store = _controller(tmp_path, officer_id=2)
    with store:
        view = idle_view(controller.officer_card(), controller.scale, controller.box_status)
        assert view.headline == "Trần Văn Hùng"
        assert view.place.startswith("Quầy 1 · ")
        assert view.photo is not None and view.photo.read_bytes()[:4] == b"\x89PNG"
        assert view.box_warning == ""  # the box is turned off, not lost

        controller.sign_out()
        assert controller.officer_card() is None


def test_a_store_without_enrollment_leads_to_the_explanation(tmp_path):
    controller, store = _controller(tmp_path, enrolled=False)
    with store:
        assert controller.officer_card() is None
        assert KioskFlow(enrolled=controller.enrolled, thanks_s=3).page is Page.NOT_ENROLLED


# -- the follow-up pages -------------------------------------------------------------


def test_reasons_are_offered_in_the_policys_order_in_the_current_language():
    choices = reason_choices(("late_result", "waited_too_long"))
    assert choices == (
        ReasonChoice("late_result", "The result came late"),
        ReasonChoice("waited_too_long", "I waited too long"),
    )


def test_a_reason_is_tapped_in_the_middle_of_its_cell():
    # Seven choices in two columns: four rows.
    box = (0, 100, 400, 400)
    assert choice_centre(box, 0, 7) == (100, 150)
    assert choice_centre(box, 1, 7) == (300, 150)
    assert choice_centre(box, 6, 7) == (100, 450)


def test_the_keypad_takes_ten_digits_and_backspace_only():
    digits = ""
    for key in "09123456789":
        digits = phone_key(digits, key)
    assert digits == "0912345678"
    assert phone_key(digits, PHONE_BACKSPACE) == "091234567"
    assert phone_key("", PHONE_BACKSPACE) == ""
    with pytest.raises(ValueError, match="digits and backspace only"):
        phone_key("", "+")


def test_send_is_offered_only_for_a_number_the_server_accepts():
    assert phone_view("") == PhoneView("", False, "")
    partial = phone_view("09123")
    assert not partial.can_send
    assert partial.hint == "A mobile number has 10 digits and starts with 0."
    assert phone_view("0912345678") == PhoneView("0912345678", True, "")


def test_a_long_comment_shows_its_end_where_the_citizen_types():
    assert comment_display("ngắn") == "ngắn"
    long = "a" * 200 + "cuối"
    shown = comment_display(long)
    assert shown.startswith("…") and shown.endswith("cuối")
    assert len(shown) == COMMENT_VISIBLE_CHARS


def test_the_comment_counter_says_how_much_room_is_left():
    assert comment_counter("chờ") == "3 of 1000 characters"


def test_the_follow_up_pages_use_colours_no_scale_level_uses():
    page_colours = {REASON_BACKGROUND, COMMENT_BACKGROUND, CONSENT_BACKGROUND, PHONE_BACKGROUND,
                    CHOICE_COLOUR, PRIMARY_COLOUR, SECONDARY_COLOUR, KEYBOARD_BACKGROUND,
                    THANKS_BACKGROUND}
    assert len(page_colours) == 9
    assert not page_colours & {level.colour for level in DEFAULT_SCALE}
