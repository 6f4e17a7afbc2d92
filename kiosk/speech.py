"""The optional spoken thank-you: one short recording per language, played on the
thank-you screen. It is the same words whatever level was chosen, so someone standing
at the counter learns nothing from it (officer-blind, like the screen).

A kiosk without a sound device, or whose recording cannot be played, simply stays
silent: the failure is logged once and never reaches the citizen.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def recording(language: str) -> Path:
    """The shipped recording for `language` (`make voices` remakes them)."""
    return Path(str(resources.files("hailong.kiosk") / "assets" / f"thanks-{language}.wav"))


class ThanksVoice:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._sounds: dict[str, Any] = {}
        self._failed: set[str] = set()

    def play(self, language: str) -> bool:
        """Start the thank-you in `language`; False when it cannot be played (or is off)."""
        if not self.enabled or language in self._failed:
            return False
        sound = self._sounds.get(language)
        if sound is None:
            from kivy.core.audio import SoundLoader

            sound = SoundLoader.load(str(recording(language)))
            # SDL loads nothing without an audio device, and says so with a length of 0.
            if sound is None or not sound.length:
                self._failed.add(language)
                log.warning("the spoken thank-you (%s) cannot be played here: "
                            "no sound device, or no recording", language)
                return False
            self._sounds[language] = sound
        sound.stop()
        sound.play()
        log.info("spoken thank-you played (%s)", language)
        return True
