"""Technician tools for one rating box: a guided button test and the box's settings.

Pure parts: `ButtonTest` (which button is awaited, what each press means, when a
button has waited too long; times are passed in) and `parse_settings` (the
`KEY=VALUE` words of `hailong device set`, checked before anything is sent). They are
driven over a `box_link.BoxLink` (a short synchronous connection) by `run_button_test`
and `write_settings`; `device/cli.py` prints what they report.

A command holds the port only while it runs, and the port is exclusive, so it never
runs beside a kiosk. Presses made during the button test are technician presses:
they are acknowledged (nothing stores them) so the box stops resending them and
lights its confirmation. Presses the box was still keeping from before the test may
be citizens' ratings that a stopped kiosk never stored: they are left unacknowledged,
for the kiosk to store when it connects again.
"""

from __future__ import annotations

import enum
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

from hailong.device.protocol import Ack, BoxSettings, GetSettings, Led, SetSettings
from hailong.device.protocol_constants import (
    ALL_BUTTONS,
    DEBOUNCE_MS_MAX,
    DEBOUNCE_MS_MIN,
    LABEL_LEN,
    LedPattern,
)
from hailong.device.session import BoxPress
from hailong.i18n import _

if TYPE_CHECKING:
    from hailong.device.box_link import BoxLink

DEFAULT_BUTTON_TIMEOUT_S = 20.0
SETTINGS_TIMEOUT_S = 2.0  # per exchange; the box answers within milliseconds

Report = Callable[[dict[str, object]], None]

# -- settings words -----------------------------------------------------------------


class SettingsInputError(ValueError):
    """A `KEY=VALUE` word that cannot be sent to a box; the message is for people."""


SETTING_KEYS = ("label", "debounce_ms", "led_brightness")
_INT_RANGES = {"debounce_ms": (DEBOUNCE_MS_MIN, DEBOUNCE_MS_MAX), "led_brightness": (0, 255)}


def parse_settings(words: Sequence[str]) -> dict[str, str | int]:
    """The settings named by `KEY=VALUE` words, checked against what the box can keep.

    Labels are stored in Unicode NFC (the same text typed on two keyboards is then
    the same bytes), at most `LABEL_LEN` bytes of UTF-8.
    """
    if not words:
        raise SettingsInputError(
            _("Name at least one setting as KEY=VALUE; keys: {keys}.").format(
                keys=", ".join(SETTING_KEYS)
            )
        )
    changes: dict[str, str | int] = {}
    for word in words:
        key, sep, value = word.partition("=")
        key = key.strip()
        if not sep or key not in SETTING_KEYS:
            raise SettingsInputError(
                _("{word!r} is not KEY=VALUE with a known key; keys: {keys}.").format(
                    word=word, keys=", ".join(SETTING_KEYS)
                )
            )
        if key in changes:
            raise SettingsInputError(_("{key} is given twice.").format(key=key))
        changes[key] = _label(value) if key == "label" else _integer(key, value)
    return changes


def _label(value: str) -> str:
    label = unicodedata.normalize("NFC", value)
    size = len(label.encode("utf-8"))
    if size > LABEL_LEN:
        raise SettingsInputError(
            _(
                "The label {label!r} is {size} bytes in UTF-8; the box keeps at most {limit} "
                "(Vietnamese letters take 2 or 3 bytes each)."
            ).format(label=label, size=size, limit=LABEL_LEN)
        )
    if "\0" in label:
        raise SettingsInputError(_("The label must not contain a NUL character."))
    return label


def _integer(key: str, value: str) -> int:
    low, high = _INT_RANGES[key]
    try:
        number = int(value.strip(), 10)
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise SettingsInputError(
            _("{key} must be a whole number from {low} to {high}, got {value!r}.").format(
                key=key, low=low, high=high, value=value
            )
        )
    return number


# -- the guided button test -----------------------------------------------------------


class Verdict(enum.Enum):
    PASSED = "pass"  # the awaited button: it passes
    OTHER = "other"  # another button while one is awaited
    REPEAT = "repeat"  # a press already seen (the box resends until acknowledged)
    STALE = "stale"  # a press the box kept from before the test
    LATE = "late"  # a press after the test ended


@dataclass(frozen=True)
class ButtonResult:
    button: int
    passed: bool
    seconds: float | None  # from the request to the right press; None when it never came
    others: tuple[int, ...] = ()  # other buttons pressed while this one was awaited


