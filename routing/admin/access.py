"""Who may do what in routing's admin, by role (the rules are in routing/admin/__init__.py).

The mixins every routing ModelAdmin and inline takes: RoleAccess (view and edit by role),
ReadOnly (records of what happened), TeamRows and TeamRowsInline (a manager edits their own
team's rows, admins any).
"""

from django.core.exceptions import PermissionDenied

from qualify_site.roles import Role, user_has_role
from routing.models import Team
from routing.permissions import manages_team

CONFIGURE = (Role.ADMIN, Role.MANAGER)
READ_CONFIGURATION = (Role.ADMIN, Role.MANAGER, Role.MARKETING_OPS)


class RoleAccess:
    """Permissions by role for a ModelAdmin or an inline (see routing/admin/__init__.py)."""

    view_roles = READ_CONFIGURATION
    edit_roles = CONFIGURE

    def has_module_permission(self, request):
        return user_has_role(request.user, *self.view_roles)

    def has_view_permission(self, request, obj=None):
        return user_has_role(request.user, *self.view_roles)

    def has_add_permission(self, request, *args):
        return user_has_role(request.user, *self.edit_roles)

    def has_change_permission(self, request, obj=None):
        return user_has_role(request.user, *self.edit_roles)

    def has_delete_permission(self, request, obj=None):
        return user_has_role(request.user, *self.edit_roles)


class ReadOnly(RoleAccess):
    edit_roles = ()


class TeamRows(RoleAccess):
    """Rows that belong to a team: a manager changes and deletes their own team's, admins any."""

    def row_team_id(self, obj) -> int | None:
        raise NotImplementedError

    def may_edit_row(self, user, obj) -> bool:
        return user_has_role(user, Role.ADMIN) or manages_team(user, self.row_team_id(obj))

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or self.may_edit_row(request.user, obj))

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or self.may_edit_row(request.user, obj))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # A manager's new or moved rows land in their own team: offer only those choices.
        if db_field.name in self.team_choice_fields and not user_has_role(request.user, Role.ADMIN):
            kwargs["queryset"] = self.team_choice_fields[db_field.name](request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    team_choice_fields: dict = {}

    def save_model(self, request, obj, form, change):
        # Checked again on the row as stored and as saved: list_editable saves rows without
        # asking has_change_permission(obj), and a form could move a row to another team.
        stored = type(obj).objects.get(pk=obj.pk) if change else None
        if (stored and not self.may_edit_row(request.user, stored)) or not self.may_edit_row(request.user, obj):
            raise PermissionDenied
        super().save_model(request, obj, form, change)


class TeamRowsInline(RoleAccess):
    """An inline is as editable as the team row it belongs to."""

    def _parent_editable(self, request, obj) -> bool:
        return obj is None or self.admin_site._registry[self.parent_model].may_edit_row(request.user, obj)

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and self._parent_editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._parent_editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._parent_editable(request, obj)


def managed_teams(user):
    return Team.objects.filter(manager=user)
