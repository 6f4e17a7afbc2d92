"""The firmware's protocol.h is generated from protocol_constants: they must not drift."""

import re
from pathlib import Path

from hailong.device import gen_header
from hailong.device import protocol_constants as pc

HEADER = Path(__file__).resolve().parents[2] / "device" / "firmware" / "protocol.h"


def test_committed_header_equals_the_generated_one():
    assert HEADER.read_text() == gen_header.render(), (
        "device/firmware/protocol.h is stale: run "
        "`python -m hailong.device.gen_header > device/firmware/protocol.h`"
    )


def _defines(text):
    return {
        name: int(value.rstrip("UL"), 0)
        for name, value in re.findall(r"^#define HL_(\w+) (\w+)$", text, re.MULTILINE)
    }


def test_header_carries_every_number_the_host_uses():
    defines = _defines(HEADER.read_text())
    assert defines["PROTOCOL_VERSION"] == pc.PROTOCOL_VERSION
    assert defines["CRC_CHECK"] == 0x29B1
    for msg_type in pc.MsgType:
        assert defines[f"MSG_{msg_type.name}"] == msg_type.value
        assert defines[f"{msg_type.name}_LEN"] == pc.payload_length(msg_type)
        for field, offset in pc.field_offsets(msg_type):
            assert defines[f"{msg_type.name}_{field.name.upper()}_OFS"] == offset
    for pattern in pc.LedPattern:
        assert defines[f"LED_{pattern.name}"] == pattern.value
    for code in pc.ErrorCode:
        assert defines[f"ERR_{code.name}"] == code.value


def test_every_message_fits_the_firmware_buffers():
    assert max(pc.payload_length(t) for t in pc.MsgType) <= pc.MAX_PAYLOAD
