"""`hailong kiosk set-pin`: the real command, its line read back by the real loader."""

import os
import subprocess
import sys

from hailong.config.loader import load_kiosk
from hailong.kiosk.staff.pins import pin_matches


def set_pin(role, stdin):
    return subprocess.run(
        [sys.executable, "-m", "hailong", "kiosk", "set-pin", "--role", role, "--pin-stdin"],
        input=stdin, capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "HAILONG_LANG": "en"},
    )


def test_the_printed_line_goes_into_kiosk_toml_and_opens_with_that_pin(tmp_path):
    made = set_pin("technician", "135790\n135790\n")
    assert made.returncode == 0, made.stderr
    line = made.stdout.strip()
    assert line.startswith('technician_pin_hash = "$argon2id$')
    config = tmp_path / "kiosk.toml"
    config.write_text(f"[kiosk]\n{line}\n", encoding="utf-8")
    settings = load_kiosk(config)
    assert pin_matches(settings.kiosk.technician_pin_hash, "135790")
    assert not pin_matches(settings.kiosk.technician_pin_hash, "135791")


def test_two_different_pins_or_a_pin_the_keypad_cannot_type_make_nothing():
    differ = set_pin("supervisor", "1357\n2468\n")
    assert differ.returncode == 2
    assert "differ" in differ.stderr and differ.stdout == ""
    letters = set_pin("supervisor", "abcd\nabcd\n")
    assert letters.returncode == 2 and "digits" in letters.stderr
    short = set_pin("supervisor", "123\n")
    assert short.returncode == 2 and short.stdout == ""
