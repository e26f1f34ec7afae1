"""What each notification says, and to whom; and that each is sent once, even when Redis
was down when it was due.

A notice is recorded (AssignmentNotice) in the transaction of the change that calls
for it and published after commit. Publishing can fail or the task can be lost; the
SLA sweep publishes again what is still unsent. Sending claims the record, so a notice
published twice (or delivered twice by the broker) is emailed once.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from qualify_site.enqueue import enqueue_now, enqueue_on_commit
from routing.models import Assignment, AssignmentNotice, AssignmentStatus, NoticeKind
from routing.notifications import Notice, email_send

# Named, not imported: routing.tasks imports this module (qualify_site.enqueue).
NOTICE_SEND_TASK = "routing.tasks.notice_send_task"

# A notice's own task normally runs within seconds of the commit; past this the
# sweep assumes it was lost and publishes it again (a duplicate is harmless).
NOTICE_RESEND_AFTER = timedelta(minutes=2)
# Past this a notice is stale news ("first touch due soon" a day late): not sent again.
NOTICE_RESEND_WITHIN = timedelta(days=1)
NOTICE_RESEND_BATCH = 500

_SUBJECTS = {
    "assigned": "New lead for you: {lead}",
    "at_risk": "First touch due soon: {lead}",
    "breached": "SLA breached: {lead}",
    "escalated": "Escalation: {rep} has not touched {lead}",
}


def _lead_url(assignment: Assignment) -> str:
    """The lead workspace: every recipient (the rep, their manager) may open it, unlike the admin."""
    base = getattr(settings, "PUBLIC_BASE_URL", "").rstrip("/")
    return base + reverse("routing:lead_workspace", args=[assignment.lead_id])


def notice_for(*, kind: str, assignment_id: int) -> Notice | None:
    assignment = (
        Assignment.objects.select_related("lead", "rep__user", "rep__manager", "rep__team__manager", "queue")
        .filter(id=assignment_id)
        .first()
    )
    if assignment is None or kind not in _SUBJECTS or assignment.rep is None:
        return None
    lead, rep = assignment.lead, assignment.rep
    due = f"{assignment.due_at:%Y-%m-%d %H:%M} UTC" if assignment.due_at else "no SLA"
    subject = _SUBJECTS[kind].format(lead=lead, rep=rep)
    lead_url = _lead_url(assignment)
    text = f"{subject}. First touch due {due}. Queue: {assignment.queue}. {lead_url}"
    recipients = [rep.user.email]
    if kind == "escalated":
        manager = rep.escalation_user
        recipients = [manager.email] if manager else []
    return Notice(
        kind=kind,
        subject=subject,
        text=text,
        recipients=tuple(recipients),
        data={
            "assignment_id": assignment.id,
            "lead_id": lead.id,
            "lead": str(lead),
            "lead_url": lead_url,
            "rep": str(rep),
            "queue": str(assignment.queue),
            "due_at": assignment.due_at.isoformat() if assignment.due_at else None,
        },
    )


def notices_record(*, kind: str, assignment_ids: list[int]) -> None:
    """Record that each assignment is owed a `kind` notice, and publish its task on commit."""
    now = timezone.now()
    AssignmentNotice.objects.bulk_create(
        [AssignmentNotice(assignment_id=assignment_id, kind=kind, created_at=now) for assignment_id in assignment_ids],
        ignore_conflicts=True,
    )
    for assignment_id in assignment_ids:
        enqueue_on_commit(NOTICE_SEND_TASK, kind, assignment_id, recovered_by="the SLA sweep (notices_resend)")


def notice_email_once(*, kind: str, assignment_id: int) -> Notice | None:
    """Claim the recorded notice and email it, in one transaction. Returns the notice (for the
    webhook), or None when it was already sent, was never recorded, is no longer true, or has
    nobody to go to.

    The claim's row lock is held until the email is handed over: a second delivery of the
    task waits for it, then finds the notice sent. A failed send rolls the claim back, and
    the SLA sweep publishes the notice again.
    """
    with transaction.atomic():
        claimed = AssignmentNotice.objects.filter(assignment_id=assignment_id, kind=kind, sent_at__isnull=True).update(
            sent_at=timezone.now()
        )
        if not claimed or _is_stale(kind=kind, assignment_id=assignment_id):
            return None
        notice = notice_for(kind=kind, assignment_id=assignment_id)
        if notice is not None:
            email_send(notice)
    return notice


def _is_stale(*, kind: str, assignment_id: int) -> bool:
    """A notice sent late (its task was lost) must still be true: a rep is not told of a lead
    taken from them meanwhile, nor that a first touch they have made is due soon. Breaches
    and escalations happened, whatever came after: those are always sent."""
    if kind not in (NoticeKind.ASSIGNED, NoticeKind.AT_RISK):
        return False
    still_true = Assignment.objects.filter(
        id=assignment_id, status__in=(AssignmentStatus.OPEN, AssignmentStatus.ACCEPTED)
    )
    if kind == NoticeKind.AT_RISK:
        still_true = still_true.filter(first_touch_at__isnull=True)
    return not still_true.exists()


def notices_resend(*, now: datetime) -> int:
    """Publish again the notices still unsent a while after they were recorded (their task
    was lost: Redis down at commit, a worker gone, a failed send). Newest first: fresh news
    matters most. Returns how many were published."""
    unsent = (
        AssignmentNotice.objects.filter(
            sent_at__isnull=True,
            created_at__lte=now - NOTICE_RESEND_AFTER,
            created_at__gt=now - NOTICE_RESEND_WITHIN,
        )
        .order_by("-created_at")
        .values_list("kind", "assignment_id")[:NOTICE_RESEND_BATCH]
    )
    published = 0
    for kind, assignment_id in unsent:
        # Still down: stop here rather than wait out a timeout per notice; the next sweep tries again.
        if not enqueue_now(NOTICE_SEND_TASK, kind, assignment_id, recovered_by="the next SLA sweep"):
            break
        published += 1
    return published
