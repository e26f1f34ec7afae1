"""What a rule version needs loaded: context only when a rule reads it, only the events and properties
its rules read; which events move a whole account."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from leads.models import Lead
from scoring.engine import compile_version, default_rules, evaluate
from scoring.engine.horizons import event_horizons
from scoring.selectors import (
    account_signals,
    leads_for_scoring,
    rule_version_compiled,
    rule_version_live,
    scoring_facts_for_leads,
)


def test_the_default_rules_read_no_event_context():
    assert not account_signals(compile_version(default_rules())).uses_context


def test_a_rule_on_the_event_context_makes_the_context_load():
    document = default_rules()
    document["engagement_rules"].append(
        {
            "name": "Came from a paid campaign",
            "points": 5,
            "event": "Form Submitted",
            "when": {"field": "context.campaign.medium", "op": "eq", "value": "cpc"},
        }
    )

    assert account_signals(compile_version(document)).uses_context


def test_product_events_and_group_calls_move_the_whole_account_but_a_form_does_not():
    signals = account_signals(compile_version(default_rules()))

    assert signals.affects_account(kind="track", name="Plan Limit Reached")
    assert signals.affects_account(kind="group", name="")
    assert not signals.affects_account(kind="track", name="Form Submitted")


# --- Loading only what the rules read -----------------------------------------------------


@pytest.fixture
def demo_world(transactional_db):
    call_command("seed_demo", "--accounts", "12", "--seed", "5", "--no-users", stdout=StringIO())
    return rule_version_compiled(rule_version_live())


def _facts(compiled, *, trimmed: bool) -> dict:
    now = timezone.now()
    leads = list(leads_for_scoring().order_by("id"))
    return scoring_facts_for_leads(
        leads=leads,
        now=now,
        since=now - timedelta(days=compiled.max_window_days),
        with_context=not trimmed,
        horizons=event_horizons(compiled) if trimmed else None,
        account_horizons=event_horizons(compiled, account_level=True) if trimmed else None,
    )


@pytest.mark.postgres
def test_loading_only_the_events_rules_read_scores_every_lead_exactly_as_loading_all(demo_world):
    # given
    everything = _facts(demo_world, trimmed=False)

    # when
    trimmed = _facts(demo_world, trimmed=True)

    # then
    assert len(everything) > 50
    assert sum(len(facts.events) for facts in trimmed.values()) < sum(len(f.events) for f in everything.values())
    for lead_id, facts in everything.items():
        assert evaluate(demo_world, trimmed[lead_id]).to_dict() == evaluate(demo_world, facts).to_dict(), lead_id


@pytest.mark.postgres
def test_identify_calls_and_unread_properties_are_not_loaded(demo_world):
    # when
    trimmed = _facts(demo_world, trimmed=True)

    # then
    events = [event for facts in trimmed.values() for event in facts.events]
    assert not [event for event in events if event.type in ("identify", "group")]
    job_runs = [event for event in events if event.name == "Job Run"]
    downloads = [event for event in events if event.name == "Asset Downloaded"]
    assert job_runs and downloads
    assert all(event.properties == {} for event in job_runs)  # no condition looks into them
    assert all("asset_type" in event.properties for event in downloads)  # a condition reads asset_type


@pytest.mark.postgres
def test_a_lead_loaded_any_way_gets_the_same_facts_as_one_loaded_for_scoring(demo_world):
    # given
    lead = Lead.objects.filter(source__isnull=False, account__isnull=False).first()
    now = timezone.now()
    since = now - timedelta(days=demo_world.max_window_days)

    # when
    plain = scoring_facts_for_leads(leads=[lead], now=now, since=since)[lead.id]
    loaded = scoring_facts_for_leads(leads=[leads_for_scoring().get(id=lead.id)], now=now, since=since)[lead.id]

    # then
    assert plain.lead.attributes["source"] == lead.source.name != ""
    assert plain == loaded


@pytest.mark.postgres
def test_account_scoped_rules_and_conditions_on_any_event_still_score_as_with_everything_loaded(demo_world):
    # given: a version reading colleagues' events, every event, properties and context
    document = default_rules()
    document["engagement_rules"].append(
        {
            "name": "Team reads the docs",
            "points": 3,
            "event_type": "page",
            "scope": "account",
            "window_days": 20,
            "when": {"field": "properties.path", "op": "startswith", "value": "/docs"},
        }
    )
    document["engagement_rules"].append(
        {
            "name": "Came from a campaign",
            "points": 2,
            "event": "Form Submitted",
            "when": {"field": "context.campaign.name", "op": "exists", "value": True},
        }
    )
    document["pql_paths"].append(
        {
            "name": "Busy account",
            "kind": "usage_depth",
            "min_active_users": 2,
            "within_days": 5,
            "when": {"field": "type", "op": "in", "value": ["track", "page"]},
        }
    )
    compiled = compile_version(document)
    now = timezone.now()
    leads = list(leads_for_scoring().order_by("id"))
    read = {"leads": leads, "now": now, "since": now - timedelta(days=compiled.max_window_days)}

    # when
    everything = scoring_facts_for_leads(**read)
    trimmed = scoring_facts_for_leads(
        **read,
        horizons=event_horizons(compiled),
        account_horizons=event_horizons(compiled, account_level=True),
    )

    # then
    results = [evaluate(compiled, facts) for facts in everything.values()]
    assert any(hit.name == "Team reads the docs" for result in results for hit in result.hits)
    assert any(result.pql_path == "Busy account" for result in results)
    for lead_id, facts in everything.items():
        assert evaluate(compiled, trimmed[lead_id]).to_dict() == evaluate(compiled, facts).to_dict(), lead_id
