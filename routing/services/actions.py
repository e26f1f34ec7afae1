"""What reps and managers do with an assignment. Every action is checked
(routing.permissions), recorded on the lead's timeline (Activity), and moves
the lead's stage through the leads stage service where it changes."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from leads.models import Lead, Stage
from leads.services.stages import lead_stage_change
from routing.models import (
    TOUCH_KINDS,
    Activity,
    ActivityKind,
    Assignment,
    AssignmentStatus,
)
from routing.permissions import check_can_work

LOGGABLE_KINDS = (ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.MEETING, ActivityKind.NOTE)
# What a rep picks from when a lead is not for sales now (the pages offer only these; the
# API still takes free text). Sales teams report on them, so the list stays short and fixed.
REJECTION_REASONS = ("Not a fit", "No budget", "Wrong contact", "Already a customer", "Duplicate", "Other")


def _locked_assignment(assignment_id: int) -> Assignment:
    # Lead first, then the assignment: the same order routing and reassignment
    # lock in, so two of them on one lead wait for each other, never deadlock.
    lead_id = Assignment.objects.values_list("lead_id", flat=True).get(id=assignment_id)
    Lead.objects.select_for_update().filter(id=lead_id).first()
    return Assignment.objects.select_for_update(of=("self",)).select_related("rep", "lead").get(id=assignment_id)


def _require_status(assignment: Assignment, *allowed: str) -> None:
    if assignment.status not in allowed:
        labels = ", ".join(AssignmentStatus(status).label.lower() for status in allowed)
        raise ValidationError(
            {"status": f"The assignment is {assignment.get_status_display().lower()}; this needs it {labels}."}
        )


def _record(*, assignment: Assignment, kind: str, actor, notes: str = "", detail: dict | None = None, at=None):
    return Activity.objects.create(
        lead_id=assignment.lead_id,
        assignment=assignment,
        kind=kind,
        actor=actor,
        at=at or timezone.now(),
        notes=notes,
        detail=detail or {},
    )


def _close(assignment: Assignment, *, status: str, reason: str, now: datetime) -> None:
    assignment.status = status
    assignment.closed_at = now
    assignment.close_reason = reason[:500]
    assignment.save(update_fields=["status", "closed_at", "close_reason"])


def _move_stage(lead: Lead, *, to_stage: str, actor, reason: str) -> None:
    if lead.stage != to_stage:
        lead_stage_change(lead_id=lead.id, to_stage=to_stage, actor=actor, reason=reason)


@transaction.atomic
def assignment_accept(*, assignment_id: int, user) -> Assignment:
    """The rep takes the lead: it becomes accepted (SAL) and theirs."""
    assignment = _locked_assignment(assignment_id)
    check_can_work(user, assignment)
    _require_status(assignment, AssignmentStatus.OPEN)
    now = timezone.now()
    assignment.status = AssignmentStatus.ACCEPTED
    assignment.accepted_at = now
    assignment.save(update_fields=["status", "accepted_at"])
    lead = assignment.lead
    lead.owner_id = assignment.rep.user_id
    lead.save(update_fields=["owner", "updated_at"])
    _move_stage(lead, to_stage=Stage.ACCEPTED, actor=user, reason="Accepted by the assigned rep")
    _record(assignment=assignment, kind=ActivityKind.ACCEPTED, actor=user, at=now)
    return assignment


@transaction.atomic
def assignment_reject(*, assignment_id: int, user, reason: str) -> Assignment:
    """Not for sales now: the lead goes back to nurture, with the reason."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why the lead is rejected."})
    assignment = _locked_assignment(assignment_id)
    check_can_work(user, assignment)
    _require_status(assignment, AssignmentStatus.OPEN, AssignmentStatus.ACCEPTED)
    now = timezone.now()
    _close(assignment, status=AssignmentStatus.REJECTED, reason=reason, now=now)
    _move_stage(assignment.lead, to_stage=Stage.NURTURE, actor=user, reason=f"Rejected: {reason.strip()}")
    _record(assignment=assignment, kind=ActivityKind.REJECTED, actor=user, notes=reason.strip(), at=now)
    return assignment


