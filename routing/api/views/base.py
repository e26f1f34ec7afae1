"""What the routing API views share: who may call them (by role), the input read, and service
errors as API answers (ValidationError: 400 naming the field; a missing row: 404; PermissionDenied
is DRF's own 403)."""

from contextlib import contextmanager

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import serializers
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.views import APIView

from leads.api.permissions import HasQualifyRole
from qualify_site.roles import Role, user_has_role


def _roles_allowed(*roles: Role, message: str) -> type[BasePermission]:
    class RolesAllowed(BasePermission):
        def has_permission(self, request, view) -> bool:
            return user_has_role(request.user, *roles)

    RolesAllowed.message = message
    return RolesAllowed


# Marketing ops shape rules and read decisions; they never work or move leads (issue 4).
WorksAssignments = _roles_allowed(
    Role.REP, Role.MANAGER, Role.ADMIN, message="Only reps, their managers and admins work assignments."
)
ManagesRouting = _roles_allowed(Role.MANAGER, Role.ADMIN, message="Only managers and admins can do this.")
PreviewsRouting = _roles_allowed(
    Role.MANAGER, Role.MARKETING_OPS, Role.ADMIN, message="Only managers, marketing ops and admins preview routing."
)


@contextmanager
def service_errors():
    """Service exceptions as API answers; PermissionDenied is DRF's own 403."""
    try:
        yield
    except DjangoValidationError as error:
        detail = error.message_dict if hasattr(error, "error_dict") else {"non_field_errors": error.messages}
        raise serializers.ValidationError(detail) from error
    except ObjectDoesNotExist as error:
        raise Http404 from error


class RoutingApi(APIView):
    permission_classes = [IsAuthenticated, HasQualifyRole, WorksAssignments]


def validated_input(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
