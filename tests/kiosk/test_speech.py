"""The spoken thank-you: played through Kivy's real SDL audio (its dummy driver, as
there is no sound card here), and silent — never failing — where it cannot play."""

from __future__ import annotations

import os
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from hailong.kiosk.speech import recording

PLAY = """
import sys
from pathlib import Path
from hailong.kiosk.kivy_env import prepare_kivy_environment
prepare_kivy_environment(Path(sys.argv[1]))
from hailong.kiosk.speech import ThanksVoice
voice = ThanksVoice(enabled=sys.argv[2] == "on")
print(voice.play("vi"), voice.play("en"), voice.play("vi"))
"""


def play(tmp_path: Path, enabled: str, audio_driver: str) -> str:
    env = {**os.environ, "SDL_AUDIODRIVER": audio_driver}
    done = subprocess.run(
        [sys.executable, "-c", PLAY, str(tmp_path / "kivy"), enabled],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("language", ["vi", "en"])
def test_each_language_has_a_short_recording(language: str) -> None:
    with wave.open(str(recording(language))) as sound:
        seconds = sound.getnframes() / sound.getframerate()
    assert 0.3 < seconds < 3.0


def test_the_thank_you_plays_when_turned_on(tmp_path: Path) -> None:
    assert play(tmp_path, "on", "dummy") == "True True True"


def test_off_or_without_a_sound_device_it_stays_silent(tmp_path: Path) -> None:
    assert play(tmp_path, "off", "dummy") == "False False False"
    assert play(tmp_path, "on", "no-such-driver") == "False False False"
