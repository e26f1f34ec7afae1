"""Routing in the admin: the sales org, queues, rules and SLAs; assignments and the audit.

Who may do what here is decided by role, not by Django model permissions:
admins and sales managers configure routing, marketing ops read the
configuration and the decisions (they shape the scoring that feeds the rules)
but never the work on leads. A manager acts on their own team only, as in the
API: their team's reps (capacity, out of office, the rest of the profile, all
through routing.services.reps), queues and the rules that feed those queues;
other teams' rows are read-only to them. Teams themselves (who manages whom,
which every other check derives from) are the admins'. Territories, holiday
calendars and SLA policies are shared by every team. Records of what happened
(assignments, decisions, SLA events, activities) are read-only for everyone;
they change only through the services. The whole matrix, role by role, is
tested in tests/test_admin_site.py.
"""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path
from django.views.decorators.http import require_POST

from conditions.describe import describe_condition
from leads.models import Lead, Stage
from qualify_site.admin_site import ServiceRefusalAdmin, service_refusals
from qualify_site.roles import Role, user_has_role
from routing.engine import RoutingRule as EngineRule
from routing.engine import WorkingHours, validate_rule
from routing.models import (
    Activity,
    Assignment,
    AssignmentStatus,
    Holiday,
    HolidayCalendar,
    OutOfOffice,
    Queue,
    QueueMember,
    Rep,
    RoutingDecision,
    RoutingRule,
    RoutingTrigger,
    SlaEvent,
    SlaPolicy,
    Team,
    Territory,
)
from routing.permissions import can_manage, manages_team
from routing.selectors.policy import leads_without_active_assignment
from routing.selectors.visibility import assignments_visible_to, route_preview_details
from routing.services.assignments import assignment_reassign_to_next, lead_route_preview, leads_route
from routing.services.reps import (
    queue_member_add,
    rep_out_of_office_add,
    rep_out_of_office_change,
    rep_out_of_office_remove,
    rep_save,
)

CONFIGURE = (Role.ADMIN, Role.MANAGER)
READ_CONFIGURATION = (Role.ADMIN, Role.MANAGER, Role.MARKETING_OPS)
ROLE_LABELS = {"account_owner": "account owner", "account_rep": "works the account", "queue_member": "queue member"}
# Re-routing runs in the request: bounded, and the page says how many are left.
REROUTE_BATCH = 500


class _RoleAccess:
    """Permissions by role for a ModelAdmin or an inline (see the module docstring)."""

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


class _ReadOnly(_RoleAccess):
    edit_roles = ()


class _TeamRows(_RoleAccess):
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


class _TeamRowsInline(_RoleAccess):
    """An inline is as editable as the team row it belongs to."""

    def _parent_editable(self, request, obj) -> bool:
        return obj is None or self.admin_site._registry[self.parent_model].may_edit_row(request.user, obj)

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and self._parent_editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._parent_editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._parent_editable(request, obj)


def _managed_teams(user):
    return Team.objects.filter(manager=user)


def _json_list_of_strings(value, label: str) -> list:
    if value in (None, ""):
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise ValidationError(f'{label} must be a list of names, e.g. ["DE", "AT"].')
    return [item.strip() for item in value]


# --- the sales org ------------------------------------------------------------------------


@admin.register(Team)
class TeamAdmin(_RoleAccess, admin.ModelAdmin):
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
class TerritoryAdmin(_RoleAccess, admin.ModelAdmin):
    form = TerritoryForm
    list_display = ["name", "countries", "regions", "industries", "employee_min", "employee_max"]
    search_fields = ["name"]


class HolidayInline(_RoleAccess, admin.TabularInline):
    model = Holiday
    extra = 1


@admin.register(HolidayCalendar)
class HolidayCalendarAdmin(_RoleAccess, admin.ModelAdmin):
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


class OutOfOfficeInline(_TeamRowsInline, admin.TabularInline):
    model = OutOfOffice
    extra = 0
    fields = ["starts_at", "ends_at", "note", "created_by"]
    readonly_fields = ["created_by"]


@admin.register(Rep)
class RepAdmin(ServiceRefusalAdmin, _TeamRows, admin.ModelAdmin):
    form = RepForm
    list_display = ["__str__", "team", "manager", "capacity", "weight", "time_zone", "is_active"]
    list_filter = ["team", "is_active", "time_zone"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "user__email"]
    list_select_related = ["user", "team", "manager"]
    raw_id_fields = ["user", "manager"]
    filter_horizontal = ["territories"]
    inlines = [OutOfOfficeInline]
    team_choice_fields = {"team": _managed_teams}

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


class QueueMemberInline(_TeamRowsInline, admin.TabularInline):
    model = QueueMember
    extra = 1
    fields = ["rep", "weight", "is_active", "assigned_count", "last_assigned_at", "joined_at"]
    readonly_fields = ["assigned_count", "last_assigned_at", "joined_at"]
    raw_id_fields = ["rep"]


