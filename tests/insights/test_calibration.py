"""Calibration of a version on a hand-built history: every figure is known by hand
(tests/insights/calibration_history.py has the table)."""

import math

import pytest

from insights.engine.calibration import platt_fit, ratio_of_shares, score_histogram
from insights.engine.measures import Scored
from insights.engine.stats import Z_95
from insights.selectors.calibration import POSITIVE_KINDS, calibration_get
from scoring.services.versions import rule_version_create_from_document
from tests.insights.calibration_history import (
    HORIZON,
    VERSION,
    calibration_history,
    calibration_version,
    probability,
)
from tests.insights.history import AS_OF, account, days, lead, outcome, track

pytestmark = pytest.mark.django_db


@pytest.fixture
def report():
    calibration_history()
    return calibration_get(version=calibration_version(), as_of=AS_OF, horizon_days=HORIZON, capacity=2)


def _counts(rate: dict) -> tuple[int, int]:
    return rate["count"], rate["total"]


def test_the_base_rate_and_the_score_distribution_of_the_converted_and_the_rest(report):
    assert (report["candidates"], report["positives"]) == (10, 3)
    assert _counts(report["base_rate"]) == (3, 10)
    # scores 0..50 in ten bins of 5: 0 (four), 10 (one won, one not), 40 (one won, two not), 50 (won)
    bins = {
        (round(b["low"]), b["converted"], b["not_converted"])
        for b in report["distribution"]
        if b["converted"] or b["not_converted"]
    }
    assert bins == {(0, 0, 4), (10, 1, 1), (40, 1, 2), (45, 1, 0)}


def test_conversion_by_decile_with_lift_over_the_base_rate(report):
    bands = [(b["band"], b["high_score"], _counts(b["converted"]), b["lift"]) for b in report["bands"]]
    assert bands[:6] == [
        (1, 50, (1, 1), pytest.approx(1 / 0.3)),
        (2, 40, (1, 1), pytest.approx(1 / 0.3)),
        (3, 40, (0, 1), 0.0),
        (4, 40, (0, 1), 0.0),
        (5, 10, (1, 1), pytest.approx(1 / 0.3)),
        (6, 10, (0, 1), 0.0),
    ]
    assert len(bands) == 10


def test_precision_and_recall_of_the_mql_threshold_and_each_pql_path_against_won_and_opportunity(report):
    rows = {row["name"]: row["against"] for row in report["thresholds"]}
    mql, trial = rows["MQL threshold"], rows["Trial"]

    # the MQL threshold picks L1-L4: two won of four (of three), three reached opportunity (of five)
    assert mql["won"]["selected"] == 4
    assert (_counts(mql["won"]["precision"]), _counts(mql["won"]["recall"])) == ((2, 4), (2, 3))
    assert mql["won"]["lift"] == pytest.approx(0.5 / 0.3)
    assert (_counts(mql["opportunity"]["precision"]), _counts(mql["opportunity"]["recall"])) == ((3, 4), (3, 5))
    assert mql["opportunity"]["lift"] == pytest.approx(1.5)
    # the Trial path picks L5 and L7: one won, both reached opportunity
    assert (_counts(trial["won"]["precision"]), _counts(trial["won"]["recall"])) == ((1, 2), (1, 3))
    assert (_counts(trial["opportunity"]["precision"]), _counts(trial["opportunity"]["recall"])) == ((2, 2), (2, 5))
    assert trial["opportunity"]["lift"] == pytest.approx(2.0)
    assert _counts(rows["Qualified (MQL or any PQL path)"]["won"]["recall"]) == (3, 3)


def test_every_rate_carries_its_count_and_wilson_interval(report):
    precision = report["at_capacity"]["precision"]
    assert precision["low"] < precision["rate"] <= precision["high"] == 1.0
    assert precision["low"] == pytest.approx(0.3424, abs=1e-4)  # Wilson, 2 of 2


def test_precision_recall_and_lift_at_a_given_capacity(report):
    # the best two (L1 at 50, then L2 by id among the 40s) both won
    at_capacity = report["at_capacity"]
    assert (report["capacity"], report["capacity_source"]) == (2, "given")
    assert (_counts(at_capacity["precision"]), _counts(at_capacity["recall"])) == ((2, 2), (2, 3))
    assert at_capacity["lift"] == pytest.approx(1 / 0.3)


def test_scores_are_read_as_probabilities_through_a_curve_fitted_on_the_earlier_snapshot(report):
    probabilities = report["probabilities"]
    assert probabilities["reading"] == "platt"
    assert probabilities["fitted_on"]["as_of"] == (AS_OF - days(HORIZON)).isoformat()
    assert (probabilities["curve"]["rows"], probabilities["curve"]["positives"]) == (6, 2)

    # the Brier score of the ten, each read through the curve through (0, 1/4) and (40, 1/2)
    won = {50: [True], 40: [True, False, False], 10: [True, False], 0: [False] * 4}
    squares = [(probability(score) - outcome) ** 2 for score, outcomes in won.items() for outcome in outcomes]
    assert probabilities["brier"] == pytest.approx(sum(squares) / 10, abs=1e-6)
    assert probabilities["brier_reference"] == pytest.approx((3 * (1 / 3 - 1) ** 2 + 7 * (1 / 3) ** 2) / 10)
    bins = [(b["low"], _counts(b["observed"])) for b in probabilities["reliability"]]
    assert bins == [(pytest.approx(0.2), (0, 4)), (pytest.approx(0.3), (1, 2)), (pytest.approx(0.5), (2, 4))]
    assert probabilities["reliability"][2]["mean_predicted"] == pytest.approx((3 * 0.5 + probability(50)) / 4)


