from rest_framework.permissions import BasePermission

from insights.selectors.access import insights_readable_by


class ReadsInsights(BasePermission):
    message = "Only managers, marketing ops and admins read insights."

    def has_permission(self, request, view) -> bool:
        return insights_readable_by(request.user)
