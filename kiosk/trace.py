"""Timestamps of what the kiosk did and drew, for its benchmarks: `<CLOCK_MONOTONIC ns>
<event>` lines appended to the file named by $HAILONG_KIOSK_TRACE.

CLOCK_MONOTONIC is one clock for every process on the machine, so a benchmark in
another process can set the time it pressed a button beside the time the app drew
the answer. Unset (always, in service), every call is a no-op.

One press leaves, in order: `box press` (the driver has read and parsed it),
`rated` (the rating is committed), `ui woke` (the Kivy thread took the event),
`switched thanks` (the screen manager shows it), `draw thanks` (the frame's canvas is
being drawn), `flip thanks` (drawn; the buffers are being swapped) and `drawn thanks`
(the swap returned: the frame is on the display).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any, TextIO

ENVIRONMENT = "HAILONG_KIOSK_TRACE"


class FrameTrace:
    def __init__(self, path: Path | None) -> None:
        self._file: TextIO | None = path.open("a", encoding="utf-8", buffering=1) if path else None
        self._lock = threading.Lock()
        # Screens waiting for the next frame to be on the display.
        self._pending: list[str] = []
        self._hooked = False

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

    def after_next_frame(self, screen: str) -> None:
        """Note `draw`, `flip` and `drawn <screen>` for the next frame (Kivy's main thread)."""
        if self._file is None:
            return
        from kivy.core.window import Window

        self._hook(Window)
        self._pending.append(screen)

    def _hook(self, window: Any) -> None:
        """Kivy calls bound `on_draw`/`on_flip` handlers before its own, which draw and
        swap; so the swap itself is wrapped, to note when it has returned."""
        if self._hooked:
            return
        self._hooked = True
        swap = window.flip

        def on_draw(*_args: object) -> None:
            for screen in self._pending:
                self.mark(f"draw {screen}")

        def flip() -> None:
            screens, self._pending = self._pending, []
            for screen in screens:
                self.mark(f"flip {screen}")
            swap()
            for screen in screens:
                self.mark(f"drawn {screen}")

        window.bind(on_draw=on_draw)
        window.flip = flip

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


_shared: FrameTrace | None = None
_shared_lock = threading.Lock()


def shared() -> FrameTrace:
    """The process's one trace, opened from the environment on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = FrameTrace.from_environment()
        return _shared
