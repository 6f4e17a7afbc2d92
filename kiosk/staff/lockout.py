"""Wrong PINs lock a PIN for a growing delay, and the lock survives a restart.

Clocks. A lock is measured on the monotonic clock while the machine stays up: setting
the wall clock (by hand or by NTP) neither shortens nor lengthens it. After a reboot
the monotonic clock starts again from zero, so the lock falls back to the wall
clock, but never for longer than the delay it was given: a wall clock that jumped
back (a dead RTC battery at boot) cannot lock a PIN for days. A wall clock that
jumped forward after a reboot ends the lock early; the failures stay counted, so
the next wrong PIN locks for longer still.

The core here is pure: times are passed in. `Lockouts` keeps the state in the
kiosk store (one JSON value per PIN) and reads the clocks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Protocol

from hailong.i18n import _


@dataclass(frozen=True)
class Instant:
    """One moment on both clocks, and which boot the monotonic one belongs to."""

    wall: float
    mono: float
    boot_id: str


@dataclass(frozen=True)
class LockoutPolicy:
    free_attempts: int = 3
    first_delay_s: float = 30.0
    max_delay_s: float = 3600.0

    def delay_after(self, failures: int) -> float:
        """0 while free attempts remain; then the first delay, doubling, capped."""
        if failures < self.free_attempts:
            return 0.0
        steps = failures - self.free_attempts
        # Capped before exponentiation: a huge count must not overflow.
        return min(self.max_delay_s, self.first_delay_s * 2 ** min(steps, 32))


@dataclass(frozen=True)
class LockState:
    failures: int = 0
    delay_s: float = 0.0
    # When the current lock began, on each clock.
    since_wall: float = 0.0
    since_mono: float = 0.0
    boot_id: str = ""


def remaining(state: LockState, now: Instant) -> float:
    """Seconds until the PIN may be tried again (0: it may be tried now)."""
    if state.delay_s <= 0:
        return 0.0
    if now.boot_id == state.boot_id and now.mono >= state.since_mono:
        elapsed = now.mono - state.since_mono
    else:
        elapsed = now.wall - state.since_wall
    return max(0.0, min(state.delay_s, state.delay_s - elapsed))


def record_failure(state: LockState, now: Instant, policy: LockoutPolicy) -> LockState:
    failures = state.failures + 1
    return LockState(
        failures=failures,
        delay_s=policy.delay_after(failures),
        since_wall=now.wall,
        since_mono=now.mono,
        boot_id=now.boot_id,
    )


def record_success(_state: LockState) -> LockState:
    return LockState()


class StateStore(Protocol):
    def get_state(self, key: str) -> str | None: ...

    def set_state(self, key: str, value: str) -> None: ...


def _system_now() -> Instant:
    from hailong.sync.boot import current_boot_id

    return Instant(wall=time.time(), mono=time.monotonic(), boot_id=str(current_boot_id()))


class Lockouts:
    """The lock of each PIN (`"technician"`, `"supervisor"`, `"officer:7"`), kept in
    the kiosk store under `lockout.<name>`."""

    def __init__(
        self,
        store: StateStore,
        policy: LockoutPolicy = LockoutPolicy(),
        clock: Callable[[], Instant] = _system_now,
    ) -> None:
        self.store = store
        self.policy = policy
        self.clock = clock

    def remaining(self, name: str) -> float:
        return remaining(self._load(name), self.clock())

    def failed(self, name: str) -> float:
        """Count a wrong PIN; the seconds it is now locked for."""
        now = self.clock()
        state = record_failure(self._load(name), now, self.policy)
        self._save(name, state)
        return remaining(state, now)

    def succeeded(self, name: str) -> None:
        state = self._load(name)
        if state != LockState():
            self._save(name, record_success(state))

    def _load(self, name: str) -> LockState:
        raw = self.store.get_state(f"lockout.{name}")
        if not raw:
            return LockState()
        try:
            values = json.loads(raw)
            known = {k: values[k] for k in asdict(LockState()) if k in values}
            return replace(LockState(), **known)
        except (ValueError, TypeError):
            # A damaged value must not unlock anything: treat it as a fresh full lock.
            now = self.clock()
            return record_failure(
                LockState(failures=self.policy.free_attempts - 1), now, self.policy
            )

    def _save(self, name: str, state: LockState) -> None:
        self.store.set_state(f"lockout.{name}", json.dumps(asdict(state)))


def describe_wait(seconds: float) -> str:
    """A lock's remaining time as a person reads it: "45 s", "3 min"."""
    seconds = max(1, round(seconds))
    if seconds < 60:
        return _("{n} s").format(n=seconds)
    return _("{n} min").format(n=-(-seconds // 60))
