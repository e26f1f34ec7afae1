"""An account's score rolled up from its leads and its own product usage: the pure engine, no database."""

import pytest

from scoring.engine import LeadPart, PqlMatch, account_roll_up, compile_version, default_rules
from scoring.engine.accounts import STAGE_ORDER, stage_rank
from tests.scoring.builders import FITTING_ACCOUNT, event, facts

COMPILED = compile_version(default_rules())


def _account(*events, seats=()):
    return facts(*events, account=FITTING_ACCOUNT, seats=seats)


def test_fit_comes_from_the_best_fitting_lead_and_engagement_from_the_most_engaged():
    # given a VP who fits but barely engaged, and an engineer who engaged a lot
    leads = [
        LeadPart(lead_id=1, stage="new", fit=70, engagement=5, total=75),
        LeadPart(lead_id=2, stage="new", fit=30, engagement=40, total=70),
    ]

    # when
    result = account_roll_up(COMPILED, leads=leads, facts=_account())

    # then the committee counts together
    assert (result.fit, result.engagement, result.total) == (70, 40, 110)
    assert result.best_fit_lead_id == 1 and result.most_engaged_lead_id == 2
    assert result.is_mql and result.stage == "mql"
    assert result.grade == "A"
    assert result.engaged_lead_count == 2 and result.lead_count == 2


@pytest.mark.parametrize(
    ("stages", "expected"),
    [
        (["new", "sql", "mql"], "sql"),
        (["lost", "new"], "new"),
        (["disqualified", "lost"], "lost"),
        (["opportunity", "won"], "won"),
        (["nurture", "accepted"], "accepted"),
    ],
)
def test_the_stage_is_the_most_advanced_among_the_leads(stages, expected):
    # given leads with no score worth qualifying on
    leads = [LeadPart(lead_id=n, stage=stage) for n, stage in enumerate(stages)]

    # when
    result = account_roll_up(COMPILED, leads=leads, facts=_account())

    # then
    assert result.stage == expected == result.lead_stage


def _reached(name: str) -> PqlMatch:
    return PqlMatch(name=name, kind="plan_limit", summary=name, evidence={})


def test_the_first_path_any_lead_reached_in_the_versions_order_makes_the_account_a_pql():
    # given one lead whose account grew seats, another who hit the plan limit (earlier in the version)
    leads = [
        LeadPart(lead_id=1, stage="new", fit=50, pql=_reached("Seat growth")),
        LeadPart(lead_id=2, stage="mql", fit=40, engagement=30, pql=_reached("Plan limit reached")),
        LeadPart(lead_id=3, stage="new", fit=10, pql=_reached("Seat growth")),
    ]

    # when
    result = account_roll_up(COMPILED, leads=leads, facts=_account())

    # then
    assert result.pql_path == "Plan limit reached"
    assert [match.name for match in result.pql_matches] == ["Plan limit reached", "Seat growth"]
    assert result.stage == "pql" and result.lead_stage == "mql"
    assert result.why.startswith("PQL: Plan limit reached")


def test_a_pql_account_never_lowers_a_more_advanced_stage():
    # when
    result = account_roll_up(COMPILED, leads=[LeadPart(lead_id=1, stage="sql", pql=_reached("Seat growth"))])

    # then
    assert result.is_pql and result.stage == "sql"


def test_an_account_with_no_known_people_is_a_pql_on_its_own_account_wide_usage_only():
    # given five people using the product this week, and the three activation steps, none identified
    team = [event("Job Run", days=1, user=f"anonymous-{n}", account_level=True) for n in range(5)]
    activation = [
        event(name, days=2, user="anonymous-0", account_level=True)
        for name in ("Source Connected", "Job Run", "Results Viewed")
    ]

    # when
    with_team = account_roll_up(COMPILED, leads=[], facts=_account(*team, *activation))
    steps_only = account_roll_up(COMPILED, leads=[], facts=_account(*activation))

    # then: team usage reads the whole account; activation asks one known person to do it
    assert with_team.pql_path == "Team usage" and with_team.stage == "pql"
    assert not steps_only.is_pql


def test_an_account_with_no_known_people_gets_the_fit_of_its_own_fields():
    # when
    result = account_roll_up(COMPILED, leads=[], facts=_account())

    # then: industry, size and country rules, no person's
    assert result.fit == 40 and result.engagement == 0
    assert result.stage == "new" and result.lead_stage is None
    assert "no known people yet" in result.why
    assert result.to_dict()["lead_count"] == 0


def test_stages_rank_open_work_above_closed_losses():
    assert [stage_rank(stage) for stage in STAGE_ORDER] == list(range(len(STAGE_ORDER)))
    assert stage_rank("lost") < stage_rank("new") < stage_rank("mql") < stage_rank("pql") < stage_rank("won")
    assert stage_rank("something else") == stage_rank("new")
