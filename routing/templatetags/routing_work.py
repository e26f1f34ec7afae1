"""A rep's open assignments, listed on the pages a rep lands on until the queue page exists.

A template tag, so the stage definitions page (scoring, a layer below routing)
shows the list without scoring's code importing routing.
"""

from django import template

from qualify_site.roles import Role, user_has_role
from routing.models import ACTIVE_ASSIGNMENT_STATUSES
from routing.selectors import assignment_list

register = template.Library()


@register.inclusion_tag("routing/my_open_assignments.html", takes_context=True)
def my_open_assignments(context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user_has_role(user, Role.REP):
        return {"is_rep": False}
    # The same selector as /api/routing/assignments/, narrowed to the rep's own open work.
    assignments = (
        assignment_list(user=user)
        .filter(rep__user=user, status__in=ACTIVE_ASSIGNMENT_STATUSES)
        .order_by("due_at", "id")
    )
    return {"is_rep": True, "assignments": list(assignments)}
