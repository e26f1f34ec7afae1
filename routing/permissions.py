"""Who may act on an assignment: checked in every service, whatever interface calls it.

A rep acts only on their own assignments; a manager on their team's (reps whose
manager they are, or whose team they manage); admins on all; marketing ops on
none.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Q

from qualify_site.roles import Role, user_has_role
from routing.models import Assignment, Rep


def reps_managed_by(user):
    return Rep.objects.filter(Q(manager=user) | Q(team__manager=user))


def is_manager_of(user, rep: Rep | None) -> bool:
    if rep is None or not user_has_role(user, Role.MANAGER):
        return False
    return reps_managed_by(user).filter(id=rep.id).exists()


def can_manage(user, rep: Rep | None) -> bool:
    return user_has_role(user, Role.ADMIN) or is_manager_of(user, rep)


def check_can_work(user, assignment: Assignment) -> None:
    """The assigned rep, their manager or an admin."""
    if assignment.rep is not None and assignment.rep.user_id == user.id and user_has_role(user, Role.REP):
        return
    if can_manage(user, assignment.rep):
        return
    raise PermissionDenied("You can only act on your own assignments (managers: their team's).")


def check_can_manage(user, rep: Rep | None) -> None:
    if not can_manage(user, rep):
        raise PermissionDenied("Only the rep's manager or an admin can do this.")
