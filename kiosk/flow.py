"""Which screen the citizen sees, and for how long: the kiosk's navigation as plain
Python. Times are passed in (monotonic seconds), so tests need neither a window
nor a clock.
"""

from __future__ import annotations

from enum import StrEnum


class Page(StrEnum):
    NOT_ENROLLED = "not_enrolled"
    IDLE = "idle"
    THANKS = "thanks"


class KioskFlow:
    def __init__(self, *, enrolled: bool, thanks_s: float) -> None:
        self.thanks_s = thanks_s
        self.page = Page.IDLE if enrolled else Page.NOT_ENROLLED
        self._thanks_until: float | None = None

    def rated(self, now: float) -> Page:
        """Any rating, from the box or the screen: the same neutral thank-you.

        A rating during the thank-you starts its time again, so a second citizen is
        thanked as fully as the first.
        """
        if self.page is not Page.NOT_ENROLLED:
            self.page = Page.THANKS
            self._thanks_until = now + self.thanks_s
        return self.page

    def wake_at(self) -> float | None:
        """When `tick` may next change the page (None: nothing is pending)."""
        return self._thanks_until if self.page is Page.THANKS else None

    def tick(self, now: float) -> Page:
        if self._thanks_until is not None and now >= self._thanks_until:
            self._thanks_until = None
            if self.page is Page.THANKS:
                self.page = Page.IDLE
        return self.page
