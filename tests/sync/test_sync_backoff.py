"""Backoff: capped exponential with full jitter, never sooner than Retry-After."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from hailong.sync.backoff import Backoff, parse_retry_after


@pytest.mark.parametrize(
    ("failures", "ceiling"),
    [(1, 1.0), (2, 2.0), (3, 4.0), (6, 32.0), (9, 256.0), (10, 300.0), (50, 300.0), (10**6, 300.0)],
)
def test_ceiling_doubles_up_to_the_cap(failures: int, ceiling: float) -> None:
    assert Backoff(base_s=1.0, cap_s=300.0).ceiling(failures) == ceiling


@pytest.mark.parametrize(
    ("failures", "draw", "retry_after", "expected"),
    [
        (1, 0.0, None, 0.0),
        (1, 0.5, None, 0.5),
        (3, 0.5, None, 2.0),
        (20, 0.999, None, 299.7),
        (1, 0.5, 30.0, 30.0),  # Retry-After is a floor...
        (9, 0.5, 30.0, 128.0),  # ...that jitter may exceed
        (20, 0.1, 3600.0, 3600.0),  # above the cap: the server still wins
        (2, 0.0, 0.0, 0.0),
    ],
)
def test_delay(failures: int, draw: float, retry_after: float | None, expected: float) -> None:
    delay = Backoff(base_s=1.0, cap_s=300.0).delay(failures, lambda: draw, retry_after)
    assert delay == pytest.approx(expected)


def test_full_jitter_spreads_over_the_whole_range_with_a_seeded_source() -> None:
    backoff = Backoff(base_s=1.0, cap_s=300.0)
    source = random.Random(2020).random
    delays = [backoff.delay(4, source) for _ in range(2000)]
    assert all(0.0 <= d < 8.0 for d in delays)
    # Full jitter: spread over [0, 8), not bunched at the top like plain exponential.
    assert min(delays) < 0.1
    assert max(delays) > 7.9
    assert 3.6 < sum(delays) / len(delays) < 4.4


def test_never_sooner_than_retry_after_whatever_the_draw() -> None:
    backoff = Backoff(base_s=0.5, cap_s=10.0)
    source = random.Random(7).random
    for failures in range(1, 40):
        assert backoff.delay(failures, source, retry_after_s=5.0) >= 5.0


@pytest.mark.parametrize(
    ("base", "cap", "failures"), [(0.0, 1.0, 1), (1.0, 0.0, 1), (1.0, 1.0, 0)]
)
def test_bad_parameters_are_refused(base: float, cap: float, failures: int) -> None:
    with pytest.raises(ValueError):
        Backoff(base_s=base, cap_s=cap).ceiling(failures)


NOW = datetime(2025, 6, 1, 8, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("Sun, 01 Jun 2025 08:00:30 GMT", 30.0),
        ("Sun, 01 Jun 2025 07:59:00 GMT", 0.0),  # a date in the past: retry now
        ("soon", None),
        ("-5", None),
        ("", None),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, NOW) == seconds
