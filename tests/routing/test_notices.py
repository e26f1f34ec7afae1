"""Notices (routing/services/notices.py): each is recorded with the change that calls for it,
emailed once however often its task is delivered, and sent by the SLA sweep when its task
was lost (Redis down at commit) or its send failed. Redis is really down here (a closed
port); only the email server is stood in for where it must fail."""

import logging
import smtplib
from datetime import timedelta

import pytest
import time_machine
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone

from leads.models import Stage
from qualify_site.roles import Role
from routing.models import ActivityKind, AssignmentNotice, NoticeKind
from routing.services.actions import activity_log
from routing.services.assignments import assignment_reassign_to_next, lead_route
from routing.services.notices import notice_for
from routing.services.sla import sla_sweep
from routing.tasks import notice_send_task
from tests.broker_utils import redis_unreachable
from tests.routing.world import make_lead, make_queue, make_rep, rep_user, rule, sla

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def desk(django_user_model):
    """Ann works the only queue; MQL leads get a first-touch SLA of an hour, at risk at 45 minutes."""
    ann = make_rep(rep_user(django_user_model, "ann"))
    rule("All", make_queue("Inbound", [ann]), 1)
    sla(Stage.MQL, minutes=60, warning=45)
    return ann


def _route(email: str, *, commit=None):
    """Route a new MQL lead; `commit` runs the transaction's on-commit publishes (else they are dropped)."""
    if commit is None:
        return lead_route(lead_id=make_lead(email).id, trigger="qualified")
    with commit(execute=True):
        return lead_route(lead_id=make_lead(email).id, trigger="qualified")


def _subjects(mailoutbox) -> list[str]:
    return [message.subject for message in mailoutbox]


class RefusingEmailBackend(EmailBackend):
    """An email server that is down (the one thing outside the project that these tests stand in for)."""

    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


def test_routing_records_the_notice_it_owes_the_rep_unsent_until_its_task_runs(desk, mailoutbox):
    # when: routed, but the transaction's publish never happened (never committed here)
    assignment = _route("ada@acme.io")

    # then
    notice = AssignmentNotice.objects.get(assignment=assignment)
    assert (notice.kind, notice.sent_at) == (NoticeKind.ASSIGNED, None)
    assert mailoutbox == []


def test_a_notice_delivered_twice_is_emailed_once(desk, mailoutbox):
    # given
    assignment = _route("ada@acme.io")

    # when: the broker delivers the task twice (redelivery, or the sweep's copy and the original)
    first = notice_send_task.apply(args=["assigned", assignment.id]).get()
    second = notice_send_task.apply(args=["assigned", assignment.id]).get()

    # then
    assert (first, second) == (True, False)
    assert _subjects(mailoutbox) == ["New lead for you: ada@acme.io"]
    assert AssignmentNotice.objects.get(assignment=assignment).sent_at is not None


def test_a_notice_that_was_never_recorded_is_not_sent(desk, mailoutbox):
    # given: an assignment with its notice already sent
    assignment = _route("ada@acme.io")
    notice_send_task.apply(args=["assigned", assignment.id])

    # when: a task for a notice nobody recorded
    sent = notice_send_task.apply(args=["breached", assignment.id]).get()

    # then
    assert sent is False
    assert len(mailoutbox) == 1


def test_with_redis_down_routing_commits_and_the_sla_sweep_sends_the_notice_once_redis_is_back(
    desk, mailoutbox, django_capture_on_commit_callbacks, caplog
):
    # given: Redis goes down as the lead is routed
    with redis_unreachable():
        assignment = _route("ada@acme.io", commit=django_capture_on_commit_callbacks)
    assert "Could not enqueue routing.tasks.notice_send_task('assigned'" in caplog.text
    assert mailoutbox == []
    routed_at = timezone.now()

    # when: Redis is back and the SLA sweep runs every minute
    with time_machine.travel(routed_at + timedelta(minutes=1)):
        too_soon = sla_sweep()
    with time_machine.travel(routed_at + timedelta(minutes=3)):
        resent = sla_sweep()
    with time_machine.travel(routed_at + timedelta(minutes=4)):
        again = sla_sweep()

    # then: its own task gets two minutes; then the sweep publishes it, and it goes out once
    assert (too_soon.notices_resent, resent.notices_resent, again.notices_resent) == (0, 1, 0)
    assert _subjects(mailoutbox) == ["New lead for you: ada@acme.io"]
    assert AssignmentNotice.objects.get(assignment=assignment).sent_at is not None


