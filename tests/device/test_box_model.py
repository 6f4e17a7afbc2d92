"""The box's behaviour as a pure state machine (the simulator's core, the firmware's spec)."""

import pytest

from hailong.device.box_model import BoxModel
from hailong.device.protocol import (
    Ack,
    ButtonEvent,
    Error,
    FrameError,
    FrameErrorKind,
    GetSettings,
    Hello,
    HelloRequest,
    Led,
    Ping,
    Pong,
    SetSettings,
    Settings,
)
from hailong.device.protocol_constants import (
    CONFIRM_MS,
    EVENT_RING_SIZE,
    HOST_TIMEOUT_MS,
    RETRANSMIT_MS,
    ErrorCode,
    LedPattern,
    MsgType,
)

NONCE = 0xCAFE


@pytest.fixture
def box():
    model = BoxModel(serial="SN1", buttons=4)
    model.boot(NONCE, 0)
    return model


def names(outcome):
    return [e["event"] for e in outcome.events]


def test_boot_announces_itself_with_hello():
    model = BoxModel(serial="SN1", buttons=3, model="box", firmware="1.2")
    outcome = model.boot(7, 0)
    assert outcome.send == [Hello(1, 3, 7, "box", "1.2", "SN1")]
    assert names(outcome) == ["boot", "hello_sent"]
    assert set(model.leds.values()) == {LedPattern.DISABLED}


def test_a_serial_too_long_to_send_is_refused_at_construction():
    with pytest.raises(ValueError):
        BoxModel(serial="S" * 21, buttons=4)


def test_presses_are_numbered_from_one_and_kept_until_acknowledged(box):
    assert box.press(2, 10).send == [ButtonEvent(NONCE, 1, 2)]
    assert box.press(4, 20).send == [ButtonEvent(NONCE, 2, 4)]
    assert box.pending == [1, 2]
    outcome = box.receive(Ack(NONCE, 1), 30)
    assert names(outcome) == ["host_back", "ack"]
    assert box.pending == [2]


def test_unacknowledged_presses_are_resent_every_retransmit_interval(box):
    box.press(1, 0)
    assert box.tick(RETRANSMIT_MS - 1).send == []
    assert box.tick(RETRANSMIT_MS).send == [ButtonEvent(NONCE, 1, 1)]
    assert box.tick(RETRANSMIT_MS + 10).send == []
    assert box.tick(2 * RETRANSMIT_MS).send == [ButtonEvent(NONCE, 1, 1)]
    box.receive(Ack(NONCE, 1), 2 * RETRANSMIT_MS + 1)
    assert box.tick(10 * RETRANSMIT_MS).send == []


def test_an_ack_for_another_boot_or_an_unknown_seq_is_ignored(box):
    box.press(1, 0)
    assert names(box.receive(Ack(NONCE + 1, 1), 1))[-1] == "ack_ignored"
    assert names(box.receive(Ack(NONCE, 2), 2))[-1] == "ack_ignored"
    assert box.pending == [1]


def test_reboot_loses_unacknowledged_presses_and_restarts_the_sequence(box):
    box.press(1, 0)
    box.boot(NONCE + 1, 5)
    assert box.pending == []
    assert box.press(3, 6).send == [ButtonEvent(NONCE + 1, 1, 3)]


def test_hello_request_is_answered_with_hello_and_every_pending_press(box):
    box.press(1, 0)
    box.press(2, 0)
    outcome = box.receive(HelloRequest(), 100)
    assert outcome.send == [
        Hello(1, 4, NONCE, "hailong-sim", "sim-1", "SN1"),
        ButtonEvent(NONCE, 1, 1),
        ButtonEvent(NONCE, 2, 2),
    ]


def test_ping_is_answered_with_the_token_and_the_pending_count(box):
    box.press(1, 0)
    assert box.receive(Ping(99), 1).send == [Pong(99, 1)]


def test_a_full_ring_drops_the_new_press_unconfirmed(box):
    for _ in range(EVENT_RING_SIZE):
        box.press(1, 0)
    outcome = box.press(2, 0)
    assert outcome.send == []
    assert names(outcome) == ["ring_full"]
    assert len(box.pending) == EVENT_RING_SIZE


def test_a_held_button_reports_one_press_and_its_release(box):
    held = box.hold(3, 800, 0)
    assert held.send == [ButtonEvent(NONCE, 1, 3)]
    assert names(box.press(3, 100)) == ["ignored"]
    assert "release" not in names(box.tick(799))
    assert "release" in names(box.tick(800))
    assert box.press(3, 900).send == [ButtonEvent(NONCE, 2, 3)]


def test_press_of_a_button_the_box_does_not_have_is_refused(box):
    with pytest.raises(ValueError):
        box.press(5, 0)


def test_led_commands_set_patterns_and_confirm_returns_to_idle(box):
    box.receive(Led(0, LedPattern.IDLE), 0)
    assert set(box.leds.values()) == {LedPattern.IDLE}
    box.receive(Led(2, LedPattern.CONFIRM), 10)
    assert box.leds[2] is LedPattern.CONFIRM
    box.tick(10 + CONFIRM_MS)
    assert box.leds[2] is LedPattern.IDLE


def test_led_for_a_missing_button_is_rejected(box):
    assert box.receive(Led(6, LedPattern.ON), 0).send == [Error(ErrorCode.BAD_VALUE, MsgType.LED)]


def test_settings_are_written_only_when_they_change_and_survive_reboot(box):
    first = box.receive(SetSettings("Quầy 1", 30, 120), 0)
    assert first.send == [Settings("Quầy 1", 30, 120)]
    assert first.events[-1]["stored"] is True
    again = box.receive(SetSettings("Quầy 1", 30, 120), 1)
    assert again.events[-1]["stored"] is False
    box.boot(1, 2)
    assert box.receive(GetSettings(), 3).send == [Settings("Quầy 1", 30, 120)]


def test_a_bad_frame_is_answered_with_an_error(box):
    outcome = box.receive(FrameError(FrameErrorKind.CRC, "x"), 0)
    assert outcome.send == [Error(ErrorCode.BAD_FRAME, 0)]
    assert names(outcome) == ["frame_error", "error_sent"]


def test_a_box_to_host_message_sent_to_the_box_is_unexpected(box):
    assert box.receive(Pong(1, 0), 0).send == [Error(ErrorCode.UNKNOWN_TYPE, MsgType.PONG)]


def test_a_silent_host_turns_the_leds_to_disabled(box):
    box.receive(Led(0, LedPattern.IDLE), 0)
    assert "host_lost" not in names(box.tick(HOST_TIMEOUT_MS - 1))
    assert "host_lost" in names(box.tick(HOST_TIMEOUT_MS))
    assert set(box.leds.values()) == {LedPattern.DISABLED}
    assert "host_back" in names(box.receive(Ping(1), HOST_TIMEOUT_MS + 5))


def test_next_deadline_covers_retransmits_and_host_timeout(box):
    assert box.next_deadline_ms() is None
    box.press(1, 100)
    assert box.next_deadline_ms() == 100 + RETRANSMIT_MS
    box.receive(Ack(NONCE, 1), 200)
    assert box.next_deadline_ms() == 200 + HOST_TIMEOUT_MS
