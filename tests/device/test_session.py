"""The host's side of a connection as a pure state machine, driven with explicit times."""

import pytest

from hailong.device.protocol import (
    BoxSettings,
    ButtonEvent,
    Error,
    FrameError,
    FrameErrorKind,
    Hello,
    HelloRequest,
    Ping,
    Pong,
    SetSettings,
    Settings,
    decode_payload,
)
from hailong.device.protocol_constants import ErrorCode, MsgType
from hailong.device.session import (
    HANDSHAKE_TIMEOUT_S,
    HELLO_RETRY_S,
    LINK_TIMEOUT_S,
    PING_INTERVAL_S,
    BoxInfo,
    BoxPress,
    FailureKind,
    HostSession,
)

HELLO = Hello(1, 4, 1234, "box", "1.0", "SN9")


def connected(settings=None):
    session = HostSession(0.0, settings)
    session.poll(0.0)
    session.receive(HELLO, 0.01)
    return session


def test_hello_is_requested_at_once_and_then_every_retry_interval():
    session = HostSession(0.0)
    assert session.poll(0.0).send == [HelloRequest()]
    assert session.poll(HELLO_RETRY_S / 2).send == []
    assert session.poll(HELLO_RETRY_S).send == [HelloRequest()]


def test_no_hello_within_the_handshake_timeout_is_a_failure():
    session = HostSession(0.0)
    failure = session.poll(HANDSHAKE_TIMEOUT_S).failure
    assert failure is not None and failure.kind is FailureKind.NO_HELLO


def test_hello_connects_and_starts_pings():
    session = HostSession(0.0)
    session.poll(0.0)
    reaction = session.receive(HELLO, 0.05)
    assert reaction.connected == BoxInfo(1, "box", "1.0", "SN9", 4, 1234)
    assert session.poll(0.05).send == [Ping(1)]
    assert session.poll(0.05 + PING_INTERVAL_S).send == [Ping(2)]


def test_a_silent_box_fails_the_link_after_the_link_timeout():
    session = connected()
    session.receive(Pong(1, 0), 1.0)
    assert session.poll(1.0 + LINK_TIMEOUT_S - 0.01).failure is None
    failure = session.poll(1.0 + LINK_TIMEOUT_S).failure
    assert failure is not None and failure.kind is FailureKind.SILENT


def test_echoed_host_frames_are_no_sign_of_life():
    session = connected()
    session.receive(Ping(5), 1.0)
    session.receive(HelloRequest(), 1.0)
    assert session.poll(LINK_TIMEOUT_S + 0.01).failure is not None


def test_presses_become_box_presses_with_the_boxes_serial():
    session = connected()
    reaction = session.receive(ButtonEvent(1234, 7, 2), 0.5)
    assert reaction.presses == [BoxPress("SN9", 1234, 7, 2)]


def test_a_retransmitted_press_is_delivered_again():
    session = connected()
    first = session.receive(ButtonEvent(1234, 7, 2), 0.5).presses
    again = session.receive(ButtonEvent(1234, 7, 2), 1.0).presses
    assert first == again == [BoxPress("SN9", 1234, 7, 2)]


def test_a_press_before_hello_is_left_for_the_box_to_resend():
    session = HostSession(0.0)
    assert session.receive(ButtonEvent(1234, 1, 1), 0.1).presses == []


def test_a_press_for_a_button_the_box_does_not_have_is_ignored():
    assert connected().receive(ButtonEvent(1234, 1, 5), 0.1).presses == []


def test_a_press_from_a_new_boot_whose_hello_was_lost_keeps_its_own_nonce():
    session = connected()
    session.poll(0.02)
    reaction = session.receive(ButtonEvent(999, 1, 3), 0.1)
    assert reaction.presses == [BoxPress("SN9", 999, 1, 3)]
    assert HelloRequest() in session.poll(0.1).send
    rebooted = Hello(1, 4, 999, "box", "1.0", "SN9")
    assert session.receive(rebooted, 0.2).connected.boot_nonce == 999
    assert HelloRequest() not in session.poll(1.0).send


def test_a_second_identical_hello_is_not_a_new_connection():
    session = connected()
    assert session.receive(HELLO, 0.5).connected is None


def test_settings_are_sent_after_hello_and_resent_until_the_box_confirms():
    wanted = BoxSettings("Quầy 2", 25, 90)
    session = HostSession(0.0, wanted)
    session.receive(HELLO, 0.0)
    assert SetSettings("Quầy 2", 25, 90) in session.poll(0.0).send
    assert SetSettings("Quầy 2", 25, 90) in session.poll(HELLO_RETRY_S).send
    session.receive(Settings("Quầy 2", 25, 90), HELLO_RETRY_S + 0.01)
    assert session.box_settings == wanted
    assert not any(isinstance(m, SetSettings) for m in session.poll(1.0).send)


def test_an_unsupported_protocol_version_is_a_failure_naming_the_version():
    session = HostSession(0.0)
    item = decode_payload(bytes([MsgType.HELLO, 9]) + bytes(60))
    assert isinstance(item, FrameError) and item.kind is FrameErrorKind.UNSUPPORTED_VERSION
    failure = session.receive(item, 0.1).failure
    assert failure.kind is FailureKind.UNSUPPORTED_VERSION and failure.version == 9


def test_box_errors_are_reported_for_logging():
    session = connected()
    reaction = session.receive(Error(ErrorCode.BAD_FRAME, 0), 0.2)
    assert reaction.box_errors and reaction.failure is None


@pytest.mark.parametrize("kind", [FrameErrorKind.CRC, FrameErrorKind.COBS])
def test_damaged_frames_neither_fail_nor_keep_the_link_alive(kind):
    session = connected()
    assert session.receive(FrameError(kind, "x"), 1.0).failure is None
    assert session.poll(LINK_TIMEOUT_S + 0.02).failure is not None
