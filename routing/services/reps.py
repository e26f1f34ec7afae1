"""Managers shape who can take leads: capacity, out of office, queue membership."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from routing.engine import QueueMember as EngineMember
from routing.engine import starting_assigned_count
from routing.models import OutOfOffice, Queue, QueueMember, Rep
from routing.permissions import check_can_manage, check_can_manage_as_saved


def _check_capacity(capacity) -> None:
    if not isinstance(capacity, int) or capacity < 0 or capacity > 10_000:
        raise ValidationError({"capacity": "Capacity is a whole number of open assignments, 0 to 10,000."})


def _check_period(starts_at: datetime | None, ends_at: datetime | None) -> None:
    if starts_at is None or ends_at is None or ends_at <= starts_at:
        raise ValidationError({"ends_at": "The out-of-office period must end after it starts."})


@transaction.atomic
def rep_capacity_set(*, rep_id: int, capacity: int, user) -> Rep:
    rep = Rep.objects.select_for_update().get(id=rep_id)
    check_can_manage(user, rep)
    _check_capacity(capacity)
    rep.capacity = capacity
    rep.save(update_fields=["capacity"])
    return rep


@transaction.atomic
def rep_save(*, rep: Rep, user) -> Rep:
    """Create or change a rep's whole profile (the admin's form), under the rules of
    `rep_capacity_set`: the user manages the rep as stored and as saved."""
    if rep.pk is not None:
        check_can_manage(user, Rep.objects.select_for_update().get(id=rep.pk))
    check_can_manage_as_saved(user, rep)
    _check_capacity(rep.capacity)
    rep.save()
    return rep


@transaction.atomic
def rep_out_of_office_add(*, rep_id: int, starts_at: datetime, ends_at: datetime, note: str = "", user) -> OutOfOffice:
    rep = Rep.objects.get(id=rep_id)
    check_can_manage(user, rep)
    _check_period(starts_at, ends_at)
    return OutOfOffice.objects.create(rep=rep, starts_at=starts_at, ends_at=ends_at, note=note[:200], created_by=user)


def _locked_absence(out_of_office_id: int, user) -> OutOfOffice:
    absence = OutOfOffice.objects.select_for_update(of=("self",)).select_related("rep").get(id=out_of_office_id)
    check_can_manage(user, absence.rep)
    return absence


@transaction.atomic
def rep_out_of_office_change(
    *, out_of_office_id: int, starts_at: datetime, ends_at: datetime, note: str = "", user
) -> OutOfOffice:
    absence = _locked_absence(out_of_office_id, user)
    _check_period(starts_at, ends_at)
    absence.starts_at, absence.ends_at, absence.note = starts_at, ends_at, note[:200]
    absence.save(update_fields=["starts_at", "ends_at", "note"])
    return absence


@transaction.atomic
def rep_out_of_office_remove(*, out_of_office_id: int, user) -> None:
    _locked_absence(out_of_office_id, user).delete()


@transaction.atomic
def queue_member_add(*, queue_id: int, rep_id: int, weight: int | None = None, user=None) -> QueueMember:
    """Join a rep to a queue's rotation at the current fair point: neither a flood
    of catch-up leads nor a wait behind everyone (routing.engine.rotation).

    A person (`user`) must manage the rep: a queue draws on its members' capacity.
    Without a user it is the system setting up (the demo world)."""
    queue = Queue.objects.select_for_update().get(id=queue_id)
    rep = Rep.objects.get(id=rep_id)
    if user is not None:
        check_can_manage(user, None, queue=queue)
        check_can_manage(user, rep)
    others = [
        EngineMember(rep_id=m.rep_id, assigned_count=m.assigned_count, weight=m.weight or m.rep.weight)
        for m in QueueMember.objects.filter(queue=queue, is_active=True).exclude(rep=rep).select_related("rep")
    ]
    start = starting_assigned_count(others, weight or rep.weight, strategy=queue.strategy)
    member, _ = QueueMember.objects.update_or_create(
        queue=queue, rep=rep, defaults={"weight": weight, "assigned_count": start, "is_active": True}
    )
    return member