def test_with_redis_down_the_sla_sweep_records_an_at_risk_notice_and_sends_it_once_redis_is_back(
    desk, mailoutbox, django_capture_on_commit_callbacks
):
    # given: the assignment notice went out
    assignment = _route("ada@acme.io", commit=django_capture_on_commit_callbacks)
    start = timezone.now()

    # when: the sweep flags it at risk while Redis is down, then runs again once Redis is back
    with (
        redis_unreachable(),
        time_machine.travel(start + timedelta(minutes=46)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        flagged = sla_sweep()
    with time_machine.travel(start + timedelta(minutes=49)):
        later = sla_sweep()

    # then
    assert flagged.at_risk == (assignment.id,)
    assert later.notices_resent == 1
    assert _subjects(mailoutbox) == ["New lead for you: ada@acme.io", "First touch due soon: ada@acme.io"]


def test_a_notice_whose_email_failed_is_sent_by_a_later_sweep(desk, mailoutbox, settings):
    # given: the email server refuses the first attempt
    assignment = _route("ada@acme.io")
    settings.EMAIL_BACKEND = f"{__name__}.RefusingEmailBackend"
    with pytest.raises(smtplib.SMTPServerDisconnected):
        notice_send_task.apply(args=["assigned", assignment.id]).get()
    assert AssignmentNotice.objects.get(assignment=assignment).sent_at is None

    # when: the email server is back and the sweep runs
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        sla_sweep()

    # then
    assert _subjects(mailoutbox) == ["New lead for you: ada@acme.io"]


def test_the_sweep_does_not_send_news_older_than_a_day(desk, mailoutbox):
    # given
    _route("ada@acme.io")

    # when
    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1)):
        result = sla_sweep()

    # then
    assert result.notices_resent == 0
    assert [s for s in _subjects(mailoutbox) if s.startswith("New lead")] == []


def test_with_redis_still_down_the_sweep_tries_one_notice_and_leaves_the_rest_for_the_next_sweep(
    desk, mailoutbox, caplog
):
    # given: three notices whose tasks were lost
    for email in ("ada@acme.io", "bo@acme.io", "cy@acme.io"):
        _route(email)

    # when: the sweep runs while Redis is still down
    with (
        redis_unreachable(),
        time_machine.travel(timezone.now() + timedelta(minutes=3)),
        caplog.at_level(logging.WARNING, logger="qualify_site.enqueue"),
    ):
        result = sla_sweep()

    # then: one failed publish, not one per notice; all three still owed
    assert result.notices_resent == 0
    assert len([r for r in caplog.records if r.name == "qualify_site.enqueue"]) == 1
    assert AssignmentNotice.objects.filter(sent_at__isnull=True).count() == 3
    assert mailoutbox == []


@pytest.mark.parametrize(
    ("late_kind", "what_happened_meanwhile"),
    [("assigned", "the lead was reassigned"), ("at_risk", "the rep called"), ("breached", "the rep called")],
)
def test_a_notice_sent_late_goes_out_only_if_it_is_still_true(desk, mailoutbox, late_kind, what_happened_meanwhile):
    # given: a notice whose task was lost, and what happened before it was sent
    assignment = _route("ada@acme.io")
    AssignmentNotice.objects.filter(assignment=assignment).update(kind=late_kind)
    if what_happened_meanwhile == "the rep called":
        activity_log(assignment_id=assignment.id, user=desk.user, kind=ActivityKind.CALL, notes="Rang")
    else:
        assignment_reassign_to_next(assignment_id=assignment.id, actor=None, reason="Ann is away")

    # when
    notice_send_task.apply(args=[late_kind, assignment.id])

    # then: a rep hears neither of a lead taken from them nor that a touch they made is due; a breach happened
    told_ann = [message.subject for message in mailoutbox if message.to == ["ann@qualify.test"]]
    assert told_ann == (["SLA breached: ada@acme.io"] if late_kind == "breached" else [])
    assert AssignmentNotice.objects.get(assignment=assignment, kind=late_kind).sent_at is not None


@pytest.mark.parametrize(
    ("kind", "recipient"),
    [(NoticeKind.ASSIGNED, "ann"), (NoticeKind.AT_RISK, "ann"), (NoticeKind.ESCALATED, "maya")],
    ids=["rep-assigned", "rep-at-risk", "manager-escalated"],
)
def test_a_notice_links_to_the_lead_workspace_its_recipient_can_open(
    client, settings, django_user_model, desk, kind, recipient
):
    # given: Maya manages Ann
    settings.PUBLIC_BASE_URL = "https://qualify.example.com/"
    maya = rep_user(django_user_model, "maya", Role.MANAGER)
    desk.manager = maya
    desk.save()
    assignment = _route("ada@acme.io")

    # when
    notice = notice_for(kind=kind, assignment_id=assignment.id)

    # then: email and webhook carry the same link, and the recipient opens it
    link = f"https://qualify.example.com/leads/{assignment.lead_id}/"
    assert notice.recipients == (f"{recipient}@qualify.test",)
    assert notice.text.endswith(link)
    assert notice.data["lead_url"] == link
    assert "/admin/" not in notice.text
    client.force_login(django_user_model.objects.get(username=recipient))
    assert client.get(link.removeprefix("https://qualify.example.com")).status_code == 200
