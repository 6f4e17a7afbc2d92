"""`hailong device flash`: the avrdude command line and its errors.

Writing to a real board needs one: avrdude talks to the Arduino bootloader (STK500), which
neither the simulator nor simavr's harness speaks, so no test here claims a real flash.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hailong.device.flash import FIRMWARE_HEX, FlashError, avrdude_command

ENV = {**os.environ, "HAILONG_LANG": "en"}


def hailong(*args: str, env: dict[str, str] = ENV) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hailong", "device", "flash", *args],
        capture_output=True, text=True, timeout=60, env=env,
    )


def test_command_line_writes_the_hex_through_the_arduino_bootloader() -> None:
    assert avrdude_command("/dev/hailong-box", Path("/tmp/box.hex")) == [
        "avrdude", "-p", "m328p", "-c", "arduino", "-P", "/dev/hailong-box", "-b", "115200",
        "-U", "flash:w:/tmp/box.hex:i",
    ]


def test_a_colon_in_the_path_is_refused_before_avrdude_misreads_it() -> None:
    with pytest.raises(FlashError, match="colon"):
        avrdude_command("/dev/ttyACM0", Path("/tmp/a:b.hex"))


def test_dry_run_prints_the_command_and_touches_nothing(tmp_path: Path) -> None:
    done = hailong("/dev/ttyUSB7", "--dry-run", "--baud", "57600")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f"avrdude -p m328p -c arduino -P /dev/ttyUSB7 -b 57600 -U flash:w:{FIRMWARE_HEX}:i"
    )


def test_missing_avrdude_names_the_package(tmp_path: Path) -> None:
    image = tmp_path / "box.hex"
    image.write_text(":00000001FF\n")
    # A PATH with the Python interpreter's folder only: no avrdude on it.
    env = {**ENV, "PATH": str(Path(sys.executable).parent)}
    done = hailong("/dev/ttyACM0", "--hex", str(image), env=env)
    assert done.returncode == 1
    assert "avrdude is not installed" in done.stderr
    assert "apt-get install avrdude" in done.stderr


def test_a_missing_hex_file_is_named(tmp_path: Path) -> None:
    done = hailong("/dev/ttyACM0", "--hex", str(tmp_path / "none.hex"))
    assert done.returncode == 1
    assert f"No firmware file at {tmp_path / 'none.hex'}" in done.stderr


def test_avrdude_failing_on_a_missing_port_is_reported(tmp_path: Path) -> None:
    image = tmp_path / "box.hex"
    image.write_text(":00000001FF\n")
    done = hailong(str(tmp_path / "no-such-port"), "--hex", str(image))
    assert done.returncode == 1
    assert "avrdude failed (exit status 1)" in done.stderr
