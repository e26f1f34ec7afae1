"""The beat sweep: at risk, breached (once, however often it runs), escalated,
reassigned; the first touch stops the clock; notifications by email and webhook."""

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from leads.models import Stage
from qualify_site.roles import Role
from routing.models import ActivityKind, Assignment, AssignmentStatus, SlaEvent, SlaEventKind, Team
from routing.notifications import webhook_signature
from routing.services.actions import activity_log
from routing.services.assignments import lead_route
from routing.services.sla import sla_sweep
from tests.routing.world import make_account, make_lead, make_queue, make_rep, rep_user, rule, sla

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def desk(django_user_model):
    manager = rep_user(django_user_model, "maya", role=Role.MANAGER)
    team = Team.objects.create(name="Inbound", manager=manager)
    reps = [make_rep(rep_user(django_user_model, name), team=team) for name in ("ann", "ben")]
    queue = make_queue("Inbound", reps)
    rule("All", queue, 1)
    return {"manager": manager, "reps": reps, "queue": queue}


def _assign(email: str) -> Assignment:
    return lead_route(lead_id=make_lead(email, account=make_account(email.split("@")[1])).id, trigger="qualified")


def test_the_sweep_flags_at_risk_then_breached_and_records_each_once(desk, django_capture_on_commit_callbacks):
    # given a 60-minute SLA with a warning at 45
    sla(Stage.MQL, minutes=60, warning=45)
    assignment = _assign("a@one.io")
    start = timezone.now()

    # when the sweep runs at 50 minutes (twice) and at 61 minutes (twice)
    with django_capture_on_commit_callbacks(execute=True):
        with time_machine.travel(start + timedelta(minutes=50)):
            first = sla_sweep()
            again = sla_sweep()
        with time_machine.travel(start + timedelta(minutes=61)):
            breached = sla_sweep()
            breached_again = sla_sweep()

    # then
    assert first.at_risk == (assignment.id,) and again.at_risk == ()
    assert breached.breached == (assignment.id,) and breached_again.breached == ()
    assignment.refresh_from_db()
    assert assignment.at_risk_at and assignment.breached_at and assignment.is_overdue
    assert sorted(SlaEvent.objects.values_list("kind", flat=True)) == ["at_risk", "breached"]
    assert assignment.activities.filter(kind=ActivityKind.SLA).count() == 1
    # the rep was told both times, by email
    subjects = [message.subject for message in mail.outbox]
    assert any("due soon" in subject for subject in subjects) and any("breached" in subject for subject in subjects)


def test_the_first_touch_by_the_assigned_rep_stops_the_clock(desk):
    sla(Stage.MQL, minutes=60, warning=45)
    assignment = _assign("b@two.io")
    activity_log(
        assignment_id=assignment.id, user=assignment.rep.user, kind=ActivityKind.CALL, notes="Left a voicemail"
    )

    with time_machine.travel(timezone.now() + timedelta(hours=3)):
        result = sla_sweep()

    assert result.breached == () and result.at_risk == ()
    assignment.refresh_from_db()
    assert assignment.first_touch_at is not None and assignment.breached_at is None


def test_a_note_or_someone_else_touching_does_not_stop_the_clock(desk):
    sla(Stage.MQL, minutes=60, warning=45)
    assignment = _assign("c@three.io")
    activity_log(assignment_id=assignment.id, user=assignment.rep.user, kind=ActivityKind.NOTE, notes="Looked them up")
    activity_log(assignment_id=assignment.id, user=desk["manager"], kind=ActivityKind.CALL, notes="Manager called")

    assignment.refresh_from_db()
    assert assignment.first_touch_at is None


def test_a_breach_escalates_to_the_manager_when_the_policy_says_so(desk, django_capture_on_commit_callbacks):
    sla(Stage.MQL, minutes=30, warning=20, on_breach="escalate")
    assignment = _assign("d@four.io")

    with django_capture_on_commit_callbacks(execute=True), time_machine.travel(timezone.now() + timedelta(minutes=31)):
        result = sla_sweep()

    assert result.escalated == (assignment.id,)
    assert SlaEvent.objects.filter(assignment=assignment, kind=SlaEventKind.ESCALATED).count() == 1
    assert any(message.to == ["maya@qualify.test"] for message in mail.outbox)


def test_a_breach_reassigns_to_the_next_rep_when_the_policy_says_so(desk):
    sla(Stage.MQL, minutes=30, warning=20, on_breach="reassign")
    assignment = _assign("e@five.io")
    first_rep = assignment.rep

    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        result = sla_sweep()
        sla_sweep()

    assert result.reassigned == (assignment.id,)
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.REASSIGNED
    new = Assignment.objects.get(lead=assignment.lead, status=AssignmentStatus.OPEN)
    assert new.rep != first_rep and new.due_at > assignment.due_at
    assert Assignment.objects.filter(lead=assignment.lead).count() == 2


class _Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook_receiver(settings):
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SLA_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/hook"
    settings.SLA_WEBHOOK_SECRET = "s3cret"
    yield _Receiver.received
    server.shutdown()


def test_a_breach_is_posted_to_the_webhook_signed_and_slack_compatible(
    desk, webhook_receiver, django_capture_on_commit_callbacks
):
    sla(Stage.MQL, minutes=30, warning=20)
    assignment = _assign("f@six.io")

    with django_capture_on_commit_callbacks(execute=True), time_machine.travel(timezone.now() + timedelta(minutes=31)):
        sla_sweep()

    breach = [(headers, body) for headers, body in webhook_receiver if json.loads(body)["kind"] == "breached"]
    assert len(breach) == 1
    headers, body = breach[0]
    payload = json.loads(body)
    assert "SLA breached" in payload["text"] and payload["assignment_id"] == assignment.id
    expected = webhook_signature(secret="s3cret", timestamp=headers["X-Qualify-Timestamp"], body=body)
    assert hmac.compare_digest(headers["X-Qualify-Signature"], expected)
    assert expected.startswith("sha256=") and len(expected) == 7 + hashlib.sha256().digest_size * 2