def test_without_enough_earlier_outcomes_no_probabilities_are_made_up():
    # given the history, judged as of 30 January: one horizon before that, nobody was seen yet
    calibration_history()

    # when
    report = calibration_get(
        version=calibration_version(), as_of=AS_OF - days(HORIZON), horizon_days=HORIZON, capacity=2
    )

    # then the report says why it shows no probabilities instead of fitting on the rows it measures
    assert report["candidates"] == 6
    assert report["probabilities"]["reading"] is None
    assert report["probabilities"]["reason"].startswith("Too few conversions")
    assert "brier" not in report["probabilities"]


@pytest.mark.parametrize(
    ("objective", "threshold", "value"),
    [("f1", 10, 2 / 3), ("f2", 10, 2.5 / 3), ("capacity", 40, 1.0)],
)
def test_a_threshold_is_suggested_for_the_chosen_objective_and_said_to_be_in_sample(objective, threshold, value):
    calibration_history()
    report = calibration_get(
        version=calibration_version(), as_of=AS_OF, horizon_days=HORIZON, capacity=2, objective=objective
    )
    suggestion = report["suggestion"]
    assert (suggestion["threshold"], suggestion["value"]) == (threshold, pytest.approx(value))
    assert suggestion["in_sample"] and "same rows" in suggestion["words"]


def test_against_opportunity_a_deal_closed_either_way_counts_as_having_reached_one():
    calibration_history()
    report = calibration_get(
        version=calibration_version(), as_of=AS_OF, horizon_days=HORIZON, capacity=2, positive="opportunity"
    )
    assert report["positive_kinds"] == list(POSITIVE_KINDS["opportunity"])
    assert _counts(report["base_rate"]) == (5, 10)


def test_an_account_is_on_every_pql_path_any_of_its_people_is_on():
    # given a version with two paths, and Acme whose two people each took one; Acme won
    document = {
        **VERSION,
        "pql_paths": [
            *VERSION["pql_paths"],
            {**VERSION["pql_paths"][0], "name": "Webinar", "events": ["Webinar Attended"]},
        ],
    }
    version = rule_version_create_from_document(name="Two paths", document=document)
    acme = account("acme.example")
    for email, event in (("ada@acme.example", "Trial Started"), ("ben@acme.example", "Webinar Attended")):
        track(lead(email, seen=AS_OF - days(25), company=acme), event, AS_OF - days(20))
    outcome("closed_won", AS_OF + days(10), company=acme)
    globex = account("globex.example")
    lead("cy@globex.example", seen=AS_OF - days(25), company=globex)

    # when
    report = calibration_get(version=version, as_of=AS_OF, horizon_days=HORIZON, unit="account", capacity=1)

    # then Acme counts under both paths, and converted
    rows = {row["name"]: row["against"]["won"] for row in report["thresholds"]}
    assert (report["unit"], report["candidates"], report["positives"]) == ("account", 2, 1)
    for path in ("Trial", "Webinar"):
        assert (rows[path]["selected"], _counts(rows[path]["precision"])) == (1, (1, 1))


def test_the_histogram_keeps_one_bin_when_every_score_is_the_same():
    rows = [Scored(1, 5.0, False, True), Scored(2, 5.0, False, False)]
    (only,) = score_histogram(rows)
    assert (only.converted, only.not_converted) == (1, 1)


def test_no_curve_is_fitted_from_a_single_class():
    assert platt_fit([Scored(n, float(n), False, False) for n in range(10)]) is None


def test_the_ratio_of_shares_has_katz_interval_and_none_where_it_cannot_be_computed():
    ratio = ratio_of_shares(2, 4, 3, 9)
    spread = Z_95 * math.sqrt(1 / 2 - 1 / 4 + 1 / 3 - 1 / 9)
    assert ratio.lift == pytest.approx(1.5)
    assert (ratio.low, ratio.high) == (pytest.approx(1.5 * math.exp(-spread)), pytest.approx(1.5 * math.exp(spread)))
    assert ratio_of_shares(2, 3, 0, 9).lift is None
    assert ratio_of_shares(0, 3, 2, 9).lift == 0.0 and ratio_of_shares(0, 3, 2, 9).low is None


def test_a_trait_every_buyer_and_every_other_has_gets_an_interval_around_one_not_a_point():
    # 5 of 5 against 11 of 11: the half-count correction keeps the interval honest
    ratio = ratio_of_shares(5, 5, 11, 11)
    assert ratio.lift == 1.0
    assert ratio.low < 0.8 and ratio.high > 1.2
