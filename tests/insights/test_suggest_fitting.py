"""The pure half of a suggested version: the time split, the fit, points and evidence (no database)."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from insights.engine.fitting import (
    choose_c,
    evidence,
    fit_logistic,
    lift_ranked,
    points_scale,
    time_split,
    to_points,
    weighted_at_capacity,
)
from insights.engine.measures import Scored, at_capacity

NAMES = ["signal", "noise_count", "noise_level"]


def _world(rows: int, seed: int = 1):
    """A signal that multiplies the odds of converting by about 12, and two columns of pure noise."""
    rng = np.random.default_rng(seed)
    signal = rng.integers(0, 2, rows)
    matrix = np.c_[signal, rng.integers(0, 4, rows), rng.random(rows)]
    labels = rng.random(rows) < 1 / (1 + np.exp(-(-4 + 2.5 * signal)))
    return matrix, labels


def test_a_feature_that_predicts_gets_weight_and_noise_gets_none():
    # given three thousand candidates, a tenth of them converting
    matrix, labels = _world(3000)

    # when
    fitted = fit_logistic(matrix, labels, names=NAMES, seed=0)

    # then the signal carries the weight (its true log-odds are 2.5) and the noise is pruned to zero
    assert 1.5 < fitted.coefficient("signal") < 3.0
    assert fitted.coefficient("noise_count") == 0.0
    assert fitted.coefficient("noise_level") == 0.0


def test_the_same_rows_and_seed_give_the_same_coefficients():
    matrix, labels = _world(800, seed=4)
    weights = np.linspace(0.5, 1.5, len(labels))

    first = fit_logistic(matrix, labels, names=NAMES, sample_weight=weights, seed=3)
    second = fit_logistic(matrix, labels, names=NAMES, sample_weight=weights, seed=3)

    assert first == second


def test_a_constant_column_gets_zero_and_the_coefficients_are_in_the_columns_own_units():
    # given the signal counted in halves (0 or 0.5) and a column that never varies
    matrix, labels = _world(3000)
    halves = np.c_[matrix[:, 0] / 2, np.ones(len(labels))]

    fitted = fit_logistic(halves, labels, names=["half_signal", "constant"], seed=0)
    whole = fit_logistic(matrix[:, :1], labels, names=["signal"], seed=0)

    # then a half-unit column needs twice the coefficient for the same effect
    assert fitted.coefficient("constant") == 0.0
    assert fitted.coefficient("half_signal") == pytest.approx(2 * whole.coefficient("signal"), rel=1e-4)


def test_fitting_needs_candidates_that_converted_and_some_that_did_not():
    matrix, _ = _world(50)

    with pytest.raises(ValueError, match="both outcomes"):
        fit_logistic(matrix, np.zeros(50, dtype=bool), names=NAMES)


AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize("horizon_days", [1, 7, 30, 45, 90])
@pytest.mark.parametrize("history_days", [60, 200, 400])
def test_the_time_split_never_validates_on_training_rows(horizon_days, history_days):
    # when the split is made for a history of `history_days` before as_of
    split = time_split(as_of=AS_OF, horizon_days=horizon_days, earliest=AS_OF - timedelta(days=history_days))

    # then validation is labelled by the last horizon before as_of
    assert split.validation_window == (AS_OF - timedelta(days=horizon_days), AS_OF)
    # and every training cut-off's outcome window closes before the validation cut-off, inside the history
    for cutoff in split.training:
        start, end = split.training_window(cutoff)
        assert end <= split.validation
        assert start > AS_OF - timedelta(days=history_days)
    assert list(split.training) == sorted(split.training)
    assert len(split.training) <= 3


def test_a_history_shorter_than_two_horizons_has_no_training_cutoff():
    split = time_split(as_of=AS_OF, horizon_days=30, earliest=AS_OF - timedelta(days=59))

    assert split.training == ()


def test_points_keep_the_versions_total_for_the_rules_that_keep_their_sign():
    # given two positive rules (25 and 15 points) and a negative one that flipped sign
    coefficients = {"rule:a": 2.0, "rule:b": 0.5, "rule:c": 0.3}
    base = {"rule:a": 25, "rule:b": 15, "rule:c": -10}

    scale = points_scale(coefficients, base)

    # then the 40 points of a and b are shared by their coefficients: 32 and 8
    assert scale == pytest.approx(16.0)
    assert (to_points(2.0, scale), to_points(0.5, scale)) == (32, 8)
    assert to_points(500.0, scale) == 1000  # the document's bound


def test_the_penalty_is_chosen_on_newer_rows_and_none_without_both_outcomes():
    older, newer = _world(2000, seed=1), _world(1000, seed=2)
    weights = np.ones(2000)

    chosen = choose_c((older[0], older[1], weights), newer, names=NAMES)
    nothing = choose_c((older[0], older[1], weights), (newer[0], np.zeros(1000, dtype=bool)), names=NAMES)

    assert chosen in (0.01, 0.03, 0.1, 0.3, 1.0)
    assert nothing is None


def test_evidence_counts_who_had_it_and_lift_ranks_the_over_represented():
    # given 10 candidates: 4 did "a" (3 converted), 6 did not (1 converted); "b" is rare
    a = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    b = [0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    labels = np.array([1, 1, 1, 0, 1, 0, 0, 0, 0, 0], dtype=bool)

    found = evidence(a, labels)
    ranked = lift_ranked(np.c_[a, b], labels, ["a", "b"], min_present=3, min_lift=1.5)

    assert (found.present, found.converted.count, found.base_rate.count) == (4, 3, 4)
    assert found.lift == pytest.approx(0.75 / 0.4)
    assert [name for name, _ in ranked] == ["a"]


def test_at_capacity_on_weighted_rows_matches_the_plain_count_and_lets_a_sample_stand_for_the_rest():
    # given six candidates, the first and fourth converting
    rows = [(1, 90.0, True), (2, 80.0, False), (3, 80.0, False), (4, 70.0, True), (5, 10.0, False), (6, 5.0, False)]
    plain = at_capacity([Scored(i, score, False, positive) for i, score, positive in rows], 3)

    # when measured with every weight 1, and with the non-converting rows of a sample weighing 2
    whole = weighted_at_capacity([(*row, 1.0) for row in rows], 3)
    sampled = weighted_at_capacity([(*row, 1.0 if row[2] else 2.0) for row in rows], 3)

    # then the first is the plain count, and in the second the top two fill the capacity (1 + 2)
    assert (whole.precision, whole.recall, whole.base_rate) == (plain.precision.rate, plain.recall.rate, 2 / 6)
    assert whole.lift == pytest.approx(plain.lift)
    assert (sampled.picked, sampled.precision, sampled.positives) == (3.0, 1 / 3, 2.0)
