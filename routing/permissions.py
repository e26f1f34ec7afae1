"""Who may act on an assignment: checked in every service, whatever interface calls it.

A rep acts only on their own assignments; a manager on their team's (reps whose
manager they are, or whose team they manage); admins on all; marketing ops on
none.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Q

from qualify_site.roles import Role, user_has_role
from routing.models import Assignment, Rep, Team


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


def manages_queue(user, queue) -> bool:
    """A lead waiting in a queue (no rep yet) belongs to the queue's team manager."""
    return (
        queue is not None
        and queue.team_id is not None
        and user_has_role(user, Role.MANAGER)
        and queue.team.manager_id == user.id
    )


def check_can_manage(user, rep: Rep | None, *, queue=None) -> None:
    if can_manage(user, rep):
        return
    if rep is None and manages_queue(user, queue):
        return
    raise PermissionDenied("Only the rep's manager or an admin can do this.")


def manages_team(user, team_id: int | None) -> bool:
    return (
        team_id is not None
        and user_has_role(user, Role.MANAGER)
        and Team.objects.filter(id=team_id, manager_id=user.id).exists()
    )


def check_can_manage_as_saved(user, rep: Rep) -> None:
    """The rep as it is about to be saved (team and manager not yet in the database) is still
    the user's: a manager neither reaches into another team nor hands a rep to one."""
    if user_has_role(user, Role.ADMIN):
        return
    if user_has_role(user, Role.MANAGER) and (rep.manager_id == user.id or manages_team(user, rep.team_id)):
        return
    raise PermissionDenied("A manager keeps their reps in their own team: set yourself or your team.")
