from rest_framework.permissions import BasePermission

from qualify_site.roles import user_roles


class HasQualifyRole(BasePermission):
    """Authenticated and in one of the four roles.

    What each role may see is decided by the selectors; this only turns away
    accounts that have no business in the API at all (403, not an empty list).
    """

    message = "Your account has no Qualify role."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and user_roles(request.user))
