"""Managers shape who can take leads: capacity, out of office, queue membership."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from routing.engine import QueueMember as EngineMember
from routing.engine import starting_assigned_count
from routing.models import OutOfOffice, Queue, QueueMember, Rep
from routing.permissions import check_can_manage
from routing.selectors import STRATEGY_FOR_ENGINE


@transaction.atomic
def rep_capacity_set(*, rep_id: int, capacity: int, user) -> Rep:
    rep = Rep.objects.select_for_update().get(id=rep_id)
    check_can_manage(user, rep)
    if not isinstance(capacity, int) or capacity < 0 or capacity > 10_000:
        raise ValidationError({"capacity": "Capacity is a whole number of open assignments, 0 to 10,000."})
    rep.capacity = capacity
    rep.save(update_fields=["capacity"])
    return rep


@transaction.atomic
def rep_out_of_office_add(*, rep_id: int, starts_at: datetime, ends_at: datetime, note: str = "", user) -> OutOfOffice:
    rep = Rep.objects.get(id=rep_id)
    check_can_manage(user, rep)
    if starts_at is None or ends_at is None or ends_at <= starts_at:
        raise ValidationError({"ends_at": "The out-of-office period must end after it starts."})
    return OutOfOffice.objects.create(rep=rep, starts_at=starts_at, ends_at=ends_at, note=note[:200], created_by=user)


@transaction.atomic
def queue_member_add(*, queue_id: int, rep_id: int, weight: int | None = None) -> QueueMember:
    """Join a rep to a queue's rotation at the current fair point: neither a flood
    of catch-up leads nor a wait behind everyone (routing.engine.rotation)."""
    queue = Queue.objects.select_for_update().get(id=queue_id)
    rep = Rep.objects.get(id=rep_id)
    others = [
        EngineMember(rep_id=m.rep_id, assigned_count=m.assigned_count, weight=m.weight or m.rep.weight)
        for m in QueueMember.objects.filter(queue=queue, is_active=True).exclude(rep=rep).select_related("rep")
    ]
    start = starting_assigned_count(others, weight or rep.weight, strategy=STRATEGY_FOR_ENGINE[queue.strategy])
    member, _ = QueueMember.objects.update_or_create(
        queue=queue, rep=rep, defaults={"weight": weight, "assigned_count": start, "is_active": True}
    )
    return member