@transaction.atomic
def activity_log(*, assignment_id: int, user, kind: str, notes: str = "", detail: dict | None = None) -> Activity:
    """A call, email, meeting or note. The assigned rep's first touch stops the SLA clock."""
    if kind not in LOGGABLE_KINDS:
        raise ValidationError({"kind": f"'{kind}' is not one of {', '.join(LOGGABLE_KINDS)}."})
    assignment = _locked_assignment(assignment_id)
    check_can_work(user, assignment)
    _require_status(assignment, AssignmentStatus.OPEN, AssignmentStatus.ACCEPTED)
    now = timezone.now()
    activity = _record(assignment=assignment, kind=kind, actor=user, notes=notes, detail=detail, at=now)
    is_own_touch = kind in TOUCH_KINDS and assignment.rep is not None and assignment.rep.user_id == user.id
    if is_own_touch and assignment.first_touch_at is None:
        assignment.first_touch_at = now
        assignment.save(update_fields=["first_touch_at"])
    return activity


def meeting_book(*, assignment_id: int, user, starts_at: datetime, notes: str = "") -> Activity:
    if starts_at is None:
        raise ValidationError({"starts_at": "When is the meeting?"})
    return activity_log(
        assignment_id=assignment_id,
        user=user,
        kind=ActivityKind.MEETING,
        notes=notes,
        detail={"starts_at": starts_at.isoformat()},
    )


@transaction.atomic
def lead_convert_to_sql(*, assignment_id: int, user, notes: str = "") -> Assignment:
    """Fit, need and timing checked: the lead is sales-qualified. The assignment's job is done."""
    assignment = _locked_assignment(assignment_id)
    check_can_work(user, assignment)
    _require_status(assignment, AssignmentStatus.OPEN, AssignmentStatus.ACCEPTED)
    now = timezone.now()
    lead = assignment.lead
    if lead.owner_id is None:
        lead.owner_id = assignment.rep.user_id
        lead.save(update_fields=["owner", "updated_at"])
    _close(assignment, status=AssignmentStatus.CLOSED, reason="Converted to SQL", now=now)
    _move_stage(lead, to_stage=Stage.SQL, actor=user, reason=notes.strip() or "Converted to SQL")
    _record(assignment=assignment, kind=ActivityKind.CONVERTED, actor=user, notes=notes, at=now)
    return assignment


@transaction.atomic
def lead_disqualify(*, assignment_id: int, user, reason: str) -> Assignment:
    if not reason.strip():
        raise ValidationError({"reason": "Say why the lead is disqualified."})
    assignment = _locked_assignment(assignment_id)
    check_can_work(user, assignment)
    _require_status(assignment, AssignmentStatus.OPEN, AssignmentStatus.ACCEPTED)
    now = timezone.now()
    _close(assignment, status=AssignmentStatus.CLOSED, reason=f"Disqualified: {reason.strip()}", now=now)
    _move_stage(assignment.lead, to_stage=Stage.DISQUALIFIED, actor=user, reason=reason.strip())
    _record(assignment=assignment, kind=ActivityKind.DISQUALIFIED, actor=user, notes=reason.strip(), at=now)
    return assignment


@transaction.atomic
def assignment_request_reassignment(*, assignment_id: int, user, reason: str) -> Assignment:
    """The rep asks their manager to give the lead to someone else (the manager decides)."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why the lead should go to someone else."})
    assignment = _locked_assignment(assignment_id)
    check_can_work(user, assignment)
    _require_status(assignment, AssignmentStatus.OPEN, AssignmentStatus.ACCEPTED)
    now = timezone.now()
    assignment.reassignment_requested_at = now
    assignment.reassignment_reason = reason.strip()[:500]
    assignment.save(update_fields=["reassignment_requested_at", "reassignment_reason"])
    _record(assignment=assignment, kind=ActivityKind.REASSIGNMENT_REQUESTED, actor=user, notes=reason.strip(), at=now)
    return assignment
