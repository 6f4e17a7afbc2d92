import uuid
from dataclasses import replace

import pytest

from hailong.kiosk.flow import (
    FinishFeedback,
    FollowUp,
    KioskFlow,
    Page,
    SaveFeedback,
    valid_phone,
)
from hailong.sync.store import Feedback
from hailong.sync.wire import MAX_COMMENT


def test_starts_idle_when_enrolled_and_explains_otherwise():
    assert KioskFlow(enrolled=True, thanks_s=3).page is Page.IDLE
    assert KioskFlow(enrolled=False, thanks_s=3).page is Page.NOT_ENROLLED


def test_a_rating_shows_thanks_until_its_time_is_up():
    flow = KioskFlow(enrolled=True, thanks_s=3)
    assert flow.wake_at() is None
    assert flow.rated(100.0) is Page.THANKS
    assert flow.wake_at() == 103.0
    assert flow.tick(102.9) is Page.THANKS
    assert flow.tick(103.0) is Page.IDLE
    assert flow.wake_at() is None


def test_a_rating_during_thanks_starts_the_time_again():
    flow = KioskFlow(enrolled=True, thanks_s=3)
    flow.rated(100.0)
    flow.rated(102.0)
    assert flow.tick(103.5) is Page.THANKS
    assert flow.wake_at() == 105.0
    assert flow.tick(105.0) is Page.IDLE


def test_a_kiosk_that_is_not_enrolled_keeps_its_explanation():
    flow = KioskFlow(enrolled=False, thanks_s=3)
    assert flow.rated(1.0) is Page.NOT_ENROLLED
    assert flow.wake_at() is None
    assert flow.tick(10.0) is Page.NOT_ENROLLED


# -- the follow-up after a low rating --------------------------------------------------

RATING = uuid.UUID(int=1)
NEXT_RATING = uuid.UUID(int=2)


def follow_up(rating_id=RATING, *, comment=True, callback=True, timeout_s=20.0):
    return FollowUp(rating_id, comment=comment, callback=callback, timeout_s=timeout_s)


def asked(**options):
    flow = KioskFlow(enrolled=True, thanks_s=3)
    assert flow.rated(100.0, follow_up(**options)) is Page.REASON
    assert flow.take_effects() == []
    return flow


def test_a_rating_that_needs_no_reason_goes_straight_to_thanks():
    flow = KioskFlow(enrolled=True, thanks_s=3)
    assert flow.rated(100.0, None) is Page.THANKS
    assert flow.take_effects() == []


def test_the_whole_follow_up_saves_each_answer_as_it_is_given():
    flow = asked()
    assert flow.choose_reason("waited_too_long", 101.0) is Page.COMMENT
    assert flow.take_effects() == [SaveFeedback(RATING, Feedback(reason="waited_too_long"))]
    assert flow.send_comment("  Người dân chờ quá lâu ", 102.0) is Page.CONSENT
    with_comment = Feedback(reason="waited_too_long", comment="Người dân chờ quá lâu")
    assert flow.take_effects() == [SaveFeedback(RATING, with_comment)]
    assert flow.answer_consent(True, 103.0) is Page.PHONE
    consented = replace(with_comment, phone_consent=True)
    assert flow.take_effects() == [SaveFeedback(RATING, consented)]
    assert flow.send_phone("0912345678", 104.0) is Page.THANKS
    assert flow.take_effects() == [
        SaveFeedback(RATING, replace(consented, callback_phone="0912345678")),
        FinishFeedback(RATING),
    ]
    assert flow.wake_at() == 107.0
    assert flow.tick(107.0) is Page.IDLE


def test_skipping_every_page_keeps_the_rating_without_feedback():
    flow = asked()
    assert flow.choose_reason(None, 101.0) is Page.COMMENT
    assert flow.send_comment(None, 102.0) is Page.CONSENT
    assert flow.answer_consent(False, 103.0) is Page.THANKS
    assert flow.take_effects() == [FinishFeedback(RATING)]


def test_a_blank_comment_counts_as_skipped():
    flow = asked()
    flow.choose_reason(None, 101.0)
    assert flow.send_comment("   ", 102.0) is Page.CONSENT
    assert flow.take_effects() == []


def test_skipping_the_number_after_consenting_keeps_the_consent_alone():
    flow = asked()
    flow.choose_reason("other", 101.0)
    flow.send_comment(None, 102.0)
    flow.answer_consent(True, 103.0)
    flow.take_effects()
    assert flow.send_phone(None, 104.0) is Page.THANKS
    assert flow.take_effects() == [FinishFeedback(RATING)]


