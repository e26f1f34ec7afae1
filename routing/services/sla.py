"""The SLA sweep: flag at-risk and breached first touches, notify, escalate, reassign.

Each assignment is claimed with a conditional UPDATE (`... WHERE breached_at IS
NULL`): when the sweep runs twice, or two beat processes run, exactly one of
them claims it, and SlaEvent's unique (assignment, kind) records it once.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from leads.services.stages import TERMINAL_STAGES
from routing.models import (
    Activity,
    ActivityKind,
    Assignment,
    AssignmentStatus,
    BreachAction,
    SlaEvent,
    SlaEventKind,
)
from routing.services.assignment_rows import notify_on_commit
from routing.services.assignments import assignment_reassign_to_next
from routing.services.notices import notices_resend

logger = logging.getLogger(__name__)

UNTOUCHED_STATUSES = (AssignmentStatus.OPEN, AssignmentStatus.ACCEPTED)
SWEEP_BATCH = 500


@dataclass(frozen=True)
class SweepResult:
    at_risk: tuple[int, ...]
    breached: tuple[int, ...]
    escalated: tuple[int, ...]
    reassigned: tuple[int, ...]
    notices_resent: int = 0


def _untouched():
    # A won, lost or disqualified lead's assignment left open (moved before stage moves closed it)
    # has no SLA: its reassignment is refused, and nobody should be told to touch it.
    return Assignment.objects.filter(status__in=UNTOUCHED_STATUSES, first_touch_at__isnull=True).exclude(
        lead__stage__in=TERMINAL_STAGES
    )


def _record_once(*, assignment_id: int, kind: str, at: datetime, detail: dict | None = None) -> bool:
    try:
        with transaction.atomic():
            SlaEvent.objects.create(assignment_id=assignment_id, kind=kind, at=at, detail=detail or {})
    except IntegrityError:
        return False
    return True


def _claim(field: str, *, assignment_id: int, now: datetime) -> bool:
    """Set `field` to now unless someone already did: one winner per assignment."""
    return bool(_untouched().filter(id=assignment_id, **{f"{field}__isnull": True}).update(**{field: now}))


def sla_sweep(*, now: datetime | None = None) -> SweepResult:
    now = now or timezone.now()
    at_risk, breached, escalated, reassigned = [], [], [], []
    # First the notices whose task was lost, so the ones this sweep records are not among them.
    notices_resent = notices_resend(now=now)

    # The batch is cut in SQL: a backlog is not read whole to keep SWEEP_BATCH of it.
    warn_ids = list(
        _untouched()
        .filter(warn_at__lte=now, at_risk_at__isnull=True, due_at__gt=now)
        .values_list("id", flat=True)[:SWEEP_BATCH]
    )
    for assignment_id in warn_ids:
        with transaction.atomic():
            if _claim("at_risk_at", assignment_id=assignment_id, now=now):
                _record_once(assignment_id=assignment_id, kind=SlaEventKind.AT_RISK, at=now)
                at_risk.append(assignment_id)
                notify_on_commit("at_risk", assignment_id)

    due_ids = list(
        _untouched().filter(due_at__lte=now, breached_at__isnull=True).values_list("id", flat=True)[:SWEEP_BATCH]
    )
    for assignment_id in due_ids:
        with transaction.atomic():
            if not _claim("breached_at", assignment_id=assignment_id, now=now):
                continue
            assignment = Assignment.objects.select_related("sla_policy", "rep").get(id=assignment_id)
            _record_once(assignment_id=assignment_id, kind=SlaEventKind.BREACHED, at=now)
            Activity.objects.create(
                lead_id=assignment.lead_id,
                assignment=assignment,
                kind=ActivityKind.SLA,
                at=now,
                notes=f"First touch was due {assignment.due_at:%Y-%m-%d %H:%M} UTC: SLA breached.",
            )
            breached.append(assignment_id)
            notify_on_commit("breached", assignment_id)
            action = assignment.sla_policy.on_breach if assignment.sla_policy else BreachAction.NOTIFY
            if action in (BreachAction.ESCALATE, BreachAction.REASSIGN) and _record_once(
                assignment_id=assignment_id, kind=SlaEventKind.ESCALATED, at=now
            ):
                escalated.append(assignment_id)
                notify_on_commit("escalated", assignment_id)
            if action == BreachAction.REASSIGN and _record_once(
                assignment_id=assignment_id, kind=SlaEventKind.REASSIGNED, at=now
            ):
                new_assignment = assignment_reassign_to_next(
                    assignment_id=assignment_id, actor=None, reason="SLA breached"
                )
                if new_assignment is not None:
                    reassigned.append(assignment_id)
    if breached:
        logger.warning(
            "SLA sweep: %s breached, %s escalated, %s reassigned", len(breached), len(escalated), len(reassigned)
        )
    return SweepResult(tuple(at_risk), tuple(breached), tuple(escalated), tuple(reassigned), notices_resent)
