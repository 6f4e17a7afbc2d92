from hailong.kiosk.flow import KioskFlow, Page


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
