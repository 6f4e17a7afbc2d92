"""Per-kiosk rate limit of uploads: a token bucket per kiosk, in process memory.

The core is pure (times are passed in). A kiosk that drains a long backlog one
batch after another stays under the default rate; a kiosk stuck in a resend loop
gets 429 answers with `Retry-After` and slows down.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

# Buckets of kiosks quiet for long enough are full again: forgetting them changes
# nothing. Pruned when this many are held.
PRUNE_ABOVE = 10_000


@dataclass(frozen=True)
class RateLimit:
    """Batches per second, and how many may come at once after a quiet spell
    (`upload_batches_per_s` and `upload_burst` in the server's settings)."""

    per_s: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_s <= 0 or self.burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")


@dataclass
class Bucket:
    tokens: float
    updated: float

    def take(self, limit: RateLimit, now: float) -> float:
        """Take one token; 0 when allowed, else the seconds until one is there."""
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(float(limit.burst), self.tokens + elapsed * limit.per_s)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / limit.per_s


class KioskRateLimiter:
    """Thread-safe: sync endpoints run in a thread pool."""

    def __init__(self, limit: RateLimit):
        self.limit = limit
        self._buckets: dict[int, Bucket] = {}
        self._lock = threading.Lock()

    def retry_after(self, kiosk_id: int, now: float) -> int | None:
        """None when the kiosk may go ahead; else whole seconds to wait (≥ 1)."""
        with self._lock:
            if len(self._buckets) > PRUNE_ABOVE:
                self._prune(now)
            bucket = self._buckets.setdefault(kiosk_id, Bucket(float(self.limit.burst), now))
            wait = bucket.take(self.limit, now)
        return None if wait == 0.0 else max(1, math.ceil(wait))

    def _prune(self, now: float) -> None:
        refill_s = self.limit.burst / self.limit.per_s
        self._buckets = {
            kiosk: bucket
            for kiosk, bucket in self._buckets.items()
            if now - bucket.updated < refill_s
        }
