"""A lead a rep rejected goes to nurture and stays out of that rep's queue: it qualifies again only
on evidence newer than the rejection (a new rule version alone does not re-open it), and is then
routed by the rules, to someone other than the rep who rejected it unless that rep owns the account."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Lead, Stage
from routing.models import ACTIVE_ASSIGNMENT_STATUSES, Assignment, RoutingTrigger, Strategy
from routing.services.actions import assignment_reject
from routing.services.assignments import lead_route, lead_route_preview, leads_route
from scoring.selectors import rule_version_document
from scoring.services import rule_version_create_from_document, rule_version_install_default, rule_version_publish
from tests.routing.world import make_account, make_lead, make_queue, make_rep, rep_user, rule
from tests.scoring.pipeline import iso, send, track

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def org(django_user_model, django_capture_on_commit_callbacks):
    """The default rules live; ann and ben share the least-loaded queue every lead matches;
    ben already works another lead, so the rotation prefers ann."""
    with django_capture_on_commit_callbacks(execute=True):
        live = rule_version_install_default()
    reps = {name: make_rep(rep_user(django_user_model, name)) for name in ("ann", "ben")}
    queue = make_queue("Everyone", [reps["ann"], reps["ben"]], strategy=Strategy.LEAST_LOADED)
    rule("Everyone", queue, 1)
    busy = make_lead("busy@elsewhere.com")
    Assignment.objects.create(lead=busy, rep=reps["ben"], queue=queue)
    return {"live": live, "reps": reps, "queue": queue}


def _rejected_by_ann(org, *, account=None) -> Lead:
    lead = make_lead("wanda@acme.com", account=account)
    assignment = lead_route(lead_id=lead.id, trigger=RoutingTrigger.QUALIFIED)
    assert assignment.rep == org["reps"]["ann"]
    assignment_reject(assignment_id=assignment.id, user=org["reps"]["ann"].user, reason="No budget this year")
    lead.refresh_from_db()
    assert lead.stage == Stage.NURTURE
    return lead


def _publish_lower_threshold(org, django_capture_on_commit_callbacks):
    """A new version under which any lead is an MQL, published as marketing ops do (rescore and routing run)."""
    document = rule_version_document(org["live"])
    document["thresholds"]["mql"] = {"fit_min": -1000, "engagement_min": -1000, "total_min": -1000}
    draft = rule_version_create_from_document(name="Everyone qualifies", document=document)
    with django_capture_on_commit_callbacks(execute=True):
        rule_version_publish(version_id=draft.id)


def _event_from_wanda(source, *, at):
    """An event from the lead (identified by email), processed and rescored; the qualified are routed."""
    result = send(
        source,
        [
            {"type": "identify", "userId": "wanda", "traits": {"email": "wanda@acme.com"}, "timestamp": iso(at)},
            track("wanda", "Demo Requested", at=iso(at)),
        ],
    )
    leads_route(lead_ids=result.qualified_lead_ids, trigger=RoutingTrigger.QUALIFIED)
    return result


def _active(lead: Lead):
    return Assignment.objects.filter(lead=lead, status__in=ACTIVE_ASSIGNMENT_STATUSES).first()


def test_publishing_a_version_with_a_lower_threshold_does_not_reopen_a_rejected_lead(
    org, django_capture_on_commit_callbacks
):
    # given
    lead = _rejected_by_ann(org)

    # when
    _publish_lower_threshold(org, django_capture_on_commit_callbacks)

    # then it stays in nurture, out of every queue
    lead.refresh_from_db()
    assert lead.stage == Stage.NURTURE
    assert _active(lead) is None


@pytest.mark.parametrize(
    ("event_after_rejection", "stage", "rep"),
    [
        # an event from before the rejection that arrives late is no new evidence
        (timedelta(days=-1), Stage.NURTURE, None),
        (timedelta(seconds=1), Stage.MQL, "ben"),
    ],
)
def test_only_an_event_newer_than_the_rejection_requalifies_the_lead_and_away_from_the_rep_who_rejected_it(
    org, source_with_key, django_capture_on_commit_callbacks, event_after_rejection, stage, rep
):
    # given
    lead = _rejected_by_ann(org)
    _publish_lower_threshold(org, django_capture_on_commit_callbacks)

    # when
    _event_from_wanda(source_with_key[0], at=timezone.now() + event_after_rejection)

    # then
    lead.refresh_from_db()
    assert lead.stage == stage
    active = _active(lead)
    assert (active.rep if active else None) == (org["reps"][rep] if rep else None)


def test_a_requalified_lead_goes_back_to_the_rep_who_rejected_it_when_that_rep_owns_the_account(
    org, source_with_key, django_capture_on_commit_callbacks
):
    # given ann owns Acme
    acme = make_account("acme.com", owner=org["reps"]["ann"].user)
    lead = _rejected_by_ann(org, account=acme)
    _publish_lower_threshold(org, django_capture_on_commit_callbacks)

    # when
    _event_from_wanda(source_with_key[0], at=timezone.now() + timedelta(seconds=1))

    # then
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL
    assert _active(lead).rep == org["reps"]["ann"]


def test_the_routing_preview_of_a_rejected_lead_names_another_rep(org):
    # given
    lead = _rejected_by_ann(org)

    # when
    preview = lead_route_preview(lead_id=lead.id)

    # then
    assert preview.decision.rep_id == org["reps"]["ben"].id
