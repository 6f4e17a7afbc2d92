"""Writing the box firmware to a board with avrdude (ATmega328P with the Arduino bootloader).

The image is `device/firmware/build/hailong-box.hex`, built by the firmware Makefile through
`hailong.device.emulator.build_firmware` (the one place that builds it), unless a technician
gives a ready-made `.hex` file.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from hailong.device.emulator import BUILD_DIR, FirmwareError, build_firmware
from hailong.i18n import _

FIRMWARE_HEX = BUILD_DIR / "hailong-box.hex"
AVRDUDE_PACKAGE = "avrdude"
DEFAULT_BAUD = 115200  # Optiboot on the Uno and newer Nanos; old Nano bootloaders use 57600
# Writing 32 KiB at 115200 baud takes about 10 s; a board that does not answer makes
# avrdude retry for a while before it gives up on its own.
_FLASH_TIMEOUT_S = 120.0


class FlashError(RuntimeError):
    """The firmware cannot be written; the message is for people."""


def avrdude_command(
    port: str, hex_file: Path, *, baud: int = DEFAULT_BAUD, avrdude: str = "avrdude"
) -> list[str]:
    """The avrdude command line that writes `hex_file` (Intel HEX) to the board on `port`."""
    # avrdude splits -U on colons, so a colon in the path would be read as another field.
    if ":" in str(hex_file):
        raise FlashError(
            _("The firmware file's path must not contain a colon: {path}").format(path=hex_file)
        )
    return [
        avrdude, "-p", "m328p", "-c", "arduino", "-P", port, "-b", str(baud),
        "-U", f"flash:w:{hex_file}:i",
    ]


def find_avrdude() -> str:
    path = shutil.which("avrdude")
    if path is None:
        raise FlashError(
            _("avrdude is not installed. Install it with: apt-get install {package}").format(
                package=AVRDUDE_PACKAGE
            )
        )
    return path


def firmware_hex(given: Path | None) -> Path:
    """The image to write: the file given, or the firmware built from source."""
    if given is not None:
        if not given.is_file():
            raise FlashError(_("No firmware file at {path}.").format(path=given))
        return given
    try:
        build_firmware()
    except FirmwareError as exc:
        raise FlashError(str(exc)) from None
    return FIRMWARE_HEX


def run_avrdude(command: list[str]) -> None:
    """Run avrdude with its progress on the terminal; raise FlashError when it fails."""
    try:
        done = subprocess.run(command, timeout=_FLASH_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise FlashError(
            _("avrdude did not finish within {seconds:g} s.").format(seconds=_FLASH_TIMEOUT_S)
        ) from None
    if done.returncode != 0:
        raise FlashError(
            _(
                "avrdude failed (exit status {code}); its messages are above. Is the box on "
                "that port, and is no kiosk using the port (stop hailong-kiosk first)?"
            ).format(code=done.returncode)
        )