class ButtonTest:
    """Asks for the buttons 1..`buttons` in turn, each within `timeout_s`."""

    def __init__(self, buttons: int, timeout_s: float) -> None:
        if buttons < 1:
            raise ValueError(f"a box has at least one button, got {buttons}")
        if timeout_s <= 0:
            raise ValueError(f"the timeout must be positive, got {timeout_s}")
        self.buttons = buttons
        self.timeout_s = timeout_s
        self.results: list[ButtonResult] = []
        self._seen: set[tuple[str, int, int]] = set()
        self._stale: set[tuple[str, int, int]] = set()
        self._current: int | None = None
        self._asked_at = 0.0
        self._others: list[int] = []
        self._begun = False

    @property
    def current(self) -> int | None:
        """The button awaited now; None before `begin` and after the last one."""
        return self._current

    @property
    def done(self) -> bool:
        return self._begun and self._current is None

    @property
    def passed(self) -> bool:
        return self.done and all(r.passed for r in self.results)

    def begin(self, now: float) -> int:
        """Presses seen before this were kept by the box from before the test."""
        self._begun = True
        self._stale = set(self._seen)
        return self._ask(1, now)

    def press(self, press: BoxPress, now: float) -> Verdict:
        key = (press.serial, press.boot_nonce, press.seq)
        if key in self._stale or not self._begun:
            self._seen.add(key)
            return Verdict.STALE
        if key in self._seen:
            return Verdict.REPEAT
        self._seen.add(key)
        if self._current is None:
            return Verdict.LATE
        if press.button != self._current:
            self._others.append(press.button)
            return Verdict.OTHER
        self._finish(True, now - self._asked_at, now)
        return Verdict.PASSED

    def poll(self, now: float) -> ButtonResult | None:
        """The result of the awaited button when its time is up."""
        if self._current is None or now - self._asked_at < self.timeout_s:
            return None
        self._finish(False, None, now)
        return self.results[-1]

    def _finish(self, passed: bool, seconds: float | None, now: float) -> None:
        assert self._current is not None
        self.results.append(ButtonResult(self._current, passed, seconds, tuple(self._others)))
        following = self._current + 1
        self._current = None
        if following <= self.buttons:
            self._ask(following, now)

    def _ask(self, button: int, now: float) -> int:
        self._current = button
        self._asked_at = now
        self._others = []
        return button


def write_settings(
    link: BoxLink, changes: dict[str, str | int], timeout_s: float = SETTINGS_TIMEOUT_S
) -> BoxSettings:
    """Change the named settings, keep the others, and return what the box reads back;
    each of the three exchanges may take `timeout_s`.

    Presses arriving meanwhile are not acknowledged: the box keeps them for the kiosk.
    """
    from hailong.device.driver import BoxError  # pyserial: only when a box is used

    current = link.settings_exchange(GetSettings(), timeout_s)
    wanted = replace(current, **changes)
    link.settings_exchange(
        SetSettings(wanted.label, wanted.debounce_ms, wanted.led_brightness), timeout_s
    )
    stored = link.settings_exchange(GetSettings(), timeout_s)
    if stored != wanted:
        raise BoxError(
            _("The box on {port} kept {stored} instead of {wanted}.").format(
                port=link.port, stored=asdict(stored), wanted=asdict(wanted)
            )
        )
    return stored


def run_button_test(
    link: BoxLink,
    test: ButtonTest,
    report: Report,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Guide the technician through `test` on the box behind `link`; True when every
    button passed. Every step is given to `report` as an event dict."""
    assert link.info is not None
    stale: list[BoxPress] = []

    def early(press: BoxPress) -> None:
        if test.press(press, clock()) is Verdict.STALE and press not in stale:
            stale.append(press)

    # The box answers in order, so whatever it kept from before the test and resent
    # at our HELLO request has arrived by the time its settings do.
    settings = link.settings_exchange(GetSettings(), SETTINGS_TIMEOUT_S, on_press=early)
    report(
        {
            "event": "start",
            "serial": link.info.serial,
            "buttons": link.info.buttons,
            "label": settings.label,
            "timeout_s": test.timeout_s,
        }
    )
    for press in stale:
        report({"event": "stale", "button": press.button, "seq": press.seq})
    link.send(Led(ALL_BUTTONS, LedPattern.OFF))
    _await(link, test.begin(clock()), test, report)
    while not test.done:
        for press in link.step():
            _handle(link, test, press, clock(), report)
        result = test.poll(clock())
        if result is not None:
            link.send(Led(result.button, LedPattern.ERROR))
            report(_result_event(result))
            if test.current is not None:
                _await(link, test.current, test, report)
    failed = [r.button for r in test.results if not r.passed]
    report({"event": "result", "passed": not failed, "failed": failed})
    return not failed


def _await(link: BoxLink, button: int, test: ButtonTest, report: Report) -> None:
    # Steady ON is the one light no other state uses: the button to press now.
    link.send(Led(button, LedPattern.ON))
    report({"event": "waiting", "button": button, "timeout_s": test.timeout_s})


def _handle(link: BoxLink, test: ButtonTest, press: BoxPress, now: float, report: Report) -> None:
    awaited = test.current
    verdict = test.press(press, now)
    if verdict is Verdict.STALE:
        return  # kept for the kiosk, reported at the start
    link.send(Ack(press.boot_nonce, press.seq))
    if verdict is Verdict.PASSED:
        link.send(Led(press.button, LedPattern.CONFIRM))
        report(_result_event(test.results[-1]))
        if test.current is not None:
            _await(link, test.current, test, report)
    elif verdict is Verdict.OTHER:
        report({"event": "other", "button": press.button, "expected": awaited})


def _result_event(result: ButtonResult) -> dict[str, object]:
    return {
        "event": "pass" if result.passed else "fail",
        "button": result.button,
        "seconds": None if result.seconds is None else round(result.seconds, 3),
        "others": list(result.others),
    }
