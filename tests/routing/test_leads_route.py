"""Routing many leads at once: groups of leads share a transaction and their reads, decide
exactly as one-by-one routing would, and one lead's failure undoes nobody else's assignment."""

import threading

import psycopg
import pytest
from django.db import DatabaseError, connection
from django.db.models import Q

from leads.models import Lead
from routing.models import Activity, Assignment, AssignmentStatus, QueueMember, RoutingDecision, Strategy, Team
from routing.services.assignments import ROUTE_GROUP_SIZE, lead_route, leads_route
from tests.routing.world import make_account, make_lead, make_queue, make_rep, rep_user, rule, sla
from tests.worker_utils import database_url_of_test_run, wait_until

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def org(django_user_model):
    """Four reps: an enterprise queue (least loaded) and a round-robin one sharing a rep;
    dee owns some accounts and has room for only three leads."""
    team = Team.objects.create(name="Sales")
    reps = {name: make_rep(rep_user(django_user_model, name), team=team) for name in ("ann", "ben", "cy")}
    reps["dee"] = make_rep(rep_user(django_user_model, "dee"), team=team, capacity=3)
    enterprise = make_queue("Enterprise", [reps["ann"], reps["ben"]], strategy=Strategy.LEAST_LOADED)
    everyone = make_queue("Everyone", [reps["ben"], reps["cy"], reps["dee"]])
    rule("Enterprise", enterprise, 1, {"field": "account.employee_count", "op": "gte", "value": 1000})
    rule("Everyone", everyone, 2)
    sla("mql", minutes=60, warning=30)
    return reps


