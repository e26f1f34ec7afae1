"""What happened, read-only in the admin: assignments (with the reassign action), routing
decisions with their audit in words (and the routing preview), SLA events and activities.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path

from leads.models import Lead
from qualify_site.roles import user_has_role
from routing.admin.access import CONFIGURE, ReadOnly
from routing.models import Activity, Assignment, AssignmentStatus, Rep, RoutingDecision, SlaEvent
from routing.selectors.visibility import assignments_visible_to, route_preview_details
from routing.services.assignments import assignment_reassign_to_next, lead_route_preview

ROLE_LABELS = {"account_owner": "account owner", "account_rep": "works the account", "queue_member": "queue member"}


@admin.register(Assignment)
class AssignmentAdmin(ReadOnly, admin.ModelAdmin):
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
class RoutingDecisionAdmin(ReadOnly, admin.ModelAdmin):
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
class SlaEventAdmin(ReadOnly, admin.ModelAdmin):
    view_roles = CONFIGURE
    list_display = ["at", "kind", "assignment"]
    list_filter = ["kind"]
    list_select_related = ["assignment"]
    date_hierarchy = "at"


@admin.register(Activity)
class ActivityAdmin(ReadOnly, admin.ModelAdmin):
    view_roles = CONFIGURE
    list_display = ["at", "lead", "kind", "actor", "notes"]
    list_filter = ["kind"]
    search_fields = ["lead__email", "notes"]
    list_select_related = ["lead", "actor"]
    date_hierarchy = "at"