@admin.register(Queue)
class QueueAdmin(ServiceRefusalAdmin, _TeamRows, admin.ModelAdmin):
    list_display = ["name", "team", "strategy", "is_fallback", "member_count"]
    list_filter = ["strategy", "team", "is_fallback"]
    search_fields = ["name"]
    inlines = [QueueMemberInline]
    team_choice_fields = {"team": _managed_teams}

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


# --- rules and SLAs -----------------------------------------------------------------------


class RoutingRuleForm(forms.ModelForm):
    class Meta:
        model = RoutingRule
        fields = ["name", "position", "is_active", "condition", "territory", "queue", "priority"]

    def clean(self):
        cleaned = super().clean()
        condition = cleaned.get("condition")
        queue = cleaned.get("queue")
        if "condition" in self.errors or queue is None:
            return cleaned
        rule = EngineRule(
            id=self.instance.pk,
            name=cleaned.get("name") or "",
            position=cleaned.get("position") or 0,
            queue_id=queue.id,
            condition=condition or None,
            priority=cleaned.get("priority") or "normal",
        )
        if condition not in (None, {}, "") and not isinstance(condition, dict):
            self.add_error("condition", 'A condition is an object, e.g. {"field": "lead.country", "op": "eq", ...}.')
            return cleaned
        for problem in validate_rule(rule):
            # The engine words each problem; the ones about the condition belong on that field.
            self.add_error("condition" if ": condition" in problem else None, problem)
        return cleaned


@admin.register(RoutingRule)
class RoutingRuleAdmin(_TeamRows, admin.ModelAdmin):
    form = RoutingRuleForm
    list_display = ["position", "name", "is_active", "queue", "territory", "priority", "condition_in_words"]
    list_display_links = ["name"]
    list_editable = ["position", "is_active"]
    list_filter = ["is_active", "queue", "priority"]
    list_select_related = ["queue", "territory"]
    search_fields = ["name"]
    ordering = ["position", "id"]
    team_choice_fields = {"queue": lambda user: Queue.objects.filter(team__manager=user)}

    def row_team_id(self, obj) -> int | None:
        # A rule belongs to the team whose queue it feeds.
        return obj.queue.team_id if obj.queue_id else None

    @admin.display(description="Condition")
    def condition_in_words(self, obj) -> str:
        return describe_condition(obj.condition) if obj.condition else "every lead"

    def get_urls(self):
        custom = [
            path("reroute/", self.admin_site.admin_view(require_POST(self.reroute_view)), name="routing_reroute"),
        ]
        return custom + super().get_urls()

    def reroute_view(self, request):
        """After rules change: route the MQL and PQL leads that have no active assignment."""
        if not user_has_role(request.user, *CONFIGURE):
            raise PermissionDenied
        unassigned = leads_without_active_assignment().filter(stage__in=[Stage.MQL, Stage.PQL])
        total = unassigned.count()
        lead_ids = list(unassigned.order_by("id").values_list("id", flat=True)[:REROUTE_BATCH])
        routed = leads_route(lead_ids=lead_ids, trigger=RoutingTrigger.REROUTE, actor=request.user)
        with_rep = sum(1 for assignment in routed if assignment.rep_id)
        left = total - len(lead_ids)
        self.message_user(
            request,
            f"Routed {len(routed)} of {total} unassigned MQL/PQL leads: {with_rep} to a rep, "
            f"{len(routed) - with_rep} waiting in their queue."
            + (f" {left} more left: run it again." if left > 0 else ""),
            messages.SUCCESS,
        )
        return redirect("admin:routing_routingrule_changelist")


@admin.register(SlaPolicy)
class SlaPolicyAdmin(_RoleAccess, admin.ModelAdmin):
    list_display = ["name", "stage", "priority", "first_touch_minutes", "warning_minutes", "on_breach"]
    list_filter = ["stage", "priority", "on_breach"]


# --- what happened: read-only -------------------------------------------------------------


