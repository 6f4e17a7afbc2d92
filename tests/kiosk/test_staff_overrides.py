"""Technician's changes: validated by the settings models, kept in a real kiosk store."""

import json

import pytest

from hailong.config.settings import DeviceSettings, KioskFile
from hailong.kiosk.staff.overrides import (
    STATE_KEY,
    OverrideError,
    apply_overrides,
    load_overrides,
    save_override,
)
from hailong.sync.store import KioskStore

FILE = KioskFile(device=DeviceSettings(port="/dev/ttyACM0", baudrate=57600))


def test_overrides_are_laid_over_the_files_settings_and_keep_the_rest():
    settings = apply_overrides(
        FILE, {"device": {"port": "/dev/ttyUSB1"}, "sync": {"server_url": "http://10.0.0.5:8080"}}
    )
    assert settings.device.port == "/dev/ttyUSB1"
    assert settings.device.baudrate == 57600
    assert str(settings.sync.server_url) == "http://10.0.0.5:8080/"
    assert settings.kiosk == FILE.kiosk
    assert apply_overrides(FILE, {}) == FILE


def test_a_bad_value_names_the_setting_and_why():
    with pytest.raises(OverrideError) as caught:
        apply_overrides(FILE, {"sync": {"server_url": "not a url"}})
    assert caught.value.problems == [
        'sync.server_url: expected a URL such as http://server:8080; found "not a url"']
    with pytest.raises(OverrideError, match=r"device\.port"):
        apply_overrides(FILE, {"device": {"port": ""}})


def test_only_the_screens_settings_may_be_overridden():
    with pytest.raises(OverrideError, match=r"kiosk cannot be changed"):
        apply_overrides(FILE, {"kiosk": {"technician_pin_hash": ""}})
    with pytest.raises(OverrideError, match=r"device\.baudrate cannot be changed"):
        apply_overrides(FILE, {"device": {"baudrate": 9600}})


@pytest.fixture
def store(tmp_path):
    with KioskStore(tmp_path / "kiosk.db") as store:
        yield store


def test_saved_changes_accumulate_and_a_refused_one_saves_nothing(store):
    save_override(store, FILE, "device", "port", "/dev/ttyUSB0")
    after = save_override(store, FILE, "sync", "server_url", "http://127.0.0.1:9000")
    assert after.device.port == "/dev/ttyUSB0"
    saved = load_overrides(store)
    assert saved == {"device": {"port": "/dev/ttyUSB0"},
                     "sync": {"server_url": "http://127.0.0.1:9000"}}

    with pytest.raises(OverrideError):
        save_override(store, FILE, "sync", "server_url", "ftp://x")
    assert load_overrides(store) == saved
    assert apply_overrides(FILE, load_overrides(store)).device.port == "/dev/ttyUSB0"


def test_an_unreadable_saved_value_counts_as_no_override(store):
    store.set_state(STATE_KEY, "{broken")
    assert load_overrides(store) == {}
    store.set_state(STATE_KEY, json.dumps(["a", "list"]))
    assert load_overrides(store) == {}
