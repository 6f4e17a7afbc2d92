"""PIN and badge checks, and telling a barcode scanner from a person typing."""

from argon2 import PasswordHasher

from hailong.kiosk.staff.pins import (
    WedgeReader,
    badge_hash,
    hash_pin,
    officer_with_badge,
    pin_matches,
)
from hailong.sync.wire import Officer

CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def test_a_pin_matches_only_its_own_hash():
    stored = CHEAP.hash("2468")
    assert pin_matches(stored, "2468")
    assert not pin_matches(stored, "2469")
    assert not pin_matches(stored, "")
    assert not pin_matches("", "2468")
    assert not pin_matches(None, "2468")
    assert not pin_matches("not-a-hash", "2468")


def test_set_pin_makes_argon2id_hashes():
    made = hash_pin("909090")
    assert made.startswith("$argon2id$")
    assert pin_matches(made, "909090")


def test_a_badge_finds_its_officer_by_the_sha256_of_its_code():
    officers = [
        Officer(id=1, name="A", title="t"),
        Officer(id=2, name="B", title="t", badge_hash=badge_hash("HL-0002").upper()),
    ]
    assert badge_hash(" HL-0002\n") == badge_hash("HL-0002")
    assert officer_with_badge(officers, "HL-0002").id == 2
    assert officer_with_badge(officers, "HL-0003") is None


def feed(reader, text, start, gap):
    for i, char in enumerate(text):
        reader.character(char, start + i * gap)
    return start + len(text) * gap


def test_a_fast_burst_then_enter_is_a_scan():
    reader = WedgeReader(max_gap_s=0.1)
    end = feed(reader, "HL-0002", 10.0, 0.01)
    assert reader.enter(end) == "HL-0002"
    # Read once.
    assert reader.enter(end + 0.01) is None


def test_typing_at_a_persons_pace_or_a_late_enter_is_not_a_scan():
    reader = WedgeReader(max_gap_s=0.1)
    end = feed(reader, "HL-0002", 10.0, 0.25)
    assert reader.enter(end) is None
    end = feed(reader, "HL-0002", 20.0, 0.01)
    assert reader.enter(end + 0.5) is None


def test_a_pause_starts_a_new_code_and_short_bursts_are_ignored():
    reader = WedgeReader(max_gap_s=0.1, min_length=4)
    feed(reader, "zz", 1.0, 0.01)
    end = feed(reader, "HL-7", 5.0, 0.01)
    assert reader.enter(end) == "HL-7"
    end = feed(reader, "abc", 9.0, 0.01)
    assert reader.enter(end) is None
