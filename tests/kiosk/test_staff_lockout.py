"""The PIN lock: growing delays, both clocks, persistence in a real kiosk store."""

import pytest

from hailong.kiosk.staff.lockout import (
    Instant,
    LockoutPolicy,
    Lockouts,
    LockState,
    record_failure,
    record_success,
    remaining,
)
from hailong.sync.store import KioskStore

POLICY = LockoutPolicy(free_attempts=3, first_delay_s=30, max_delay_s=3600)
START = Instant(wall=1_800_000_000.0, mono=500.0, boot_id="boot-a")


def later(instant, seconds, *, wall=None, boot_id=None):
    return Instant(
        wall=instant.wall + seconds if wall is None else wall,
        mono=instant.mono + seconds if boot_id is None else seconds,
        boot_id=boot_id or instant.boot_id,
    )


def fail(times, now=START):
    state = LockState()
    for _ in range(times):
        state = record_failure(state, now, POLICY)
    return state


def test_the_first_wrong_pins_are_free_then_the_delay_doubles_up_to_the_cap():
    assert [POLICY.delay_after(n) for n in range(1, 12)] == [
        0, 0, 30, 60, 120, 240, 480, 960, 1920, 3600, 3600
    ]
    assert POLICY.delay_after(10**9) == 3600


def test_two_wrong_pins_do_not_lock_the_third_does():
    assert remaining(fail(2), START) == 0
    assert remaining(fail(3), START) == 30


def test_the_lock_runs_out_on_the_monotonic_clock_whatever_the_wall_clock_does():
    locked = fail(3)
    assert remaining(locked, later(START, 10)) == 20
    # Someone sets the wall clock a day back, or forward: the same boot counts on.
    assert remaining(locked, later(START, 10, wall=START.wall - 86_400)) == 20
    assert remaining(locked, later(START, 10, wall=START.wall + 86_400)) == 20
    assert remaining(locked, later(START, 30)) == 0


def test_after_a_reboot_the_wall_clock_counts_but_never_beyond_the_delay():
    locked = fail(4)  # 60 s
    rebooted = later(START, 20, boot_id="boot-b")  # monotonic restarts near zero
    assert remaining(locked, rebooted) == 40
    # A wall clock that came back wrong (far in the past) cannot lock it forever.
    stuck = Instant(wall=START.wall - 10 * 365 * 86_400, mono=5.0, boot_id="boot-b")
    assert remaining(locked, stuck) == 60
    assert remaining(locked, later(START, 61, boot_id="boot-b")) == 0


def test_a_right_pin_clears_the_count():
    assert record_success(fail(5)) == LockState()
    assert remaining(record_success(fail(5)), START) == 0


@pytest.fixture
def store(tmp_path):
    with KioskStore(tmp_path / "kiosk.db") as store:
        yield store


def test_the_lock_survives_a_restart_of_the_kiosk(tmp_path):
    now = [START]
    with KioskStore(tmp_path / "kiosk.db") as store:
        locks = Lockouts(store, POLICY, clock=lambda: now[0])
        assert [locks.failed("technician") for _ in range(3)] == [0, 0, 30]
    now[0] = later(START, 5)
    with KioskStore(tmp_path / "kiosk.db") as store:
        locks = Lockouts(store, POLICY, clock=lambda: now[0])
        assert locks.remaining("technician") == 25
        # Each PIN has its own lock.
        assert locks.remaining("supervisor") == 0
        assert locks.remaining("officer:2") == 0
        # Locked or not, the next wrong PIN doubles the delay.
        assert locks.failed("technician") == 60
        locks.succeeded("technician")
        assert locks.remaining("technician") == 0
        assert locks.failed("technician") == 0


def test_a_damaged_saved_lock_locks_rather_than_unlocks(store):
    store.set_state("lockout.technician", "{not json")
    locks = Lockouts(store, POLICY, clock=lambda: START)
    assert locks.remaining("technician") == 30
