"""Conversion analytics (insights.selectors.conversion) on a hand-built history where every
count, rate and median is known (tests/insights/conversion_history.py)."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from insights.selectors.conversion import ConversionQuery, conversion_get, conversion_query_build
from leads.models import Stage
from tests.insights.conversion_history import at

pytestmark = [pytest.mark.django_db]

Q1 = {"start": date(2026, 1, 1), "end": date(2026, 3, 31)}


def _query(**given) -> ConversionQuery:
    return ConversionQuery(**({"funnel": "mql", "by": "source", "period": "month"} | Q1 | given))


def _counts(row) -> list[int]:
    return [row.entered, *(step.from_previous.count for step in row.steps)]


def _table(conversion) -> dict[str, list[int]]:
    return {row.label: _counts(row) for row in conversion.rows}


def test_the_funnel_counts_each_step_of_the_leads_that_first_became_mql_in_the_range(funnel_history):
    # when
    total = conversion_get(_query()).total

    # then: 8 MQLs, 5 accepted, 3 SQL, 2 opportunities, 2 won
    assert _counts(total) == [8, 5, 3, 2, 2]
    assert [(step.from_previous.count, step.from_previous.total) for step in total.steps] == [
        (5, 8),
        (3, 5),
        (2, 3),
        (2, 2),
    ]
    assert [(step.from_entry.count, step.from_entry.total) for step in total.steps] == [(5, 8), (3, 8), (2, 8), (2, 8)]
    assert [step.stage for step in total.steps] == [Stage.ACCEPTED, Stage.SQL, Stage.OPPORTUNITY, Stage.WON]


def test_the_median_days_of_each_step_count_from_the_step_before(funnel_history):
    # when
    total = conversion_get(_query()).total

    # then: accepted after 1, 1, 2, 4 and 30 days (Ed won 30 days after his MQL);
    # SQL 3, 4 and 0 (Ed skipped through); opportunity 10 and 0; won 30 and 0
    assert [step.median_days for step in total.steps] == [2.0, 3.0, 5.0, 15.0]


def test_a_lead_won_without_sql_or_opportunity_rows_counts_as_having_passed_them_with_no_time_in_them(funnel_history):
    # when: Ed, the one February MQL with Paid search and Brand ads whom no rep accepted, won on 5 Mar
    ed = conversion_get(_query(by="rule_version", start=date(2026, 2, 3), end=date(2026, 2, 3))).total

    # then
    assert _counts(ed) == [1, 1, 1, 1, 1]
    assert [step.median_days for step in ed.steps] == [30.0, 0.0, 0.0, 0.0]


def test_rates_come_with_their_wilson_interval(funnel_history):
    # when
    accepted = conversion_get(_query()).total.steps[0].from_previous

    # then: 5 of 8
    assert accepted.rate == pytest.approx(0.625)
    assert (round(accepted.low, 3), round(accepted.high, 3)) == (0.306, 0.863)


@pytest.mark.parametrize(
    ("by", "table"),
    [
        ("source", {"Paid search": [4, 2, 1, 1, 1], "Webinars": [3, 3, 2, 1, 1], "No source": [1, 0, 0, 0, 0]}),
        ("campaign", {"Brand ads": [3, 2, 1, 1, 1], "Spring webinar": [2, 2, 2, 1, 1], "No campaign": [3, 1, 0, 0, 0]}),
        ("campaign_type", {"Paid": [3, 2, 1, 1, 1], "Webinar": [2, 2, 2, 1, 1], "No campaign": [3, 1, 0, 0, 0]}),
        (
            "segment",
            {"Mid-market (100-999)": [3, 2, 1, 1, 1], "SMB (1-99)": [3, 3, 2, 1, 1], "No account": [2, 0, 0, 0, 0]},
        ),
        (
            "rule_version",
            {
                "v1 Default": [4, 2, 2, 1, 1],
                "v2 Pricing matters": [3, 2, 1, 1, 1],
                "Qualified by hand": [1, 1, 0, 0, 0],
            },
        ),
        ("cohort", {"Jan 2026": [5, 3, 2, 1, 1], "Feb 2026": [2, 2, 1, 1, 1], "Mar 2026": [1, 0, 0, 0, 0]}),
    ],
)
def test_the_funnel_groups_by_each_dimension_biggest_first_and_the_leads_without_a_value_last(
    funnel_history, by, table
):
    # when
    conversion = conversion_get(_query(by=by))

    # then: the order too (cohorts in time order)
    assert list(_table(conversion).items()) == list(table.items())
    assert _counts(conversion.total) == [8, 5, 3, 2, 2]


def test_the_rule_version_is_the_one_whose_evidence_qualified_the_lead(funnel_history):
    # when
    rows = conversion_get(_query(by="rule_version")).rows

    # then: keyed by the version's id, named by its number and name
    assert [row.key for row in rows] == [str(funnel_history.v1.id), str(funnel_history.v2.id), None]


def test_quarterly_cohorts_list_every_quarter_of_the_range_even_an_empty_one(funnel_history):
    # when
    conversion = conversion_get(_query(by="cohort", period="quarter", end=date(2026, 9, 30)))

    # then: Lu's April MQL is in Q2, nothing in Q3
    assert _table(conversion) == {"Q1 2026": [8, 5, 3, 2, 2], "Q2 2026": [1, 0, 0, 0, 0], "Q3 2026": [0, 0, 0, 0, 0]}
    assert [row.key for row in conversion.cohorts] == ["2026-Q1", "2026-Q2", "2026-Q3"]
    assert conversion.cohorts[2].steps[0].median_days is None


def test_every_cohort_of_the_range_is_counted_whatever_the_dimension(funnel_history):
    # when
    cohorts = conversion_get(_query(by="segment")).cohorts

    # then
    assert [(row.label, row.entered) for row in cohorts] == [("Jan 2026", 5), ("Feb 2026", 2), ("Mar 2026", 1)]


def test_a_lead_qualified_again_after_nurture_stays_in_its_first_cohort(funnel_history):
    # when: December 2025 alone
    december = conversion_get(_query(start=date(2025, 12, 1), end=date(2025, 12, 31))).total

    # then: Hal, whose second MQL (15 Jan) is not counted again in January
    assert december.entered == 1


def test_a_win_the_crm_took_back_counts_up_to_opportunity_but_not_as_won(funnel_history):
    # when: October 2025 alone (Mo)
    october = conversion_get(_query(start=date(2025, 10, 1), end=date(2025, 10, 31))).total

    # then
    assert _counts(october) == [1, 1, 1, 1, 0]


def test_the_pql_funnel_counts_the_leads_that_first_became_pql(funnel_history):
    # when
    conversion = conversion_get(_query(funnel="pql", by="source"))

    # then: Ivy (accepted the next day) and Jo (who was an MQL first, so in both funnels)
    assert _table(conversion) == {"Paid search": [2, 1, 0, 0, 0]}
    assert conversion.total.steps[0].median_days == 1.0
    assert conversion.entry_label == "PQL"


def test_the_date_range_is_inclusive_of_both_days_in_the_sites_time_zone(funnel_history):
    # when: only 5 January (Ada)
    day = conversion_get(_query(start=date(2026, 1, 5), end=date(2026, 1, 5))).total

    # then
    assert day.entered == 1


def test_the_queries_do_not_grow_with_the_leads(funnel_history, django_assert_max_num_queries):
    # given: the history twice over (a second set of reps' leads on the same days)
    for number in range(6):
        lead = funnel_history.lead(f"more{number}", source=funnel_history.paid)
        funnel_history.qualify(lead, at(1, 10 + number), funnel_history.v1)
        funnel_history.accept(lead, at(1, 11 + number))

    # when / then: the entries, and the rule versions' names
    for by in ("source", "rule_version", "cohort"):
        with django_assert_max_num_queries(2):
            conversion = conversion_get(_query(by=by))
        assert conversion.total.entered == 14


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"start": date(2026, 3, 1), "end": date(2026, 2, 1)}, "end"),
        ({"start": date(1900, 1, 1), "end": date(2026, 2, 1)}, "start"),
        ({"start": date(2026, 1, 1), "end": date(3000, 1, 1)}, "end"),
        ({"start": date(2000, 1, 1), "end": date(2026, 2, 1)}, "start"),
    ],
)
def test_a_range_out_of_order_out_of_bounds_or_too_long_is_refused_naming_the_field(given, field):
    # when
    with pytest.raises(ValidationError) as refused:
        conversion_query_build(funnel=None, by=None, period=None, today=date(2026, 5, 20), **given)

    # then
    assert list(refused.value.message_dict) == [field]


@pytest.mark.parametrize(("period", "start"), [("month", date(2025, 6, 1)), ("quarter", date(2025, 7, 1))])
def test_the_default_range_is_the_last_twelve_months_or_four_quarters_to_today(period, start):
    # when
    query = conversion_query_build(funnel=None, by=None, period=period, start=None, end=None, today=date(2026, 5, 20))

    # then
    assert (query.funnel, query.by, query.start, query.end) == ("mql", "source", start, date(2026, 5, 20))
