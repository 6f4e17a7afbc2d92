"""The wire protocol: CRC, COBS, messages and the stream decoder."""

import random

import pytest

from hailong.device.protocol import (
    Ack,
    BoxSettings,
    ButtonEvent,
    CobsError,
    Error,
    FrameDecoder,
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
    cobs_decode,
    cobs_encode,
    crc16,
    decode_frame,
    decode_payload,
    encode_frame,
    encode_payload,
)
from hailong.device.protocol_constants import (
    CRC_CHECK,
    LAYOUTS,
    MAX_ENCODED,
    ErrorCode,
    LedPattern,
    MsgType,
    payload_length,
)

SAMPLES = [
    HelloRequest(),
    Hello(1, 4, 0xDEADBEEF, "hailong-box", "1.0.0", "85736323838351F0D0A1"),
    Hello(1, 8, 0, "m" * 16, "f" * 12, "s" * 20),
    Ping(0),
    Ping(0xFFFFFFFF),
    Pong(7, 3),
    Ack(0x01020304, 0xFFFFFFFF),
    ButtonEvent(0, 1, 1),
    ButtonEvent(0xFFFFFFFF, 0xFFFFFFFF, 8),
    Led(0, LedPattern.IDLE),
    Led(4, LedPattern.CONFIRM),
    SetSettings("Quầy 1 – Tầng 2", 20, 200),
    SetSettings("", 1, 0),
    GetSettings(),
    Settings("Bộ phận một cửa", 200, 255),
    Error(ErrorCode.BAD_LENGTH, MsgType.LED),
]


def test_crc_is_ccitt_false_with_the_published_check_value():
    assert crc16(b"123456789") == CRC_CHECK == 0x29B1


def test_crc_over_payload_and_its_big_endian_crc_is_zero():
    payload = b"\x90\x01\x02\x03\x04\x05\x06\x07\x08\x02"
    assert crc16(payload + crc16(payload).to_bytes(2, "big")) == 0


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        (b"", b"\x01"),
        (b"\x00", b"\x01\x01"),
        (b"\x00\x00", b"\x01\x01\x01"),
        (b"\x11\x22\x00\x33", b"\x03\x11\x22\x02\x33"),
        (b"\x11\x22\x33\x44", b"\x05\x11\x22\x33\x44"),
        (b"\x11\x00\x00\x00", b"\x02\x11\x01\x01\x01"),
        (bytes(range(1, 255)), b"\xff" + bytes(range(1, 255))),
        (bytes(range(0, 255)), b"\x01\xff" + bytes(range(1, 255))),
        (bytes(range(1, 256)), b"\xff" + bytes(range(1, 255)) + b"\x02\xff"),
    ],
)
def test_cobs_matches_the_reference_vectors(raw, encoded):
    assert cobs_encode(raw) == encoded
    assert cobs_decode(encoded) == raw


def test_cobs_round_trips_random_payloads():
    rng = random.Random(1)
    for _ in range(3000):
        size = rng.choice([rng.randrange(0, 20), rng.randrange(0, 600), 253, 254, 255, 508])
        zero_share = rng.random()
        raw = bytes(0 if rng.random() < zero_share else rng.randrange(1, 256) for _ in range(size))
        encoded = cobs_encode(raw)
        assert 0 not in encoded
        assert len(encoded) <= len(raw) + 1 + len(raw) // 254
        assert cobs_decode(encoded) == raw


@pytest.mark.parametrize("bad", [b"\x05\x11\x22", b"\x02\x11\x00", b"\x00"])
def test_cobs_rejects_malformed_input(bad):
    with pytest.raises(CobsError):
        cobs_decode(bad)


@pytest.mark.parametrize("msg", SAMPLES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips(msg):
    payload = encode_payload(msg)
    assert len(payload) == payload_length(msg.TYPE)
    assert decode_payload(payload) == msg
    frame = encode_frame(msg)
    assert frame[0] == 0 and frame[-1] == 0 and 0 not in frame[1:-1]
    assert len(frame) - 2 <= MAX_ENCODED
    assert FrameDecoder().feed(frame) == [msg]


def test_every_message_type_has_a_sample():
    assert {m.TYPE for m in SAMPLES} == set(LAYOUTS)


@pytest.mark.parametrize(
    "make",
    [
        lambda: SetSettings("x" * 25, 20, 200),
        lambda: SetSettings("Quầy số một cửa ABC", 20, 200),  # 19 letters, 27 bytes of UTF-8
        lambda: SetSettings("a\0b", 20, 200),
        lambda: BoxSettings(debounce_ms=0),
        lambda: BoxSettings(debounce_ms=201),
        lambda: BoxSettings(led_brightness=256),
        lambda: ButtonEvent(1, 1, 0),
        lambda: ButtonEvent(1, 0, 1),
        lambda: ButtonEvent(1, 1, 9),
        lambda: Led(9, LedPattern.ON),
        lambda: Led(1, 17),
        lambda: Hello(1, 0, 1, "m", "f", "s"),
        lambda: encode_payload(Hello(1, 4, 1, "m", "f", "s" * 21)),
        lambda: encode_payload(Ping(-1)),
        lambda: encode_payload(Ping(1 << 32)),
    ],
)
def test_invalid_values_are_refused_when_building_a_message(make):
    with pytest.raises(ValueError):
        make()


def _payload(msg_type, body=b""):
    return bytes([msg_type]) + body


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        (b"", FrameErrorKind.TOO_SHORT),
        (b"\x7f", FrameErrorKind.UNKNOWN_TYPE),
        (_payload(MsgType.PING, b"\x01\x02\x03"), FrameErrorKind.BAD_LENGTH),
        (_payload(MsgType.PING, b"\x01\x02\x03\x04\x05"), FrameErrorKind.BAD_LENGTH),
        # button 0 does not exist
        (_payload(MsgType.BUTTON_EVENT, bytes(4) + b"\x01\0\0\0\0"), FrameErrorKind.BAD_VALUE),
        (_payload(MsgType.LED, b"\x01\x09"), FrameErrorKind.BAD_VALUE),
        (_payload(MsgType.SETTINGS, b"\x14\xc8" + b"\xff" * 24), FrameErrorKind.BAD_VALUE),
        (_payload(MsgType.HELLO, b"\x02" + bytes(60)), FrameErrorKind.UNSUPPORTED_VERSION),
        (_payload(MsgType.HELLO, b"\x02"), FrameErrorKind.UNSUPPORTED_VERSION),
    ],
)
def test_bad_payloads_give_a_specific_frame_error(payload, kind):
    result = decode_payload(payload)
    assert isinstance(result, FrameError)
    assert result.kind is kind, result


