"""The official satisfaction formulas, as pure functions of vote counts.

Both take the counts of *valid* ratings by SIPAS level (1 = Rất không hài lòng …
5 = Rất hài lòng); flagged ratings must already be left out. They differ on
purpose: "Bình thường" (level 3) is not satisfied for the SIPAS index but is not
a negative for the Decision 766 rate, so the two are shown side by side and never
mixed.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from fractions import Fraction
from typing import TypeVar

SIPAS_LEVELS = (1, 2, 3, 4, 5)
# The target of the Department's Plan 39/KH-SNN: a SIPAS index above 85 %.
SIPAS_TARGET_PERCENT = 85.0
SATISFIED_LEVELS = frozenset({4, 5})
NOT_SATISFIED_LEVELS = frozenset({1, 2})


def _valid(counts: Mapping[int, int]) -> int:
    unknown = set(counts) - set(SIPAS_LEVELS)
    if unknown:
        raise ValueError(f"SIPAS levels are 1 to 5, got {sorted(unknown)}")
    if any(n < 0 for n in counts.values()):
        raise ValueError(f"counts cannot be negative: {dict(counts)}")
    return sum(counts.values())


def sipas_index(counts_by_sipas_level: Mapping[int, int]) -> float | None:
    """(Hài lòng + Rất hài lòng) / valid ratings × 100; None when there is no rating."""
    valid = _valid(counts_by_sipas_level)
    if valid == 0:
        return None
    satisfied = sum(counts_by_sipas_level.get(level, 0) for level in SATISFIED_LEVELS)
    return satisfied / valid * 100


def decision766_rate(counts_by_sipas_level: Mapping[int, int]) -> float | None:
    """(valid − not satisfied) / valid × 100, not satisfied being levels 1–2
    (Decision 766/QĐ-TTg); None when there is no rating."""
    valid = _valid(counts_by_sipas_level)
    if valid == 0:
        return None
    negative = sum(counts_by_sipas_level.get(level, 0) for level in NOT_SATISFIED_LEVELS)
    return (valid - negative) / valid * 100


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """Wilson score interval for a proportion, as percentages; None when n is 0.

    Unlike the plain p ± z·√(p(1−p)/n) it stays inside 0–100 % and is honest for
    the small vote counts a single officer often has.
    """
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 ≤ successes ≤ n, got successes={successes}, n={n}")
    if n == 0:
        return None
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - half) * 100, min(1.0, centre + half) * 100


# Below this many valid ratings nobody is ranked: a handful of votes says more
# about chance than about the officer.
MIN_RANKED_VALID = 30

K = TypeVar("K", bound=Hashable)


def gap_to_target(index: float | None, target: float = SIPAS_TARGET_PERCENT) -> float | None:
    """Percentage points above (positive) or below (negative) the target."""
    return None if index is None else index - target


def competition_ranks(
    entries: Mapping[K, tuple[float | None, int]], min_valid: int = MIN_RANKED_VALID
) -> dict[K, int | None]:
    """Ranks by SIPAS index, best first, from `{key: (index, valid ratings)}`.

    Equal indices share a rank and the next rank skips ("1, 2, 2, 4"). A key with
    fewer than `min_valid` valid ratings, or no index, gets no rank (None) and
    takes no place from the others.
    """
    if min_valid < 1:
        raise ValueError(f"min_valid must be at least 1, got {min_valid}")
    eligible = sorted(
        ((index, key) for key, (index, valid) in entries.items()
         if index is not None and valid >= min_valid),
        key=lambda pair: -pair[0],
    )
    ranks: dict[K, int | None] = dict.fromkeys(entries)
    previous: float | None = None
    rank = 0
    for place, (index, key) in enumerate(eligible, start=1):
        if index != previous:
            rank, previous = place, index
        ranks[key] = rank
    return ranks


def negatives_to_spare(
    satisfied: int, valid: int, target: float = SIPAS_TARGET_PERCENT
) -> int | None:
    """How many more not-satisfied ratings would leave the SIPAS index still at or
    above `target`: the largest k with satisfied / (valid + k) ≥ target. None when
    there is no rating or the index is already below the target."""
    if valid < 0 or not 0 <= satisfied <= valid:
        raise ValueError(f"need 0 ≤ satisfied ≤ valid, got satisfied={satisfied}, valid={valid}")
    if not 0 < target <= 100:
        raise ValueError(f"the target is a percentage above 0, got {target}")
    if valid == 0:
        return None
    # Exact arithmetic: a float division could put a unit on the wrong side of 85 %.
    spare = math.floor(Fraction(satisfied * 100) / Fraction(target)) - valid
    return spare if spare >= 0 else None
