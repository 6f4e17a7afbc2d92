"""The `box` fixture's backend for the real firmware image run in simavr."""

from __future__ import annotations

from pathlib import Path

from hailong.device.emulator import EmulatedBox


class FirmwareBackend:
    def __init__(self, tmp_path: Path, *, drop: float = 0, corrupt: float = 0, seed: int = 1):
        self.path = str(tmp_path / "box")
        self.emu = EmulatedBox(link=self.path, drop=drop, corrupt=corrupt, seed=seed)
        try:
            self.emu.start()
        except BaseException:
            self.emu.close()
            raise
        self.serial = self.emu.serial
        self.buttons = self.emu.buttons
        self.press = self.emu.press
        self.unplug = self.emu.unplug
        self.replug = self.emu.replug
        self.reboot = self.emu.reboot
        self.garbage = self.emu.garbage
        self.close = self.emu.close
        self.mark = self.emu.mark
        self.wait_for = self.emu.wait_for
