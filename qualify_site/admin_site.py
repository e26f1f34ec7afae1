"""The Django admin's front door, and how its pages report a service's refusal.

Only managers, marketing ops and admins work in the admin (README, "Roles").
A rep works in the app, and a staff flag given by mistake, or a staff account
with no role at all, opens nothing here: the same rule as the API's
HasQualifyRole. What each role may do inside is decided per ModelAdmin and
written down, role by role, in tests/test_admin_site.py.
"""

from contextlib import contextmanager

from django.contrib import admin, messages
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect

from qualify_site.roles import Role, user_has_role

ADMIN_ROLES = (Role.MANAGER, Role.MARKETING_OPS, Role.ADMIN)


class QualifyAdminSite(admin.AdminSite):
    site_header = "Qualify administration"
    site_title = "Qualify administration"
    index_title = "Administration"
    # "View site" in the admin's header goes back to the app.
    site_url = "/"

    def has_permission(self, request):
        user = request.user
        return user.is_active and user.is_staff and user_has_role(user, *ADMIN_ROLES)


class QualifyAdminConfig(AdminConfig):
    """django.contrib.admin (in INSTALLED_APPS) with QualifyAdminSite as admin.site."""

    default_site = "qualify_site.admin_site.QualifyAdminSite"


class ServiceRefused(Exception):
    """A service said no after the form validated; see ServiceRefusalAdmin."""


@contextmanager
def service_refusals():
    """Inside save_model or save_formset: a service's PermissionDenied or ValidationError
    undoes the whole save (the admin wraps it in a transaction) and becomes a message."""
    try:
        yield
    except (PermissionDenied, ValidationError) as error:
        raise ServiceRefused(" ".join(getattr(error, "messages", None) or [str(error)])) from error


class ServiceRefusalAdmin:
    """A ModelAdmin mixin: a refusal raised through `service_refusals` shows an error
    message on the same page, nothing saved, instead of a 500."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refusal:
            self.message_user(request, f"Nothing was saved: {refusal}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