@admin.register(Assignment)
class AssignmentAdmin(_ReadOnly, admin.ModelAdmin):
    # Work on leads: not for marketing ops (issue 4).
    view_roles = CONFIGURE
    list_display = [
        "lead",
        "rep",
        "queue",
        "status",
        "priority",
        "due_at",
        "is_at_risk",
        "is_breached",
        "is_waiting",
        "reassignment_requested",
    ]
    list_filter = [
        "status",
        "priority",
        "queue",
        "rep__team",
        ("at_risk_at", admin.EmptyFieldListFilter),
        ("breached_at", admin.EmptyFieldListFilter),
        ("reassignment_requested_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["lead__email", "rep__user__username", "rep__user__last_name"]
    list_select_related = ["lead", "rep", "rep__user", "queue"]
    date_hierarchy = "assigned_at"
    ordering = ["due_at", "id"]
    actions = ["reassign_to_next"]

    def get_queryset(self, request):
        # A manager sees their team's work here as in the API (and the fallback queue's waiting leads).
        return super().get_queryset(request).filter(id__in=assignments_visible_to(request.user).values("id"))

    @admin.display(boolean=True, description="At risk", ordering="at_risk_at")
    def is_at_risk(self, obj) -> bool:
        return obj.at_risk_at is not None

    @admin.display(boolean=True, description="Breached", ordering="breached_at")
    def is_breached(self, obj) -> bool:
        return obj.breached_at is not None

    @admin.display(boolean=True, description="Waiting")
    def is_waiting(self, obj) -> bool:
        return obj.status == AssignmentStatus.WAITING

    @admin.display(boolean=True, description="Reassignment asked")
    def reassignment_requested(self, obj) -> bool:
        return obj.reassignment_requested_at is not None

    def has_reassign_permission(self, request) -> bool:
        return user_has_role(request.user, *CONFIGURE)

    @admin.action(description="Reassign to the next rep", permissions=["reassign"])
    def reassign_to_next(self, request, queryset):
        moved, waiting, refused = 0, 0, []
        for assignment in queryset.select_related("lead"):
            try:
                new = assignment_reassign_to_next(
                    assignment_id=assignment.id, actor=request.user, reason=f"Reassigned in the admin by {request.user}"
                )
            except (ValidationError, PermissionDenied) as error:
                refused.append(f"{assignment.lead}: {'; '.join(getattr(error, 'messages', [str(error)]))}")
                continue
            if new is None:
                waiting += 1
            else:
                moved += 1
        self.message_user(request, f"{moved} reassigned, {waiting} waiting for an available rep.", messages.SUCCESS)
        if refused:
            self.message_user(request, "Not reassigned: " + " · ".join(refused), messages.WARNING)


def _audit_html(audit: dict, reps_by_id: dict | None = None):
    """A decision's audit in words: the rules in order and why, the reps considered and why."""
    reps_by_id = reps_by_id or {
        rep.id: rep
        for rep in Rep.objects.filter(id__in=[c["rep_id"] for c in audit.get("reps", [])]).select_related("user")
    }
    reps = [
        {
            **check,
            "rep_name": str(reps_by_id.get(check["rep_id"], check["rep_id"])),
            "role_label": ROLE_LABELS.get(check["role"], check["role"]),
        }
        for check in audit["reps"]
    ]
    return render_to_string("admin/routing/_decision_audit.html", {"audit": audit, "reps": reps})


@admin.register(RoutingDecision)
class RoutingDecisionAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ["decided_at", "lead", "trigger", "queue", "rep", "rule", "actor", "summary"]
    list_filter = ["trigger", "queue", "rule"]
    search_fields = ["lead__email", "summary"]
    list_select_related = ["lead", "queue", "rep", "rep__user", "rule", "actor"]
    date_hierarchy = "decided_at"
    fields = ["decided_at", "lead", "trigger", "actor", "queue", "rep", "rule", "assignment", "summary", "audit_pretty"]
    readonly_fields = fields

    @admin.display(description="Why")
    def audit_pretty(self, obj):
        if not obj.audit:
            return "-"
        return _audit_html(obj.audit)

    def get_urls(self):
        custom = [path("preview/", self.admin_site.admin_view(self.preview_view), name="routing_preview")]
        return custom + super().get_urls()

    def preview_view(self, request):
        """What routing would decide for a lead now, and why; nothing is applied."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = PreviewForm(request.GET or None)
        preview = None
        if form.is_valid():
            lead = form.cleaned_data["lead"]
            details = route_preview_details(lead_route_preview(lead_id=lead.id), lead_id=lead.id)
            reps_by_id = {check["rep_id"]: check["rep_name"] for check in details["reps"]}
            preview = {"lead": lead, "details": details, "audit_html": _audit_html(details, reps_by_id)}
        context = {
            **self.admin_site.each_context(request),
            "title": "Preview routing",
            "opts": self.model._meta,
            "form": form,
            "preview": preview,
        }
        return TemplateResponse(request, "admin/routing/preview.html", context)


class PreviewForm(forms.Form):
    lead = forms.CharField(label="Lead", help_text="The lead's id or email address.")

    def clean_lead(self):
        value = self.cleaned_data["lead"].strip()
        leads = Lead.objects.filter(id=int(value)) if value.isdigit() else Lead.objects.filter(email=value.lower())
        lead = leads.select_related("account").first()
        if lead is None:
            raise ValidationError(f"No lead with the id or email {value!r}.")
        return lead


@admin.register(SlaEvent)
class SlaEventAdmin(_ReadOnly, admin.ModelAdmin):
    view_roles = CONFIGURE
    list_display = ["at", "kind", "assignment"]
    list_filter = ["kind"]
    list_select_related = ["assignment"]
    date_hierarchy = "at"


@admin.register(Activity)
class ActivityAdmin(_ReadOnly, admin.ModelAdmin):
    view_roles = CONFIGURE
    list_display = ["at", "lead", "kind", "actor", "notes"]
    list_filter = ["kind"]
    search_fields = ["lead__email", "notes"]
    list_select_related = ["lead", "actor"]
    date_hierarchy = "at"


# The lead and account pages: their actions (owner, stage by hand, route now) are routing's;
# the outcome pages: recording one moves its leads.
from routing import lead_admin, outcome_admin  # noqa: E402, F401 - registers their admins