def test_a_number_the_server_would_refuse_keeps_the_keypad_open():
    flow = asked()
    flow.choose_reason(None, 101.0)
    flow.send_comment(None, 102.0)
    flow.answer_consent(True, 103.0)
    flow.take_effects()
    for bad in ("091234567", "09123456789", "1912345678", "+8491234567", ""):
        assert flow.send_phone(bad, 104.0) is Page.PHONE
    assert flow.take_effects() == []
    assert flow.send_phone("+84912345678", 105.0) is Page.THANKS
    assert flow.feedback == Feedback()  # the follow-up is over
    assert flow.take_effects()[0].feedback.callback_phone == "+84912345678"


def test_without_comment_or_callback_the_reason_is_the_only_question():
    flow = asked(comment=False, callback=False)
    assert flow.choose_reason("late_result", 101.0) is Page.THANKS
    assert flow.take_effects() == [
        SaveFeedback(RATING, Feedback(reason="late_result")),
        FinishFeedback(RATING),
    ]


def test_without_comment_the_consent_follows_the_reason():
    flow = asked(comment=False)
    assert flow.choose_reason(None, 101.0) is Page.CONSENT


def test_without_callback_the_comment_ends_the_follow_up():
    flow = asked(callback=False)
    flow.choose_reason(None, 101.0)
    assert flow.send_comment("ok", 102.0) is Page.THANKS
    assert flow.take_effects() == [
        SaveFeedback(RATING, Feedback(comment="ok")),
        FinishFeedback(RATING),
    ]


@pytest.mark.parametrize("page", [Page.REASON, Page.COMMENT, Page.CONSENT, Page.PHONE])
def test_a_page_left_alone_times_out_keeping_what_was_given(page):
    flow = asked(timeout_s=20.0)
    now = 100.0
    steps = [
        lambda t: flow.choose_reason("staff_attitude", t),
        lambda t: flow.send_comment("chậm", t),
        lambda t: flow.answer_consent(True, t),
    ]
    while flow.page is not page:
        now += 1.0
        steps.pop(0)(now)
    given = flow.feedback
    flow.take_effects()
    assert flow.wake_at() == now + 20.0
    assert flow.tick(now + 19.9) is page
    assert flow.tick(now + 20.0) is Page.THANKS
    assert flow.take_effects() == [FinishFeedback(RATING)]
    assert flow.wake_at() == now + 23.0
    assert flow.tick(now + 23.0) is Page.IDLE
    assert given.reason == (None if page is Page.REASON else "staff_attitude")


def test_each_page_has_its_own_time_and_typing_starts_it_again():
    flow = asked(timeout_s=20.0)
    flow.choose_reason(None, 115.0)
    assert flow.wake_at() == 135.0
    flow.activity(130.0)
    assert flow.tick(149.0) is Page.COMMENT
    assert flow.tick(150.0) is Page.THANKS


def test_typing_after_the_follow_up_ended_changes_no_time():
    flow = KioskFlow(enrolled=True, thanks_s=3)
    flow.rated(100.0, None)
    flow.activity(101.0)
    assert flow.wake_at() == 103.0


def test_a_new_rating_during_the_follow_up_finishes_the_previous_one_as_is():
    flow = asked()
    flow.choose_reason("unclear_guidance", 101.0)
    flow.take_effects()
    assert flow.rated(102.0, follow_up(NEXT_RATING)) is Page.REASON
    assert flow.feedback == Feedback()
    assert flow.take_effects() == [FinishFeedback(RATING)]
    assert flow.choose_reason("other", 103.0) is Page.COMMENT
    assert flow.take_effects() == [SaveFeedback(NEXT_RATING, Feedback(reason="other"))]


def test_a_high_rating_during_the_follow_up_finishes_it_and_thanks():
    flow = asked()
    assert flow.rated(101.0, None) is Page.THANKS
    assert flow.take_effects() == [FinishFeedback(RATING)]
    assert flow.tick(104.0) is Page.IDLE
    assert flow.take_effects() == []


def test_answers_for_another_page_change_nothing():
    flow = asked()
    assert flow.send_comment("late tap", 101.0) is Page.REASON
    assert flow.answer_consent(True, 101.0) is Page.REASON
    assert flow.send_phone("0912345678", 101.0) is Page.REASON
    assert flow.take_effects() == []
    idle = KioskFlow(enrolled=True, thanks_s=3)
    assert idle.choose_reason("other", 1.0) is Page.IDLE
    assert idle.take_effects() == []


def test_a_very_long_comment_is_cut_to_what_the_server_takes():
    flow = asked()
    flow.choose_reason(None, 101.0)
    flow.send_comment("a" * (MAX_COMMENT + 5), 102.0)
    assert len(flow.take_effects()[0].feedback.comment) == MAX_COMMENT


def test_phone_numbers_are_checked_as_the_server_checks_them():
    assert valid_phone("0912345678")
    assert valid_phone("+84912345678")
    assert not valid_phone("0912 345 678")
    assert not valid_phone("84912345678")
