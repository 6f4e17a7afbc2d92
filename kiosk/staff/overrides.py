"""Settings a technician changes on the kiosk's screen, kept in the kiosk store.

The settings file stays as the installer wrote it; the technician's choices (the
box's serial port, the server's URL) are saved as overrides in the store and laid
over the file's settings at start-up with `apply_overrides`. Every change is
validated by the settings models before anything is saved.
"""

from __future__ import annotations

import json
from typing import Any

from hailong.config.loader import ConfigError, validate
from hailong.config.settings import KioskFile
from hailong.i18n import _

STATE_KEY = "settings_override"

# What the technician's screen may change: section → keys.
EDITABLE: dict[str, frozenset[str]] = {
    "device": frozenset({"port"}),
    "sync": frozenset({"server_url"}),
}


class OverrideError(ValueError):
    """An override the settings refuse; `problems` says which value and why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _check_keys(overrides: dict[str, Any]) -> None:
    problems = []
    for section, values in overrides.items():
        if section not in EDITABLE or not isinstance(values, dict):
            problems.append(_("{section} cannot be changed here").format(section=section))
            continue
        problems += [
            _("{section}.{key} cannot be changed here").format(section=section, key=key)
            for key in values
            if key not in EDITABLE[section]
        ]
    if problems:
        raise OverrideError(problems)


def apply_overrides(settings: KioskFile, overrides: dict[str, Any]) -> KioskFile:
    """`settings` with `overrides` ({"device": {"port": ...}, "sync": {...}}) laid over
    them, validated as a whole; raises `OverrideError` naming each bad value."""
    _check_keys(overrides)
    merged = settings.model_dump(mode="json")
    for section, values in overrides.items():
        merged[section] = {**merged[section], **values}
    try:
        return validate(KioskFile, merged, file="")
    except ConfigError as exc:
        # The settings file's own wording, in the kiosk's language (not pydantic's English).
        raise OverrideError(
            [
                _("{key}: expected {expected}; found {found}").format(
                    key=problem.key, expected=problem.expected, found=problem.found)
                for problem in exc.problems
            ]
        ) from None


def load_overrides(store: Any) -> dict[str, Any]:
    """The saved overrides ({} when none, or when the saved value is unreadable)."""
    raw = store.get_state(STATE_KEY)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def save_override(
    store: Any, settings: KioskFile, section: str, key: str, value: object
) -> KioskFile:
    """Validate one change together with those saved before, then save them all; the
    settings as they will be after a restart. Nothing is saved when it is refused."""
    overrides = load_overrides(store)
    overrides[section] = {**overrides.get(section, {}), key: value}
    result = apply_overrides(settings, overrides)
    store.set_state(STATE_KEY, json.dumps(overrides, ensure_ascii=False))
    return result
