"""Scoring as of a past moment sees only what was known strictly before it: a hand-built history."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.models import Lead, Outcome, OutcomeKind, Stage, StageChange
from leads.services.sources import source_create
from scoring.engine import compile_version, default_rules
from scoring.models import AccountScore, LeadScore, ScoreChange
from scoring.selectors import leads_for_scoring, scoring_facts_for_leads
from scoring.services import lead_score_preview
from scoring.services.point_in_time import account_scores_as_of, scores_as_of
from tests.scoring.pipeline import iso, send, track

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def source(db):
    return source_create(name="Web", kind="marketing")[0]


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def as_of(now):
    return now - timedelta(days=2)


def identify(user_id: str, email: str, *, at, **traits) -> dict:
    return {"type": "identify", "userId": user_id, "traits": {"email": email, **traits}, "timestamp": iso(at)}


def group(user_id: str, group_id: str, *, at, **traits) -> dict:
    return {"type": "group", "userId": user_id, "groupId": group_id, "traits": traits, "timestamp": iso(at)}


def acme(user_id: str, *, at, **traits) -> dict:
    """A 250-person US software company: the default rules' target."""
    company = {"name": "Acme", "domain": "acme.io", "industry": "Software", "employees": 250, "country": "US"}
    return group(user_id, "acme", at=at, **company, **traits)


def _score_as_of(version, lead: Lead, moment):
    return dict(scores_as_of(version=version, as_of=moment, lead_ids=[lead.id]))[lead.id]


def _facts_as_of(lead: Lead, moment):
    lead = leads_for_scoring().get(id=lead.id)
    return scoring_facts_for_leads(leads=[lead], as_of=moment, since=moment - timedelta(days=90))[lead.id]


def test_an_event_one_second_after_as_of_qualifies_the_lead_live_but_not_as_of(live_rules, source, now, as_of):
    # given a VP of Data at Acme whose webinar and form alone fall short of MQL, and whose
    # checklist download, one second after as_of, tips it over
    send(
        source,
        [
            identify("u1", "ada@acme.io", at=now - timedelta(days=10), title="VP Data", country="US"),
            acme("u1", at=now - timedelta(days=10)),
            track("u1", "Webinar Registered", at=iso(now - timedelta(days=5))),
            track("u1", "Form Submitted", at=iso(now - timedelta(days=4)), form_id="contact"),
            track("u1", "Asset Downloaded", at=iso(as_of + timedelta(seconds=1)), asset_type="checklist"),
        ],
    )
    lead = Lead.objects.get(email="ada@acme.io")

    # when
    before = _score_as_of(live_rules, lead, as_of)
    at_the_event = _score_as_of(live_rules, lead, as_of + timedelta(seconds=1))
    after = _score_as_of(live_rules, lead, as_of + timedelta(seconds=2))

    # then live scoring counted the download and qualified the lead
    assert LeadScore.objects.get(lead=lead).is_mql
    # as of a moment before it, or at the very moment it happened, the download is not known
    assert not before.is_mql and before.stage is None
    assert not at_the_event.is_mql
    assert "Practical asset downloaded" not in {hit.name for hit in before.hits}
    # a second later it is, and the same history qualifies
    assert after.is_mql


def test_a_title_changed_after_as_of_is_not_seen(live_rules, source, now, as_of):
    # given an office manager who became VP of Data the day after as_of
    send(
        source,
        [
            identify("u1", "ada@acme.io", at=now - timedelta(days=10), title="Office Manager", country="US"),
            acme("u1", at=now - timedelta(days=10)),
            identify("u1", "ada@acme.io", at=now - timedelta(days=1), title="VP Data"),
        ],
    )
    lead = Lead.objects.get(email="ada@acme.io")

    # when
    facts = _facts_as_of(lead, as_of)
    result = _score_as_of(live_rules, lead, as_of)

    # then
    assert lead.title == "VP Data"
    assert lead_score_preview(lead=lead, version=live_rules, as_of=as_of) == result
    assert facts.lead.attributes["title"] == "Office Manager"
    assert facts.lead.attributes["country"] == "US"  # what the earlier identify set is kept
    assert facts.now == as_of
    assert "Target role" not in {hit.name for hit in result.hits}
    assert result.fit < LeadScore.objects.get(lead=lead).fit


def test_seats_grown_after_as_of_are_not_seen(live_rules, source, now, as_of):
    # given a trial account on 2 seats that went to 10 seats on a paid plan after as_of
    send(
        source,
        [
            identify("u1", "ada@acme.io", at=now - timedelta(days=20), title="VP Data"),
            acme("u1", at=now - timedelta(days=20), seats=2, plan="trial"),
            acme("u1", at=now - timedelta(days=1), seats=10, plan="business"),
        ],
    )
    lead = Lead.objects.get(email="ada@acme.io")

    # when
    facts = _facts_as_of(lead, as_of)
    result = _score_as_of(live_rules, lead, as_of)

    # then live scoring sees the growth; as of then, 2 seats on a trial and no growth
    assert LeadScore.objects.get(lead=lead).pql_path == "Seat growth"
    assert facts.account.attributes["seats"] == 2 and facts.account.plan == "trial"
    assert [seats for _, seats in facts.account.seats_history] == [2]
    assert result.pql_path is None


