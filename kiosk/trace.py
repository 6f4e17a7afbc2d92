"""Timestamps of what the kiosk drew, for its benchmarks: `<CLOCK_MONOTONIC ns>
<event>` lines appended to the file named by $HAILONG_KIOSK_TRACE.

CLOCK_MONOTONIC is one clock for every process on the machine, so a benchmark in
another process can set the time it pressed a button beside the time the app drew
the answer. Unset (always, in service), every call is a no-op.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import TextIO

ENVIRONMENT = "HAILONG_KIOSK_TRACE"


class FrameTrace:
    def __init__(self, path: Path | None) -> None:
        self._file: TextIO | None = path.open("a", encoding="utf-8", buffering=1) if path else None
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls) -> FrameTrace:
        value = os.environ.get(ENVIRONMENT)
        return cls(Path(value) if value else None)

    @property
    def enabled(self) -> bool:
        return self._file is not None

    def mark(self, event: str) -> None:
        """Note `event` now (any thread)."""
        if self._file is None:
            return
        stamp = time.monotonic_ns()
        with self._lock:
            self._file.write(f"{stamp} {event}\n")

    def after_next_frame(self, event: str) -> None:
        """Note `event` when the next frame is on screen (Kivy's main thread)."""
        if self._file is None:
            return
        from kivy.core.window import Window

        def flipped(*_args: object) -> None:
            Window.unbind(on_flip=flipped)
            self.mark(event)

        Window.bind(on_flip=flipped)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
