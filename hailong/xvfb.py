"""A private X server (Xvfb) for a kiosk window when there is no screen: used by
`hailong demo` on a headless machine, by the screenshots command and by the tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType

SOCKET_DIR = Path("/tmp/.X11-unix")


class XvfbError(RuntimeError):
    pass


def _free_display_number(start: int = 90) -> int:
    for number in range(start, start + 200):
        if not (SOCKET_DIR / f"X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            return number
    raise XvfbError("no free X display number between :90 and :289")


class Xvfb:
    """`with Xvfb() as x:` starts Xvfb on a free display and stops it afterwards."""

    def __init__(self, width: int = 1280, height: int = 800, start_timeout_s: float = 15) -> None:
        self.width = width
        self.height = height
        self.start_timeout_s = start_timeout_s
        self.display = ""
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Xvfb:
        if shutil.which("Xvfb") is None:
            raise XvfbError(
                "Xvfb is not installed (Debian/Ubuntu package: xvfb); "
                "run `make run` or `make test`, which install it"
            )
        for _attempt in range(3):
            number = _free_display_number()
            self._proc = subprocess.Popen(
                [
                    "Xvfb",
                    f":{number}",
                    "-screen",
                    "0",
                    f"{self.width}x{self.height}x24",
                    "+extension",
                    "GLX",
                    "-nolisten",
                    "tcp",
                    "-noreset",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if self._wait_ready(number):
                self.display = f":{number}"
                return self
            self._stop()
        raise XvfbError("Xvfb did not start")

    def _wait_ready(self, number: int) -> bool:
        socket = SOCKET_DIR / f"X{number}"
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                return False
            if socket.exists():
                return True
            time.sleep(0.05)
        return False

    def env(self) -> dict[str, str]:
        return {**os.environ, "DISPLAY": self.display}

    def _stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop()
