"""Events of a box (simulated or emulated) in arrival order: one thread appends,
tests and commands wait for the one they expect."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from hailong.device.box_model import Event


class EventLog:
    def __init__(self, source: str) -> None:
        self.source = source
        self.events: list[Event] = []
        self._cond = threading.Condition()

    def append(self, event: Event) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def wake(self) -> None:
        """Let waiters look again (e.g. the producer has stopped)."""
        with self._cond:
            self._cond.notify_all()

    def mark(self) -> int:
        """A position in `events`, for `wait_for(..., since=mark)`."""
        with self._cond:
            return len(self.events)

    def wait_for(
        self,
        predicate: Callable[[Event], bool],
        timeout: float,
        since: int = 0,
        check: Callable[[], None] | None = None,
    ) -> Event:
        """The first event from `since` on that matches; TimeoutError after `timeout` s.
        `check` runs between waits and may raise (e.g. when the producer has died)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events[since:]:
                    if predicate(event):
                        return event
                since = len(self.events)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no matching {self.source} event within {timeout} s")
                if check is not None:
                    check()
                self._cond.wait(min(left, 0.5))
