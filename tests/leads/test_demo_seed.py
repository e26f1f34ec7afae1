"""seed_demo: the demo world through the real ingestion and processing path, at tiny scale."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from leads.models import Account, Event, Lead, Outcome, Source
from qualify_site.roles import Role, user_roles
from scoring.models import LeadScore, RuleVersion

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

TINY = ["--accounts", "12", "--seed", "3", "--now", "2026-01-15T12:00:00Z"]


def _seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_it_loads_the_world_through_ingestion_and_processes_every_event():
    # when
    _seed(*TINY)

    # then
    assert set(Source.objects.values_list("kind", flat=True)) == {"marketing", "product"}
    assert Event.objects.count() > 500
    assert not Event.objects.filter(processed_at__isnull=True).exists()
    assert Lead.objects.filter(email__isnull=False).count() > 10
    assert Account.objects.filter(group_id__isnull=False, seats__gt=0).exists()


def test_outcomes_belong_to_the_leads_ingestion_created():
    # when
    _seed("--accounts", "40", "--seed", "3", "--now", "2026-01-15T12:00:00Z", "--no-users")

    # then
    outcomes = Outcome.objects.all()
    assert outcomes.exists()
    assert all(outcome.lead_id is not None for outcome in outcomes)
    assert not get_user_model().objects.exists()


def test_it_creates_a_login_per_role_and_prints_them():
    # when
    output = _seed(*TINY)

    # then
    users = {user.username: user for user in get_user_model().objects.all()}
    assert {Role.REP} == user_roles(users["alice"]) == user_roles(users["bob"])
    assert Role.MANAGER in user_roles(users["charlie"])
    assert Role.MARKETING_OPS in user_roles(users["olivia"])
    assert users["admin"].is_superuser
    assert "alice-demo" in output and "admin-demo" in output


def test_the_same_seed_stores_the_same_events():
    # given
    _seed(*TINY, "--no-users")
    first = set(Event.objects.values_list("message_id", flat=True))
    Event.objects.all().delete()

    # when
    _seed(*TINY, "--no-users")

    # then
    assert set(Event.objects.values_list("message_id", flat=True)) == first


def test_if_empty_leaves_an_existing_world_alone():
    # given
    _seed(*TINY)
    events = Event.objects.count()

    # when
    output = _seed(*TINY, "--if-empty")

    # then
    assert "already present" in output
    assert Event.objects.count() == events


def test_it_publishes_the_default_rules_so_the_demo_leads_are_scored():
    # when
    _seed(*TINY, "--no-users")

    # then
    assert RuleVersion.objects.filter(status="published").exists()
    assert LeadScore.objects.count() == Lead.objects.filter(merged_into__isnull=True).count()


def test_no_rules_leaves_scoring_alone():
    # when
    _seed(*TINY, "--no-users", "--no-rules")

    # then
    assert not RuleVersion.objects.exists()
