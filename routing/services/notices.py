"""What each notification says, and to whom."""

from django.conf import settings

from routing.models import Assignment
from routing.notifications import Notice

_SUBJECTS = {
    "assigned": "New lead for you: {lead}",
    "at_risk": "First touch due soon: {lead}",
    "breached": "SLA breached: {lead}",
    "escalated": "Escalation: {rep} has not touched {lead}",
}


def _lead_url(assignment: Assignment) -> str:
    base = getattr(settings, "PUBLIC_BASE_URL", "").rstrip("/")
    return f"{base}/admin/leads/lead/{assignment.lead_id}/change/"


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
    text = f"{subject}. First touch due {due}. Queue: {assignment.queue}. {_lead_url(assignment)}"
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
            "rep": str(rep),
            "queue": str(assignment.queue),
            "due_at": assignment.due_at.isoformat() if assignment.due_at else None,
        },
    )
