"""The cases issue 3 says must come out right, on the default rule version."""

from datetime import timedelta

import pytest

from scoring.engine import DEFAULT_RULES, compile_version, evaluate
from tests.scoring.builders import BUYER, FITTING_ACCOUNT, NOW, STUDENT, event, facts, page

DEFAULTS = compile_version(DEFAULT_RULES, version_id="default")


def score(*events, lead=BUYER, account=FITTING_ACCOUNT, **kwargs):
    return evaluate(DEFAULTS, facts(*events, lead=lead, account=account, **kwargs))


def test_a_target_role_at_a_target_industry_company_who_engages_with_content_is_an_mql():
    # when
    result = score(
        event("Webinar Registered", days=6, webinar="Data pipelines 101"),
        event("Form Submitted", days=5, form_id="webinar-follow-up"),
        event("Asset Downloaded", days=4, asset_type="checklist"),
    )

    # then
    assert result.is_mql
    assert result.stage == "mql"
    assert result.grade == "A"
    assert {hit.name for hit in result.hits} >= {
        "Target role",
        "Target industry",
        "Webinar registered",
        "Form submitted",
    }


def test_a_similar_lead_who_activates_in_the_trial_is_a_pql_with_the_path_named():
    # when
    result = score(
        event("Trial Started", days=6),
        event("Source Connected", days=5),
        event("Job Run", days=4),
        event("Results Viewed", days=4),
    )

    # then
    assert result.stage == "pql"
    assert result.pql_path == "Activation"
    assert len(result.pql.evidence["event_ids"]) == 3
    assert result.why.startswith("Activated: source connected, job run, results viewed")


@pytest.mark.parametrize(("lead", "account"), [(BUYER, FITTING_ACCOUNT), (STUDENT, None), ({}, None)])
def test_many_downloads_without_a_trial_is_at_most_an_mql_never_a_pql(lead, account):
    # given
    downloads = [
        event("Asset Downloaded", days=day, asset_type=asset)
        for day, asset in enumerate(["whitepaper", "ebook", "checklist", "case_study"] * 4)
    ]

    # when
    result = score(*downloads, event("Email Link Clicked"), lead=lead, account=account)

    # then
    assert result.engagement >= 40
    assert result.pql is None
    assert result.stage in ("mql", None)


def test_a_buyer_who_visited_pricing_once_outranks_a_student_who_downloaded_three_whitepapers():
    # given
    buyer = score(page("/pricing", days=2))
    student = score(
        *[event("Asset Downloaded", days=day, asset_type="whitepaper") for day in (1, 2, 3)],
        lead=STUDENT,
        account={"industry": "Education", "employee_count": 20000},
    )

    # then: on engagement alone too, not only thanks to fit
    assert buyer.total > student.total
    assert buyer.engagement > student.engagement


@pytest.mark.parametrize("lead", [BUYER, {"title": "Marketing Coordinator", "email_type": "business"}, {}])
def test_an_account_with_five_active_users_that_hit_its_plan_limit_makes_every_lead_a_pql(lead):
    # given: the lead did nothing itself; its colleagues did
    colleagues = [event("Job Run", days=day % 6, user=f"colleague-{day}", account_level=True) for day in range(5)]
    limit = event("Plan Limit Reached", days=1, user=None, account_level=True)

    # when
    result = score(*colleagues, limit, lead=lead)

    # then
    assert result.stage == "pql"
    assert result.pql_path == "Plan limit reached"
    assert [match.name for match in result.pql_matches] == ["Plan limit reached", "Team usage"]
    assert result.why.startswith("Hit plan limit · 5 active users this week")


def test_a_lone_user_running_jobs_is_not_team_usage():
    # when
    result = score(*[event("Job Run", days=day) for day in range(5)])

    # then
    assert result.pql is None


def test_seat_growth_makes_a_pql():
    # when
    result = score(seats=((NOW - timedelta(days=40), 5), (NOW - timedelta(days=3), 9)))

    # then
    assert result.pql_path == "Seat growth"
    assert result.why.startswith("+4 seats this month")


@pytest.mark.parametrize(
    ("change", "lowers"),
    [
        ({"is_unsubscribed": True}, "engagement"),
        ({"email_type": "free"}, "fit"),
        ({"email_type": "student"}, "fit"),
        ({"title": "Data Engineering Intern"}, "fit"),
    ],
)
def test_an_unsubscribe_a_free_mail_or_a_student_address_lowers_the_score(change, lowers):
    # given
    events = [page("/pricing", days=1), event("Webinar Attended", days=3)]
    before = score(*events)

    # when
    after = score(*events, lead={**BUYER, **change})

    # then
    assert after.total < before.total
    assert getattr(after, lowers) < getattr(before, lowers)


def test_careers_page_visits_lower_the_score():
    # when
    job_hunter = score(page("/pricing"), page("/careers"), page("/careers/data-engineer"))

    # then
    assert job_hunter.total < score(page("/pricing")).total
    assert "careers page" in job_hunter.why


def test_decay_lowers_an_old_engagement_score_over_time():
    # given
    events = (event("Demo Requested", days=0), event("Form Submitted", days=0), page("/pricing", days=0))

    # when
    totals = [score(*events, now=NOW + timedelta(days=days)).engagement for days in (0, 7, 21, 45, 100)]

    # then
    assert totals == sorted(totals, reverse=True)
    assert len(set(totals)) == len(totals)
    assert totals[-1] == 0


def test_an_mql_lapses_from_the_score_as_engagement_decays():
    # given: the score drops; whether the stage is kept is the stage service's decision
    events = (event("Webinar Attended", days=0), event("Form Submitted", days=0))

    # when
    fresh, stale = score(*events), score(*events, now=NOW + timedelta(days=60))

    # then
    assert fresh.is_mql
    assert not stale.is_mql


def test_the_competitor_list_starts_empty_so_nobody_is_penalised_by_default():
    # when
    result = score(lead={**BUYER, "email_domain": "example.com"})

    # then
    assert "Competitor" not in {hit.name for hit in result.hits}
