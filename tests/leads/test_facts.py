"""The one facts builder: every catalogue field computed from the rows, the same for scoring and routing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conditions import CATALOGUE, make_getter
from conditions.language import MISSING
from leads.facts import AccountAsOf, LeadAsOf, account_facts, condition_facts, lead_facts
from leads.models import Account, Campaign, Lead, Stage
from leads.services.sources import source_create
from routing.services.assignments import lead_route_preview
from scoring.engine import EventFacts, default_rules
from scoring.models import LeadScore
from scoring.services import leads_rescore, rule_version_create_from_document, rule_version_publish
from scoring.services.rescoring import lead_score_preview
from tests.routing.world import fallback_queue, make_queue, rule

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def ada(django_user_model):
    owner = django_user_model.objects.create_user(username="owner", password="pw")
    source, _ = source_create(name="App", kind="product")
    campaign = Campaign.objects.create(name="Q3 Webinar", type="webinar")
    account = Account.objects.create(
        name="Acme",
        domain="acme.io",
        industry="Software",
        employee_count=250,
        country="US",
        region="CA",
        plan="team",
        seats=12,
        owner=owner,
        traits={"funding_stage": "series b"},
    )
    return Lead.objects.create(
        email="ada@acme.io",
        title="VP Data",
        seniority="vp",
        department="Data",
        country="US",
        region="CA",
        phone="+1 415 555 0100",
        source=source,
        campaign=campaign,
        account=account,
        owner=owner,
        stage=Stage.MQL,
        first_seen_at=timezone.now() - timedelta(days=10, hours=1),
        traits={"plan_interest": "enterprise"},
    )


def test_the_builder_computes_every_declared_lead_account_and_score_field(ada):
    # given
    score = LeadScore(lead=ada, fit=40, engagement=30, total=70, grade="B", is_mql=True, pql_path="Activation")

    # when
    facts = condition_facts(ada, as_of=timezone.now(), score=score)

    # then
    missing = [
        field.name
        for field in CATALOGUE.fields
        if field.group in ("lead", "account", "score")
        and not field.is_family
        and make_getter(field.name)(facts) in (MISSING, None)
    ]
    assert missing == []
    assert facts["lead"]["email_domain"] == "acme.io"
    assert facts["lead"]["source_kind"] == "product" and facts["lead"]["campaign"] == "Q3 Webinar"
    assert facts["lead"]["has_owner"] is True and facts["account"]["has_owner"] is True
    assert facts["lead"]["days_since_first_seen"] == 10
    assert make_getter("lead.traits.plan_interest")(facts) == "enterprise"
    assert make_getter("account.traits.funding_stage")(facts) == "series b"
    assert make_getter("lead.plan_interest")(facts) == "enterprise"  # as conditions stored before read it


def test_every_declared_event_field_is_in_an_events_condition_context():
    # given
    event = EventFacts(
        id=1,
        type="page",
        name="Pricing",
        timestamp=timezone.now(),
        properties={"path": "/pricing", "url": "https://x.io/pricing", "asset_type": "checklist", "k": 1},
        context={"campaign": {"name": "q3"}},
        user_key="7",
    )

    # when
    context = event.condition_context

    # then
    missing = [
        field.name
        for field in CATALOGUE.fields
        if field.group == "event" and not field.is_family and make_getter(field.name)(context) in (MISSING, None)
    ]
    assert missing == []
    assert make_getter("event.properties.k")(context) == 1 and make_getter("properties.path")(context) == "/pricing"


def test_routing_on_the_leads_email_domain_matches(ada):
    # given: a field routing did not have before the one builder
    fallback_queue()
    acme = make_queue("Acme team", [])
    rule("Acme", acme, 1, {"field": "lead.email_domain", "op": "eq", "value": "acme.io"})

    # when
    preview = lead_route_preview(lead_id=ada.id)

    # then
    assert preview.decision.queue_id == acme.id
    assert preview.decision.rule_name == "Acme"


def test_routing_on_a_word_list_matches_the_leads_title(ada):
    # given
    fallback_queue()
    seniors = make_queue("Seniors", [])
    rule("Seniors", seniors, 1, {"field": "lead.title", "op": "contains_any", "value": ["VP", "Head", "Chief"]})

    # when
    preview = lead_route_preview(lead_id=ada.id)

    # then
    assert preview.decision.queue_id == seniors.id


def test_scoring_on_the_leads_source_kind_fires(ada, django_capture_on_commit_callbacks):
    # given: a field scoring did not have before the one builder
    document = default_rules()
    when = {"field": "lead.source_kind", "op": "eq", "value": "product"}
    document["fit_rules"].append({"name": "Came through the product", "points": 7, "when": when})
    version = rule_version_create_from_document(name="Product-led", document=document)
    with django_capture_on_commit_callbacks(execute=True):
        rule_version_publish(version_id=version.id)

    # when
    leads_rescore(lead_ids=[ada.id])
    preview = lead_score_preview(lead=ada, version=version)

    # then
    assert "Came through the product" in [hit.name for hit in preview.hits]
    stored = LeadScore.objects.get(lead=ada)
    assert "Came through the product" in [hit["name"] for hit in stored.explanation["hits"]]


def test_as_of_a_past_moment_every_declared_field_comes_from_what_was_known_then(ada):
    # given what was known of Ada and Acme five days ago (leads/selectors_as_of.py rebuilds it)
    as_of = timezone.now() - timedelta(days=5)
    lead = LeadAsOf(
        email="ada@acme.io",
        fields={"title": "Data Analyst", "country": "FR"},
        traits={"plan_interest": "team"},
        stage=Stage.NEW,
        is_unsubscribed=False,
        first_seen_at=ada.first_seen_at,
    )
    account = AccountAsOf(fields={"name": "Acme", "industry": "Retail", "employee_count": 40, "seats": 3}, traits={})

    # when
    facts = {
        "lead": lead_facts(ada, as_of=as_of, known=lead),
        "account": account_facts(ada.account, as_of=as_of, known=account),
    }

    # then the fields of then, not the rows of today; ownership unknown
    assert facts["lead"]["title"] == "Data Analyst" and facts["lead"]["department"] == ""
    assert facts["lead"]["stage"] == Stage.NEW and facts["lead"]["days_since_first_seen"] == 5
    assert make_getter("lead.plan_interest")(facts) == "team"
    assert facts["lead"]["has_owner"] is None and facts["account"]["has_owner"] is None
    assert facts["account"]["segment"] == "smb" and facts["account"]["plan"] == ""
    assert facts["account"]["domain"] == "acme.io"  # the account's identity
    declared = {field.name.split(".", 1)[1] for field in CATALOGUE.fields if field.group in ("lead", "account")}
    assert {name for name in declared if "." not in name} <= set(facts["lead"]) | set(facts["account"])