def test_the_stage_as_of_comes_from_the_stage_history(live_rules, source, now):
    # given a lead that became an MQL five days ago and was accepted yesterday
    send(source, [identify("u1", "ada@acme.io", at=now - timedelta(days=10))])
    lead = Lead.objects.get(email="ada@acme.io")
    for days, from_stage, to_stage in ((5, Stage.NEW, Stage.MQL), (1, Stage.MQL, Stage.ACCEPTED)):
        StageChange.objects.create(
            lead=lead, from_stage=from_stage, to_stage=to_stage, changed_at=now - timedelta(days=days)
        )
    Lead.objects.filter(id=lead.id).update(stage=Stage.ACCEPTED)

    # when
    stages = {days: _facts_as_of(lead, now - timedelta(days=days)).lead.attributes["stage"] for days in (6, 3, 0)}

    # then
    assert stages == {6: Stage.NEW, 3: Stage.MQL, 0: Stage.ACCEPTED}


def test_a_row_with_no_history_counts_only_once_it_existed(live_rules, now, as_of):
    # given a lead imported from a CSV (no events) three days ago, and one imported today
    imported = Lead.objects.create(email="grace@globex.io", title="CTO")
    Lead.objects.filter(id=imported.id).update(created_at=now - timedelta(days=3))
    Lead.objects.create(email="linus@initech.io", title="CTO")

    # when
    scored = dict(scores_as_of(version=live_rules, as_of=as_of))
    facts = _facts_as_of(imported, as_of)

    # then the older row is known as it is; the newer lead did not exist yet
    assert list(scored) == [imported.id]
    assert facts.lead.attributes["title"] == "CTO"
    assert facts.lead.attributes["has_owner"] is None  # no history of owners: unknown


def test_scoring_as_of_writes_nothing_and_never_reads_outcomes(live_rules, source, now, as_of):
    # given a scored lead with a closed-won outcome
    send(
        source,
        [
            identify("u1", "ada@acme.io", at=now - timedelta(days=10), title="VP Data"),
            acme("u1", at=now - timedelta(days=10)),
        ],
    )
    lead = Lead.objects.get(email="ada@acme.io")
    Outcome.objects.create(kind=OutcomeKind.CLOSED_WON, lead=lead, occurred_at=now - timedelta(days=3))
    counts = [model.objects.count() for model in (LeadScore, AccountScore, ScoreChange, StageChange)]

    # when
    with CaptureQueriesContext(connection) as queries:
        leads = list(scores_as_of(version=live_rules, as_of=as_of))
        accounts = list(account_scores_as_of(version=live_rules, as_of=as_of))

    # then
    assert [lead_id for lead_id, _ in leads] == [lead.id]
    assert [account_id for account_id, _ in accounts] == [lead.account_id]
    assert [model.objects.count() for model in (LeadScore, AccountScore, ScoreChange, StageChange)] == counts
    statements = [query["sql"].lower() for query in queries.captured_queries]
    assert not any(Outcome._meta.db_table in sql for sql in statements)
    assert not any(sql.lstrip().startswith(("insert", "update", "delete")) for sql in statements)


def test_scores_as_of_reads_in_bounded_batches_and_gives_each_lead_once(live_rules, source, now, as_of):
    # given five leads known before as_of
    send(source, [identify(f"u{n}", f"p{n}@acme.io", at=now - timedelta(days=5)) for n in range(5)])

    # when
    scored = [lead_id for lead_id, _ in scores_as_of(version=live_rules, as_of=as_of, chunk_size=2)]

    # then
    assert scored == sorted(Lead.objects.values_list("id", flat=True))


def test_the_earlier_call_with_now_still_scores_live_at_that_clock(live_rules, source, now, as_of):
    # given a title changed after as_of
    send(
        source,
        [
            identify("u1", "ada@acme.io", at=now - timedelta(days=10), title="Office Manager"),
            identify("u1", "ada@acme.io", at=now - timedelta(days=1), title="VP Data"),
        ],
    )
    lead = leads_for_scoring().get(email="ada@acme.io")
    since = as_of - timedelta(days=compile_version(default_rules()).max_window_days)

    # when
    live = scoring_facts_for_leads(leads=[lead], now=as_of, since=since)[lead.id]
    point_in_time = scoring_facts_for_leads(leads=[lead], as_of=as_of, since=since)[lead.id]

    # then `now=` reads today's rows at that clock; `as_of=` what was known then
    assert live.lead.attributes["title"] == "VP Data"
    assert point_in_time.lead.attributes["title"] == "Office Manager"
    with pytest.raises(ValueError, match="as_of"):
        scoring_facts_for_leads(leads=[lead], now=now, as_of=as_of, since=since)


def test_context_traits_fill_blanks_as_of_and_an_unsubscribe_after_as_of_is_not_seen(live_rules, source, now, as_of):
    # given a title first seen in a track call's context.traits, replaced by an identify call and
    # followed by an unsubscribe, both after as_of
    send(
        source,
        [
            identify("u1", "ada@acme.io", at=now - timedelta(days=10)),
            {**track("u1", "Form Submitted", at=iso(now - timedelta(days=5))), "context": {"traits": {"title": "CTO"}}},
            identify("u1", "ada@acme.io", at=now - timedelta(days=1), title="CEO"),
            track("u1", "Unsubscribed", at=iso(now - timedelta(days=1))),
        ],
    )
    lead = Lead.objects.get(email="ada@acme.io")

    # when
    then = _facts_as_of(lead, as_of).lead.attributes

    # then
    assert (lead.title, lead.is_unsubscribed) == ("CEO", True)
    assert (then["title"], then["is_unsubscribed"]) == ("CTO", False)
