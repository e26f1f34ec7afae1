"""The four roles. A role is a Django group; admins are superusers or in the Admin group.

Role checks happen on the server, in permission classes and selectors, never
only in templates.
"""

from enum import StrEnum


class Role(StrEnum):
    REP = "Sales rep"
    MANAGER = "Sales manager"
    MARKETING_OPS = "Marketing ops"
    ADMIN = "Admin"


def user_roles(user) -> set[Role]:
    if not user.is_authenticated:
        return set()
    # Cached on the instance: a request asks several times.
    cached = getattr(user, "_qualify_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = {role for role in Role if role.value in names}
        if user.is_superuser:
            cached.add(Role.ADMIN)
        user._qualify_roles = cached
    return cached


def user_has_role(user, *roles: Role) -> bool:
    return bool(user_roles(user) & set(roles))


def user_sees_all_leads(user) -> bool:
    """Managers, marketing ops and admins see every lead; a rep only their own."""
    return user_has_role(user, Role.MANAGER, Role.MARKETING_OPS, Role.ADMIN)
