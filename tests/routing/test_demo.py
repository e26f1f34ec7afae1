"""The demo opens on real work: every rep's queue has breached, at-risk and on-track rows, and weeks
of first touches lie behind them, whatever weekday and hour `make demo` runs (business time)."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import F

from leads.demo.loader import demo_users_create
from leads.models import Lead
from leads.services.sources import source_create
from routing.demo import REP_COUNTRIES, routing_demo_assignments, routing_demo_setup
from routing.models import Assignment, SlaEvent, SlaEventKind
from routing.selectors.queue import SlaState, assignment_queue_for_rep
from scoring.services import rule_version_install_default

# Monday 09:05 UTC: before the Americas' day starts, five minutes into Madrid's, little business time
# since Friday. Wednesday 15:00 UTC: everyone at work. The Monday after Christmas: a holiday in between.
MONDAY_MORNING = datetime(2026, 11, 23, 9, 5, tzinfo=UTC)
WEDNESDAY_AFTERNOON = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
MONDAY_AFTER_CHRISTMAS = datetime(2026, 12, 28, 9, 5, tzinfo=UTC)
MOMENTS = [
    pytest.param(MONDAY_MORNING, id="monday-0905"),
    pytest.param(WEDNESDAY_AFTERNOON, id="wednesday-1500"),
    pytest.param(MONDAY_AFTER_CHRISTMAS, id="monday-after-christmas"),
]


def _seed_at(moment: datetime) -> None:
    with time_machine.travel(moment, tick=False):
        call_command("seed_demo", "--accounts", "4", "--seed", "3", stdout=StringIO())


# One seeded world per moment, two questions of it: seed_demo is the slow part.
@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
@pytest.mark.parametrize("moment", MOMENTS)
def test_whatever_the_hour_each_rep_has_breached_at_risk_and_on_track_rows_and_weeks_of_first_touches(moment):
    # when
    _seed_at(moment)

    # then each rep's queue opens on every SLA state
    for username in REP_COUNTRIES:
        user = get_user_model().objects.get(username=username)
        rows = list(assignment_queue_for_rep(user, now=moment))
        untouched = [row.sla_state for row in rows if row.first_touch_at is None]
        assert untouched.count(SlaState.BREACHED) >= 1, username
        assert untouched.count(SlaState.AT_RISK) >= 1, username
        assert untouched.count(SlaState.ON_TRACK) >= 3, username
    # and the last four weeks hold first touches within the SLA and late, accepted, rejected and converted
    touched = Assignment.objects.filter(first_touch_at__gte=moment - timedelta(weeks=4), first_touch_at__lte=moment)
    assert touched.count() >= 20
    within = [assignment for assignment in touched if assignment.first_touch_at <= assignment.due_at]
    late = [assignment for assignment in touched if assignment.first_touch_at > assignment.due_at]
    assert len(within) >= 4 and len(late) >= 4
    assert {assignment.status for assignment in touched} >= {"accepted", "rejected", "closed"}
    for username in REP_COUNTRIES:
        assert touched.filter(rep__user__username=username).count() >= 5, username


@pytest.fixture
def demo_org(django_capture_on_commit_callbacks):
    demo_users_create()
    routing_demo_setup()
    with django_capture_on_commit_callbacks(execute=True):
        rule_version_install_default()
    source, _ = source_create(name="Website", kind="marketing")
    return source


@pytest.mark.django_db
@pytest.mark.postgres
def test_the_sweep_flagged_each_late_first_touch_at_its_due_time(demo_org):
    # when
    with time_machine.travel(WEDNESDAY_AFTERNOON, tick=False):
        routing_demo_assignments(source=demo_org, now=WEDNESDAY_AFTERNOON)

    # then the breach was recorded when a sweep running every minute would have, before the touch
    late = Assignment.objects.filter(first_touch_at__isnull=False).exclude(first_touch_at__lte=F("due_at"))
    assert late.count() >= 4
    for assignment in late:
        breach = SlaEvent.objects.get(assignment=assignment, kind=SlaEventKind.BREACHED)
        assert breach.at == assignment.due_at == assignment.breached_at
        assert SlaEvent.objects.get(assignment=assignment, kind=SlaEventKind.AT_RISK).at == assignment.warn_at
    # and what was touched in time was never flagged
    in_time = Assignment.objects.filter(first_touch_at__isnull=False, first_touch_at__lte=F("due_at"))
    assert in_time.exists()
    assert not SlaEvent.objects.filter(assignment__in=in_time, kind=SlaEventKind.BREACHED).exists()


@pytest.mark.django_db
@pytest.mark.postgres
def test_every_demo_request_is_routed_to_the_rep_who_owns_its_account(demo_org):
    # when
    with time_machine.travel(MONDAY_MORNING, tick=False):
        routed = routing_demo_assignments(source=demo_org, now=MONDAY_MORNING)

    # then
    assignments = Assignment.objects.select_related("lead__account", "rep")
    assert routed == assignments.count() > 0
    assert all(assignment.rep.user_id == assignment.lead.account.owner_id for assignment in assignments)
    assert all(assignment.assigned_at < MONDAY_MORNING for assignment in assignments)


@pytest.mark.django_db
@pytest.mark.postgres
def test_loading_the_demo_assignments_twice_adds_nothing(demo_org):
    # given
    with time_machine.travel(WEDNESDAY_AFTERNOON, tick=False):
        first = routing_demo_assignments(source=demo_org, now=WEDNESDAY_AFTERNOON)

        # when
        again = routing_demo_assignments(source=demo_org, now=WEDNESDAY_AFTERNOON)

    # then
    assert first > 0 and again == 0
    assert Assignment.objects.count() == first


@pytest.mark.django_db
@pytest.mark.postgres
def test_each_demo_request_comes_from_its_own_company_named_as_customers_are(demo_org):
    # when
    with time_machine.travel(MONDAY_MORNING, tick=False):
        routing_demo_assignments(source=demo_org, now=MONDAY_MORNING)

    # then: one person a company, and no scenario ("breached", "at risk") in a name or an address
    leads = Lead.objects.filter(source=demo_org).select_related("account")
    accounts = [lead.account_id for lead in leads]
    assert len(accounts) == len(set(accounts)) > 0
    names = [(lead.first_name, lead.last_name) for lead in leads]
    assert len(names) == len(set(names))
    shown = " ".join(f"{lead.email} {lead.account.name} {lead.first_name} {lead.last_name}" for lead in leads).lower()
    for scenario in ("breached", "risk", "late", "fresh", "accepted", "reject", "convert", "student"):
        assert scenario not in shown