def test_frame_error_kinds_map_to_the_box_error_codes():
    assert FrameErrorKind.CRC.error_code is ErrorCode.BAD_FRAME
    assert FrameErrorKind.UNKNOWN_TYPE.error_code is ErrorCode.UNKNOWN_TYPE
    assert FrameErrorKind.BAD_LENGTH.error_code is ErrorCode.BAD_LENGTH


def test_decoder_fed_one_byte_at_a_time():
    stream = b"".join(encode_frame(m) for m in SAMPLES)
    decoder = FrameDecoder()
    out = []
    for byte in stream:
        out += decoder.feed(bytes([byte]))
    assert out == SAMPLES


def test_decoder_recovers_every_frame_wrapped_in_garbage():
    rng = random.Random(2)
    decoder = FrameDecoder()
    sent, received = [], []
    for _ in range(300):
        msg = rng.choice(SAMPLES)
        sent.append(msg)
        stream = rng.randbytes(rng.randrange(0, 200)) + encode_frame(msg)
        stream += rng.randbytes(rng.randrange(0, 5))  # ended by the next frame's delimiter
        for piece in _split_randomly(rng, stream):
            received += [m for m in decoder.feed(piece) if not isinstance(m, FrameError)]
    assert received == sent


def _split_randomly(rng, data):
    at = 0
    while at < len(data):
        step = rng.randrange(1, 40)
        yield data[at : at + step]
        at += step


def test_every_single_byte_corruption_is_rejected_and_the_next_frame_survives():
    frame = encode_frame(ButtonEvent(0x12345678, 42, 3))
    follower = encode_frame(Ping(9))
    for at in range(1, len(frame) - 1):
        for flip in range(1, 256):
            damaged = bytearray(frame)
            damaged[at] ^= flip
            out = FrameDecoder().feed(bytes(damaged) + follower)
            assert out[-1] == Ping(9)
            assert all(isinstance(item, FrameError) for item in out[:-1]), (at, flip, out)


def test_an_endless_frame_is_reported_once_and_skipped():
    decoder = FrameDecoder()
    out = decoder.feed(b"\x00" + b"\x05" * 1000)
    out += decoder.feed(b"\x07" * 1000)
    assert [e.kind for e in out] == [FrameErrorKind.TOO_LONG]
    assert decoder.feed(encode_frame(Ping(1))) == [Ping(1)]


def test_crc_mismatch_is_reported():
    frame = bytearray(encode_frame(Ping(5)))
    frame[3] ^= 0x01
    [error] = FrameDecoder().feed(bytes(frame))
    assert isinstance(error, FrameError)
    assert error.kind is FrameErrorKind.CRC


def test_decode_frame_rejects_a_too_short_body():
    assert decode_frame(b"\x02\x90").kind is FrameErrorKind.TOO_SHORT


def test_fuzzed_streams_never_crash_never_invent_a_press_and_resync_within_one_frame():
    """Streams of valid frames, garbage, damaged frames and random splits."""
    rng = random.Random(3)
    for _ in range(25000):
        decoder = FrameDecoder()
        stream = bytearray()
        intact: list = []
        for _ in range(rng.randrange(1, 6)):
            msg = ButtonEvent(rng.getrandbits(32), rng.randrange(1, 1 << 32), rng.randrange(1, 9))
            frame = bytearray(encode_frame(msg))
            roll = rng.random()
            if roll < 0.3:
                stream += rng.randbytes(rng.randrange(1, 80))
            if roll < 0.5 and len(frame) > 2:
                frame[rng.randrange(1, len(frame) - 1)] ^= rng.randrange(1, 256)
            else:
                intact.append(msg)
            stream += frame
        out = []
        for piece in _split_randomly(rng, bytes(stream)):
            out += decoder.feed(piece)
        messages = [m for m in out if not isinstance(m, FrameError)]
        assert messages == intact


@pytest.mark.parametrize(
    ("msg", "frame_hex"),
    [
        (HelloRequest(), "00 04 01 f1 d1 00"),
        (Ping(1), "00 03 02 01 01 01 03 23 3b 00"),
        (ButtonEvent(0x12345678, 1, 2), "00 07 90 78 56 34 12 01 01 01 04 02 db 8c 00"),
        (Ack(0x12345678, 1), "00 07 03 78 56 34 12 01 01 01 03 cf 12 00"),
        (Led(2, LedPattern.CONFIRM), "00 06 04 02 02 56 7c 00"),
    ],
)
def test_known_answer_frames_from_the_protocol_document(msg, frame_hex):
    """The same vectors are in docs/device-protocol.md, for the firmware's own tests."""
    assert encode_frame(msg) == bytes.fromhex(frame_hex)
    assert FrameDecoder().feed(bytes.fromhex(frame_hex)) == [msg]
