"""Which screen the citizen sees, and for how long: the kiosk's navigation as plain
Python. Times are passed in (monotonic seconds), so tests need neither a window
nor a clock.

After a rating the policy may ask for more (a reason, a comment, a number to call
back). Those pages never cost the citizen their rating: the rating is already
stored, every answer is saved as soon as it is given (a `SaveFeedback` effect), and
whatever ends the follow-up — the last page, a timeout, the next citizen's rating —
releases it as it stands (a `FinishFeedback` effect). The app carries the effects
out against the controller; the flow never touches it.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from enum import StrEnum

from hailong.config.reasons import ReasonCode
from hailong.sync.store import Feedback
from hailong.sync.wire import MAX_COMMENT, PHONE_PATTERN

_PHONE = re.compile(PHONE_PATTERN)


class Page(StrEnum):
    NOT_ENROLLED = "not_enrolled"
    IDLE = "idle"
    THANKS = "thanks"
    REASON = "reason"
    COMMENT = "comment"
    CONSENT = "consent"
    PHONE = "phone"


FOLLOW_UP_PAGES = frozenset({Page.REASON, Page.COMMENT, Page.CONSENT, Page.PHONE})


@dataclass(frozen=True)
class FollowUp:
    """What to ask about one stored rating, as the policy says at that moment."""

    rating_id: uuid.UUID
    comment: bool
    callback: bool
    timeout_s: float


@dataclass(frozen=True)
class SaveFeedback:
    """Keep the answers so far (the rating stays held)."""

    rating_id: uuid.UUID
    feedback: Feedback


@dataclass(frozen=True)
class FinishFeedback:
    """The follow-up is over: release the rating with what it has."""

    rating_id: uuid.UUID


Effect = SaveFeedback | FinishFeedback


def valid_phone(number: str) -> bool:
    """A Vietnamese number as the server accepts it: 0 and nine digits, or +84 and nine."""
    return _PHONE.fullmatch(number) is not None


class KioskFlow:
    def __init__(self, *, enrolled: bool, thanks_s: float) -> None:
        self.thanks_s = thanks_s
        self.page = Page.IDLE if enrolled else Page.NOT_ENROLLED
        self._thanks_until: float | None = None
        self._follow_up: FollowUp | None = None
        self._feedback = Feedback()
        self._page_until: float | None = None
        self._effects: list[Effect] = []

    @property
    def feedback(self) -> Feedback:
        """The answers of the follow-up under way (empty when there is none)."""
        return self._feedback

    def take_effects(self) -> list[Effect]:
        """What the app must now do with the controller, oldest first; emptied."""
        effects, self._effects = self._effects, []
        return effects

    # -- ratings -----------------------------------------------------------------

    def rated(self, now: float, follow_up: FollowUp | None = None) -> Page:
        """Any rating, from the box or the screen.

        Without a follow-up: the same neutral thank-you for every level. A rating
        during the thank-you starts its time again, so a second citizen is thanked
        as fully as the first. A rating while a follow-up page is open ends that
        follow-up with what it has: the new citizen is at the counter now.
        """
        if self.page is Page.NOT_ENROLLED:
            return self.page
        self._end_follow_up()
        if follow_up is None:
            return self._thank(now)
        self._follow_up = follow_up
        self._feedback = Feedback()
        return self._show(Page.REASON, now)

    # -- answers -------------------------------------------------------------------

    def choose_reason(self, reason: ReasonCode | None, now: float) -> Page:
        """A reason tapped, or None for "Skip"."""
        if self.page is not Page.REASON:
            return self.page
        if reason is not None:
            self._save(replace(self._feedback, reason=reason))
        return self._after_reason(now)

    def send_comment(self, text: str | None, now: float) -> Page:
        """The comment sent, or None for "Skip"; blank text counts as skipped."""
        if self.page is not Page.COMMENT:
            return self.page
        if text is not None and text.strip():
            # The keyboard stops at the limit already; the cut keeps an upload from
            # ever being refused for a comment typed some other way.
            self._save(replace(self._feedback, comment=text.strip()[:MAX_COMMENT]))
        return self._after_comment(now)

    def answer_consent(self, yes: bool, now: float) -> Page:
        """ "Yes, call me" leads to the number; "No thanks" ends the follow-up."""
        if self.page is not Page.CONSENT:
            return self.page
        if not yes:
            return self._thank(now)
        self._save(replace(self._feedback, phone_consent=True))
        return self._show(Page.PHONE, now)

    def send_phone(self, number: str | None, now: float) -> Page:
        """The number entered, or None for "Skip". A number the server would refuse
        keeps the keypad open (the screen says why) and is not saved."""
        if self.page is not Page.PHONE:
            return self.page
        if number is not None:
            if not valid_phone(number):
                return self.page
            self._save(replace(self._feedback, callback_phone=number))
        return self._thank(now)

    def activity(self, now: float) -> None:
        """The citizen is still answering (a key pressed): the page's time starts again."""
        if self.page in FOLLOW_UP_PAGES and self._follow_up is not None:
            self._page_until = now + self._follow_up.timeout_s

    # -- time ------------------------------------------------------------------------

    def wake_at(self) -> float | None:
        """When `tick` may next change the page (None: nothing is pending)."""
        if self.page is Page.THANKS:
            return self._thanks_until
        if self.page in FOLLOW_UP_PAGES:
            return self._page_until
        return None

    def tick(self, now: float) -> Page:
        if self.page in FOLLOW_UP_PAGES:
            if self._page_until is not None and now >= self._page_until:
                # Nobody answered: what was given is kept, the rating goes on its way.
                return self._thank(now)
        elif self._thanks_until is not None and now >= self._thanks_until:
            self._thanks_until = None
            if self.page is Page.THANKS:
                self.page = Page.IDLE
        return self.page

    # -- steps -----------------------------------------------------------------------

    def _after_reason(self, now: float) -> Page:
        assert self._follow_up is not None
        if self._follow_up.comment:
            return self._show(Page.COMMENT, now)
        return self._after_comment(now)

    def _after_comment(self, now: float) -> Page:
        assert self._follow_up is not None
        if self._follow_up.callback:
            return self._show(Page.CONSENT, now)
        return self._thank(now)

    def _show(self, page: Page, now: float) -> Page:
        assert self._follow_up is not None
        self.page = page
        self._page_until = now + self._follow_up.timeout_s
        return page

    def _thank(self, now: float) -> Page:
        self._end_follow_up()
        self.page = Page.THANKS
        self._thanks_until = now + self.thanks_s
        return self.page

    def _save(self, feedback: Feedback) -> None:
        assert self._follow_up is not None
        self._feedback = feedback
        self._effects.append(SaveFeedback(self._follow_up.rating_id, feedback))

    def _end_follow_up(self) -> None:
        if self._follow_up is not None:
            self._effects.append(FinishFeedback(self._follow_up.rating_id))
        self._follow_up = None
        self._feedback = Feedback()
        self._page_until = None
