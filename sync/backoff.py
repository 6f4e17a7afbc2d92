"""How long to wait before the next upload after failures. Pure: the random source
and the current time are parameters.

Capped exponential backoff with full jitter (a delay drawn uniformly from
[0, min(cap, base·2^(n-1))]) spreads a fleet of kiosks that lost the server at the
same moment; a server's `Retry-After` is a floor that jitter never undercuts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

# 2**62 seconds is far beyond any cap; stopping the exponent there avoids float overflow
# after a very long outage.
_MAX_EXPONENT = 62


@dataclass(frozen=True)
class Backoff:
    base_s: float = 1.0
    cap_s: float = 300.0

    def __post_init__(self) -> None:
        if self.base_s <= 0 or self.cap_s <= 0:
            raise ValueError(f"base_s and cap_s must be > 0, got {self.base_s}, {self.cap_s}")

    def ceiling(self, failures: int) -> float:
        """The longest jittered wait after `failures` consecutive failures (≥ 1)."""
        if failures < 1:
            raise ValueError(f"failures counts from 1, got {failures}")
        return min(self.cap_s, self.base_s * 2.0 ** min(failures - 1, _MAX_EXPONENT))

    def delay(
        self,
        failures: int,
        random: Callable[[], float],
        retry_after_s: float | None = None,
    ) -> float:
        """Seconds to wait. `random()` returns a float in [0, 1)."""
        jittered = random() * self.ceiling(failures)
        if retry_after_s is None:
            return jittered
        return max(jittered, retry_after_s)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """A `Retry-After` header as seconds from `now`: delta-seconds or an HTTP date.
    None when absent or unreadable; never negative."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())