def leads_at_accounts(reps, count: int) -> list[int]:
    """Leads at accounts of both sizes, some owned by dee, most with several leads."""
    lead_ids = []
    for number in range(count // 3):
        owner = reps["dee"].user if number % 4 == 0 else None
        account = make_account(f"co{number}.io", employee_count=(40, 4000)[number % 2], owner=owner)
        lead_ids += [make_lead(f"p{person}@co{number}.io", account=account).id for person in range(3)]
    return lead_ids


def outcome() -> list[tuple]:
    """Who got which lead, how and why (ids aside), in routing order."""
    decisions = RoutingDecision.objects.select_related("lead", "assignment").order_by("id")
    return [
        (
            decision.lead.email,
            decision.rep_id,
            decision.queue_id,
            decision.summary,
            # the instants differ between the two runs; the SLA terms and reasons must not
            {key: value for key, value in decision.audit.items() if key not in ("decided_at", "warn_at", "due_at")},
            decision.assignment.status,
            decision.assignment.sla_policy_id,
        )
        for decision in decisions
    ]


def undo_routing() -> None:
    Activity.objects.all().delete()
    RoutingDecision.objects.all().delete()
    Assignment.objects.all().delete()
    QueueMember.objects.update(assigned_count=0, last_assigned_at=None)


@pytest.mark.django_db
def test_routing_leads_in_groups_decides_exactly_as_routing_them_one_by_one(org):
    # given leads across accounts, owners, both queues and a rep who fills up midway
    lead_ids = leads_at_accounts(org, 2 * ROUTE_GROUP_SIZE + 12)
    for lead_id in lead_ids:
        lead_route(lead_id=lead_id, trigger="qualified")
    one_by_one = outcome()
    undo_routing()

    # when the same leads are routed together
    assignments = leads_route(lead_ids=lead_ids, trigger="qualified")

    # then every decision, audit and SLA is the same, and so are the rotation's counts
    assert len(assignments) == len(lead_ids)
    assert outcome() == one_by_one
    methods = {decision[4]["method"] for decision in one_by_one}
    assert methods == {"account_owner", "account_rep", "rule"}
    assert Assignment.objects.filter(rep=org["dee"], status=AssignmentStatus.OPEN).count() == 3


@pytest.mark.django_db
def test_routing_the_same_leads_again_assigns_nothing_twice(org):
    lead_ids = leads_at_accounts(org, 30)
    leads_route(lead_ids=lead_ids, trigger="qualified")

    assert leads_route(lead_ids=lead_ids + lead_ids, trigger="qualified") == []

    assert Assignment.objects.count() == RoutingDecision.objects.count() == len(lead_ids)


@pytest.mark.django_db
def test_the_rep_is_notified_of_each_assignment_once_the_group_commits(org, django_capture_on_commit_callbacks):
    lead_ids = leads_at_accounts(org, 24)

    # the notices are only queued when the transaction commits (here: captured, not sent)
    with django_capture_on_commit_callbacks() as callbacks:
        assignments = leads_route(lead_ids=lead_ids, trigger="qualified")

    assigned = [assignment for assignment in assignments if assignment.rep_id is not None]
    assert assigned and len(callbacks) == len(assigned)
    assert Activity.objects.filter(kind="assigned").count() == len(assigned)


@pytest.mark.django_db
def test_routing_a_group_reads_the_database_a_fixed_number_of_times_whatever_its_size(
    org, django_assert_max_num_queries
):
    lead_ids = leads_at_accounts(org, ROUTE_GROUP_SIZE)

    # the rules, the leads, their accounts' owners and reps, queues, members, reps with their
    # calendars and load, SLA policies; then three inserts and the rotations' counts
    with django_assert_max_num_queries(25):
        leads_route(lead_ids=lead_ids, trigger="qualified")

    assert Assignment.objects.count() == len(lead_ids)


@pytest.mark.django_db
def test_a_lead_that_does_not_exist_does_not_undo_the_leads_routed_with_it(org):
    first, second = leads_at_accounts(org, 3)[:2]
    gone = Lead.objects.order_by("-id").first().id + 1000

    with pytest.raises(Lead.DoesNotExist):
        leads_route(lead_ids=[first, gone, second], trigger="qualified")

    assert set(Assignment.objects.values_list("lead_id", flat=True)) == {first, second}


@pytest.mark.django_db
def test_when_the_database_refuses_one_leads_assignment_the_leads_before_it_keep_theirs(org):
    # given a database that refuses the assignment of the fourth lead of a group
    lead_ids = leads_at_accounts(org, 9)
    refused = lead_ids[3]
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_lead() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NEW.lead_id = {refused} THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER refuse_lead BEFORE INSERT ON routing_assignment FOR EACH ROW EXECUTE FUNCTION refuse_lead()"
        )

    # when the group is routed, it fails as a whole and its leads are routed one by one
    with pytest.raises(DatabaseError):
        leads_route(lead_ids=lead_ids, trigger="qualified")

    # then the leads routed before the refused one keep their assignments and audit;
    # the refused one (and those after it) wait for the unrouted-leads sweep, as before
    routed = set(Assignment.objects.values_list("lead_id", flat=True))
    assert routed == set(lead_ids[:3])
    assert set(RoutingDecision.objects.values_list("lead_id", flat=True)) == routed


@pytest.mark.django_db(transaction=True)
def test_a_lead_another_transaction_holds_is_routed_after_the_rest_of_its_group_committed(org):
    # given another transaction holding one lead of the group
    lead_ids = leads_at_accounts(org, 6)
    held = lead_ids[2]
    holder = psycopg.connect(database_url_of_test_run())
    holder.execute("SELECT id FROM leads_lead WHERE id = %s FOR UPDATE", [held])
    errors: list = []

    def route():
        from django.db import connection as thread_connection

        try:
            leads_route(lead_ids=lead_ids, trigger="qualified")
        except Exception as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            thread_connection.close()

    # when the group is routed while that transaction is open
    worker = threading.Thread(target=route)
    worker.start()
    others = Q(lead_id__in=[lead_id for lead_id in lead_ids if lead_id != held])
    try:
        # then the others are committed without waiting for it
        wait_until(lambda: Assignment.objects.filter(others).count() == 5, timeout=10, message="the others routed")
        assert not Assignment.objects.filter(lead_id=held).exists()
    finally:
        holder.rollback()
        holder.close()
    worker.join(timeout=30)

    # and the held one is routed once released
    assert errors == []
    assert Assignment.objects.filter(lead_id=held).count() == 1
