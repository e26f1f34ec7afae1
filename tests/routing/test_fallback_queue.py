"""A selector never writes: reading the fallback queue creates nothing; routing recreates a
deleted fallback queue through a service, so nothing is ever unroutable."""

import pytest

from routing.engine import RoutingPolicyError
from routing.models import Assignment, AssignmentStatus, Queue
from routing.selectors.policy import fallback_queue_id, routing_policy_compiled
from routing.services.assignments import lead_route, lead_route_preview
from routing.services.queues import fallback_queue_ensure
from tests.routing.world import make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_fallback_queue():
    Queue.objects.filter(is_fallback=True).delete()


def test_the_fallback_selector_reads_the_queue_created_by_the_migration(django_assert_num_queries):
    with django_assert_num_queries(1):
        queue_id = fallback_queue_id()

    assert Queue.objects.get(is_fallback=True).id == queue_id


def test_the_fallback_selector_writes_nothing_when_the_queue_was_deleted(no_fallback_queue, django_assert_num_queries):
    # one SELECT, no INSERT, however often it is called
    with django_assert_num_queries(1) as queries:
        assert fallback_queue_id() is None

    assert queries.captured_queries[0]["sql"].lstrip().upper().startswith("SELECT")
    assert not Queue.objects.exists()


def test_a_policy_read_without_the_fallback_queue_says_so_and_creates_nothing(no_fallback_queue):
    with pytest.raises(RoutingPolicyError, match="fallback queue"):
        routing_policy_compiled()

    assert not Queue.objects.exists()


def test_a_routing_preview_still_answers_when_the_fallback_queue_was_deleted(no_fallback_queue):
    # a preview goes through the service, which recreates the queue the rules need
    lead = make_lead("p@nowhere.io")

    preview = lead_route_preview(lead_id=lead.id)

    assert preview.decision.queue_id == fallback_queue_id() is not None


def test_the_service_recreates_a_deleted_fallback_queue_once(no_fallback_queue):
    first = fallback_queue_ensure()
    second = fallback_queue_ensure()

    assert first == second == Queue.objects.get(is_fallback=True).id


def test_routing_a_lead_no_rule_matches_recreates_the_deleted_fallback_queue_and_parks_it_there(no_fallback_queue):
    lead = make_lead("p@nowhere.io")

    assignment = lead_route(lead_id=lead.id, trigger="qualified")

    assert assignment.queue.is_fallback and assignment.status == AssignmentStatus.WAITING
    assert Assignment.objects.get(lead=lead).queue_id == fallback_queue_id()


def test_nobody_deletes_the_fallback_queue_in_the_admin(admin_user_qualify, rf):
    from django.contrib import admin

    request = rf.post("/")
    request.user = admin_user_qualify
    queue_admin = admin.site._registry[Queue]

    assert queue_admin.has_delete_permission(request, Queue.objects.create(name="Spare"))
    assert not queue_admin.has_delete_permission(request, Queue.objects.get(is_fallback=True))
