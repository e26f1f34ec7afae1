"""The demo sales org's latest inbound leads: assignments of every age, some touched, at their real moments."""

from datetime import UTC, datetime, timedelta

import pytest

from leads.demo.loader import demo_users_create
from leads.models import Stage
from leads.services.sources import source_create
from routing.demo import RECENT_INBOUND, routing_demo_recent_inbound, routing_demo_setup
from routing.models import Assignment, AssignmentStatus
from routing.services.sla import sla_sweep
from scoring.services import rule_version_install_default

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

# A Wednesday afternoon in Europe, morning in the Americas: every demo rep is at work.
WEDNESDAY = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)


@pytest.fixture
def demo_org(django_capture_on_commit_callbacks):
    demo_users_create()
    routing_demo_setup()
    with django_capture_on_commit_callbacks(execute=True):
        rule_version_install_default()
    source, _ = source_create(name="Website", kind="marketing")
    return source


def test_the_latest_inbound_leads_are_routed_at_the_moment_they_qualified(demo_org):
    # when
    routed = routing_demo_recent_inbound(source=demo_org, now=WEDNESDAY)

    # then every one is assigned, qualified and routed at its own moment
    assert routed == len(RECENT_INBOUND)
    assignments = Assignment.objects.filter(lead__email__startswith="inbound").select_related("lead")
    ages = sorted(WEDNESDAY - assignment.assigned_at for assignment in assignments)
    assert ages == sorted(timedelta(minutes=minutes) for minutes, _, _ in RECENT_INBOUND)
    assert {assignment.lead.stage for assignment in assignments} <= {Stage.MQL, Stage.PQL}
    touched = [assignment for assignment in assignments if assignment.first_touch_at is not None]
    assert len(touched) == sum(is_touched for _, _, is_touched in RECENT_INBOUND)


def test_the_sla_sweep_finds_breached_and_at_risk_assignments_among_them(demo_org):
    # given
    routing_demo_recent_inbound(source=demo_org, now=WEDNESDAY)

    # when
    result = sla_sweep(now=WEDNESDAY)

    # then
    assert result.breached and result.at_risk
    assert Assignment.objects.filter(id__in=result.breached, status=AssignmentStatus.OPEN).count() == len(
        result.breached
    )


def test_loading_the_latest_inbound_leads_twice_adds_nothing(demo_org):
    # given
    routing_demo_recent_inbound(source=demo_org, now=WEDNESDAY)

    # when
    again = routing_demo_recent_inbound(source=demo_org, now=WEDNESDAY)

    # then
    assert again == 0
    assert Assignment.objects.filter(lead__email__startswith="inbound").count() == len(RECENT_INBOUND)
