"""The sales org in the admin: teams, territories, holiday calendars, reps and queues.

Rep profiles, absences and new queue members are saved through routing.services.reps.
"""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, Q

from qualify_site.admin_site import ServiceRefusalAdmin, service_refusals
from qualify_site.roles import Role
from routing.admin.access import RoleAccess, TeamRows, TeamRowsInline, managed_teams
from routing.engine import WorkingHours
from routing.models import Holiday, HolidayCalendar, OutOfOffice, Queue, QueueMember, Rep, Team, Territory
from routing.permissions import can_manage
from routing.services.reps import (
    queue_member_add,
    rep_out_of_office_add,
    rep_out_of_office_change,
    rep_out_of_office_remove,
    rep_save,
)


def _json_list_of_strings(value, label: str) -> list:
    if value in (None, ""):
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise ValidationError(f'{label} must be a list of names, e.g. ["DE", "AT"].')
    return [item.strip() for item in value]


@admin.register(Team)
class TeamAdmin(RoleAccess, admin.ModelAdmin):
    # Who manages which team is what every manager's rights derive from.
    edit_roles = (Role.ADMIN,)
    list_display = ["name", "manager"]
    search_fields = ["name"]
    raw_id_fields = ["manager"]


class TerritoryForm(forms.ModelForm):
    class Meta:
        model = Territory
        fields = ["name", "countries", "regions", "industries", "employee_min", "employee_max"]

    def clean_countries(self):
        return [code.upper() for code in _json_list_of_strings(self.cleaned_data["countries"], "Countries")]

    def clean_regions(self):
        return _json_list_of_strings(self.cleaned_data["regions"], "Regions")

    def clean_industries(self):
        return _json_list_of_strings(self.cleaned_data["industries"], "Industries")


@admin.register(Territory)
class TerritoryAdmin(RoleAccess, admin.ModelAdmin):
    form = TerritoryForm
    list_display = ["name", "countries", "regions", "industries", "employee_min", "employee_max"]
    search_fields = ["name"]


class HolidayInline(RoleAccess, admin.TabularInline):
    model = Holiday
    extra = 1


@admin.register(HolidayCalendar)
class HolidayCalendarAdmin(RoleAccess, admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]
    inlines = [HolidayInline]


class RepForm(forms.ModelForm):
    class Meta:
        model = Rep
        fields = [
            "user",
            "team",
            "manager",
            "territories",
            "segments",
            "capacity",
            "weight",
            "time_zone",
            "working_hours",
            "holiday_calendar",
            "is_active",
        ]

    def clean_time_zone(self):
        name = self.cleaned_data["time_zone"].strip()
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(f"'{name}' is not a time zone; use an IANA name such as Europe/Berlin.") from None
        return name

    def clean_working_hours(self):
        hours = self.cleaned_data["working_hours"]
        if not isinstance(hours, dict):
            raise ValidationError('Working hours are an object by weekday, e.g. {"0": [["09:00", "17:00"]]}.')
        try:
            parsed = WorkingHours.parse(hours)
        except (ValueError, TypeError) as error:
            raise ValidationError(f"Working hours: {error}.") from None
        # A rep who never works would get assignments no SLA clock can time.
        if not any(parsed.days):
            raise ValidationError("Working hours need at least one interval in the week.")
        return hours


class OutOfOfficeInline(TeamRowsInline, admin.TabularInline):
    model = OutOfOffice
    extra = 0
    fields = ["starts_at", "ends_at", "note", "created_by"]
    readonly_fields = ["created_by"]


@admin.register(Rep)
class RepAdmin(ServiceRefusalAdmin, TeamRows, admin.ModelAdmin):
    form = RepForm
    list_display = ["__str__", "team", "manager", "capacity", "weight", "time_zone", "is_active"]
    list_filter = ["team", "is_active", "time_zone"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "user__email"]
    list_select_related = ["user", "team", "manager"]
    raw_id_fields = ["user", "manager"]
    filter_horizontal = ["territories"]
    inlines = [OutOfOfficeInline]
    team_choice_fields = {"team": managed_teams}

    def may_edit_row(self, user, obj) -> bool:
        # The rep's own manager counts too, as in routing.permissions.
        return can_manage(user, obj)

    def save_model(self, request, obj, form, change):
        with service_refusals():
            rep_save(rep=obj, user=request.user)

    def save_formset(self, request, form, formset, change):
        if formset.model is not OutOfOffice:
            super().save_formset(request, form, formset, change)
            return
        with service_refusals():
            for absence in formset.save(commit=False):
                period = {"starts_at": absence.starts_at, "ends_at": absence.ends_at, "note": absence.note}
                if absence.pk is None:
                    rep_out_of_office_add(rep_id=form.instance.id, user=request.user, **period)
                else:
                    rep_out_of_office_change(out_of_office_id=absence.pk, user=request.user, **period)
            for absence in formset.deleted_objects:
                rep_out_of_office_remove(out_of_office_id=absence.pk, user=request.user)


class QueueMemberInline(TeamRowsInline, admin.TabularInline):
    model = QueueMember
    extra = 1
    fields = ["rep", "weight", "is_active", "assigned_count", "last_assigned_at", "joined_at"]
    readonly_fields = ["assigned_count", "last_assigned_at", "joined_at"]
    raw_id_fields = ["rep"]


@admin.register(Queue)
class QueueAdmin(ServiceRefusalAdmin, TeamRows, admin.ModelAdmin):
    list_display = ["name", "team", "strategy", "is_fallback", "member_count"]
    list_filter = ["strategy", "team", "is_fallback"]
    search_fields = ["name"]
    inlines = [QueueMemberInline]
    team_choice_fields = {"team": managed_teams}

    def row_team_id(self, obj) -> int | None:
        # A queue of no team (the fallback) is every team's: the admins'.
        return obj.team_id

    def get_queryset(self, request):
        # Counted in the list's one query, not one query per queue.
        active = Count("memberships", filter=Q(memberships__is_active=True))
        return super().get_queryset(request).annotate(active_member_count=active)

    @admin.display(description="Members")
    def member_count(self, obj) -> int:
        return obj.active_member_count

    def has_delete_permission(self, request, obj=None):
        # Unmatched leads go to the fallback queue: it is not deleted here (routing would recreate it).
        if obj is not None and obj.is_fallback:
            return False
        return super().has_delete_permission(request, obj)

    def save_formset(self, request, form, formset, change):
        """New members join through `queue_member_add`, at the rotation's fair point (a
        plain insert would start them at 0 and hand them every lead until they caught up)."""
        if formset.model is not QueueMember:
            super().save_formset(request, form, formset, change)
            return
        for member in formset.save(commit=False):
            if member.pk is None:
                with service_refusals():
                    joined = queue_member_add(
                        queue_id=form.instance.id, rep_id=member.rep_id, weight=member.weight, user=request.user
                    )
                if not member.is_active:
                    QueueMember.objects.filter(id=joined.id).update(is_active=False)
            else:
                member.save()
        for member in formset.deleted_objects:
            member.delete()
