"""The pure measures (insights/engine): numbers known by hand, and the interval's properties."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insights.engine.measures import (
    Scored,
    at_capacity,
    at_threshold,
    brier_score,
    reliability,
    score_bands,
    suggest_threshold,
)
from insights.engine.stats import Rate, lift, median, quantile, wilson_interval

# Ten candidates, best first: the 1st, 2nd and 5th converted; the version qualified the top four.
ROWS = [
    Scored(id=i, score=score, is_qualified=i <= 4, is_positive=i in {1, 2, 5})
    for i, score in enumerate([95, 90, 80, 70, 60, 50, 40, 30, 20, 10], start=1)
]


def test_the_wilson_interval_matches_the_textbook_values():
    # 8 of 10: the interval quoted in Wilson (1927) style tables, to four places
    low, high = wilson_interval(8, 10)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    # edges are exact and nothing to measure is None
    assert wilson_interval(0, 5)[0] == 0.0
    assert wilson_interval(5, 5)[1] == 1.0
    assert wilson_interval(0, 0) is None


@given(st.integers(min_value=1, max_value=10_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_the_interval_holds_the_rate_and_narrows_as_counts_grow(pair):
    successes, total = pair
    low, high = wilson_interval(successes, total)
    assert 0.0 <= low <= successes / total <= high <= 1.0
    wider_low, wider_high = wilson_interval(successes, total)
    bigger_low, bigger_high = wilson_interval(successes * 4, total * 4)
    assert bigger_high - bigger_low <= wider_high - wider_low + 1e-12


def test_a_rate_carries_its_count_total_and_interval():
    rate = Rate(3, 12)
    assert rate.to_dict()["rate"] == 0.25
    assert rate.low < 0.25 < rate.high
    assert Rate(0, 0).rate is None and Rate(0, 0).low is None
    assert lift(Rate(2, 4), Rate(1, 10)) == 5.0
    assert lift(Rate(2, 4), Rate(0, 10)) is None


def test_median_and_quantiles_interpolate():
    assert median([3, 1, 2]) == 2
    assert median([1, 2, 3, 4]) == 2.5
    assert median([]) is None
    assert quantile([0, 10], 0.9) == 9


def test_precision_recall_and_lift_at_capacity_are_counted_over_the_ranking():
    # the top 4 hold two of the three conversions
    result = at_capacity(ROWS, 4)
    assert (result.precision.count, result.precision.total) == (2, 4)
    assert (result.recall.count, result.recall.total) == (2, 3)
    assert result.base_rate.rate == pytest.approx(0.3)
    assert result.lift == pytest.approx(0.5 / 0.3)
    # at capacity 5 the fifth converter is in
    assert at_capacity(ROWS, 5).recall.count == 3


def test_ties_rank_by_id_so_runs_agree():
    tied = [Scored(id=2, score=50, is_qualified=False, is_positive=True), Scored(3, 50, False, False)]
    tied.append(Scored(id=1, score=50, is_qualified=False, is_positive=False))
    assert at_capacity(tied, 1).precision.count == 0  # id 1 first


def test_the_threshold_is_measured_on_what_the_version_qualified():
    result = at_threshold(ROWS)
    assert result.selected == 4
    assert (result.precision.count, result.recall.count) == (2, 2)


def test_score_bands_split_the_ranking_best_first_with_lift():
    bands = score_bands(ROWS, bands=5)
    assert [band.converted.count for band in bands] == [2, 0, 1, 0, 0]
    assert (bands[0].high_score, bands[0].low_score) == (95, 90)
    assert bands[0].lift == pytest.approx(1.0 / 0.3)


def test_brier_and_reliability_read_scores_as_probabilities():
    probabilities = [0.9, 0.8, 0.1, 0.2]
    outcomes = [True, False, False, False]
    assert brier_score(probabilities, outcomes) == pytest.approx((0.01 + 0.64 + 0.01 + 0.04) / 4)
    bins = reliability(probabilities, outcomes, bins=2)
    assert [(b.low, b.observed.count, b.observed.total) for b in bins] == [(0.0, 0, 2), (0.5, 1, 2)]
    assert bins[1].mean_predicted == pytest.approx(0.85)
    assert brier_score([], []) is None


def test_the_suggested_threshold_maximises_the_objective_and_cuts_between_scores():
    # F1 is best cutting after the 2nd (p=1, r=2/3 → 0.8) vs after the 5th (p=0.6, r=1 → 0.75)
    suggestion = suggest_threshold(ROWS, objective="f1")
    assert suggestion.threshold == 90
    assert suggestion.value == pytest.approx(0.8)
    # F2 weighs recall: cutting after the 5th wins (5*0.6*1/(4*0.6+1) = 0.882)
    assert suggest_threshold(ROWS, objective="f2").threshold == 60
    # capacity: the 3rd best's score
    assert suggest_threshold(ROWS, objective="capacity", capacity=3).threshold == 80
    assert suggest_threshold([Scored(1, 5, False, False)]) is None
    with pytest.raises(ValueError):
        suggest_threshold(ROWS, objective="accuracy")
