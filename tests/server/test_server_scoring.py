"""The two official formulas and the Wilson interval against hand-computed tables."""

from __future__ import annotations

import pytest

from hailong.sync.server.scoring import (
    MIN_RANKED_VALID,
    SIPAS_TARGET_PERCENT,
    competition_ranks,
    decision766_rate,
    gap_to_target,
    negatives_to_spare,
    sipas_index,
    wilson_interval,
)

# (counts by SIPAS level, SIPAS index, Decision 766 rate), worked out by hand.
TABLES = [
    # Many "Bình thường": SIPAS counts them as not satisfied, 766 does not.
    ({5: 10, 4: 20, 3: 60, 2: 5, 1: 5}, 30.0, 90.0),  # 30/100, (100-10)/100
    ({5: 40, 4: 45, 3: 5, 2: 6, 1: 4}, 85.0, 90.0),  # 85/100, (100-10)/100
    ({3: 7}, 0.0, 100.0),  # nobody satisfied, nobody dissatisfied
    ({5: 1}, 100.0, 100.0),
    ({1: 3}, 0.0, 0.0),
    # a 3-level scale (Rất hài lòng 5, Hài lòng 4, Không hài lòng 2): no neutral, they agree
    ({5: 12, 4: 6, 2: 2}, 90.0, 90.0),  # 18/20, 18/20
    ({5: 1, 4: 1, 3: 1}, 200 / 3, 100.0),  # 2/3, 3/3
]


@pytest.mark.parametrize(("counts", "sipas", "rate766"), TABLES)
def test_both_formulas_match_the_hand_computed_table(
    counts: dict[int, int], sipas: float, rate766: float
) -> None:
    assert sipas_index(counts) == pytest.approx(sipas)
    assert decision766_rate(counts) == pytest.approx(rate766)


def test_missing_levels_count_as_zero_and_no_votes_gives_no_figure() -> None:
    assert sipas_index({}) is None
    assert decision766_rate({}) is None
    assert sipas_index({1: 0, 2: 0, 3: 0, 4: 0, 5: 0}) is None
    assert sipas_index({4: 1, 3: 0}) == 100.0


@pytest.mark.parametrize("counts", [{6: 1}, {0: 2}, {4: -1}])
def test_impossible_counts_are_refused(counts: dict[int, int]) -> None:
    with pytest.raises(ValueError):
        sipas_index(counts)
    with pytest.raises(ValueError):
        decision766_rate(counts)


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        (0, 10, 0.0, 27.754),  # upper = (z²/n)/(1+z²/n) = 0.38416/1.38416
        (10, 10, 72.246, 100.0),
        (5, 10, 23.659, 76.341),
        (81, 100, 72.221, 87.485),
    ],
)
def test_wilson_interval_matches_the_hand_computed_bounds(
    successes: int, n: int, low: float, high: float
) -> None:
    bounds = wilson_interval(successes, n)
    assert bounds is not None
    assert bounds[0] == pytest.approx(low, abs=0.001)
    assert bounds[1] == pytest.approx(high, abs=0.001)


def test_wilson_interval_narrows_with_more_votes_and_needs_some() -> None:
    few = wilson_interval(8, 10)
    many = wilson_interval(800, 1000)
    assert few is not None and many is not None
    assert many[1] - many[0] < few[1] - few[0]
    assert wilson_interval(0, 0) is None
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


def test_ranks_go_by_sipas_index_with_ties_sharing_a_place() -> None:
    entries = {"a": (90.0, 40), "b": (95.0, 30), "c": (90.0, 100), "d": (80.0, 31)}
    assert competition_ranks(entries) == {"b": 1, "a": 2, "c": 2, "d": 4}


def test_nobody_is_ranked_below_the_minimum_and_they_take_no_place() -> None:
    entries = {"few": (100.0, 29), "none": (None, 0), "x": (70.0, 30), "y": (60.0, 45)}
    assert MIN_RANKED_VALID == 30
    assert competition_ranks(entries) == {"few": None, "none": None, "x": 1, "y": 2}
    assert competition_ranks(entries, min_valid=1) == {"few": 1, "none": None, "x": 2, "y": 3}
    with pytest.raises(ValueError):
        competition_ranks(entries, min_valid=0)


def test_the_two_formulas_can_rank_two_officers_in_opposite_orders() -> None:
    # A: 20×5, 6×4, 4×3 → SIPAS 26/30 = 86.7 %, 766 30/30 = 100 %
    # B: 15×5, 12×4, 3×1 → SIPAS 27/30 = 90 %,  766 27/30 = 90 %
    a, b = {5: 20, 4: 6, 3: 4}, {5: 15, 4: 12, 1: 3}
    assert sipas_index(a) == pytest.approx(260 / 3) and decision766_rate(a) == 100.0
    assert sipas_index(b) == pytest.approx(90.0) and decision766_rate(b) == pytest.approx(90.0)
    ranks = competition_ranks({"A": (sipas_index(a), 30), "B": (sipas_index(b), 30)})
    assert ranks == {"B": 1, "A": 2}


def test_the_gap_to_the_target_is_in_percentage_points() -> None:
    assert gap_to_target(90.0) == pytest.approx(5.0)
    assert gap_to_target(50.0) == pytest.approx(-35.0)
    assert gap_to_target(None) is None
    assert gap_to_target(SIPAS_TARGET_PERCENT) == 0.0


@pytest.mark.parametrize(
    ("satisfied", "valid", "spare"),
    [
        (27, 30, 1),  # 27/31 = 87.1 % still ≥ 85 %; 27/32 = 84.4 % is not
        (58, 65, 3),  # 58/68 = 85.3 %; 58/69 = 84.1 %
        (17, 20, 0),  # exactly 85 %: not one more
        (85, 100, 0),
        (84, 100, None),  # already below
        (0, 0, None),
        (10, 10, 1),  # 10/11 = 90.9 %; 10/12 = 83.3 %
    ],
)
def test_negative_ratings_to_spare_before_dropping_below_the_target(
    satisfied: int, valid: int, spare: int | None
) -> None:
    assert negatives_to_spare(satisfied, valid) == spare


def test_negatives_to_spare_refuses_impossible_counts() -> None:
    with pytest.raises(ValueError):
        negatives_to_spare(5, 4)
    with pytest.raises(ValueError):
        negatives_to_spare(1, 2, target=0)
