"""Routing rules and SLA policies in the admin, and re-routing the unassigned leads after rules change."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import path
from django.views.decorators.http import require_POST

from conditions.describe import describe_condition
from leads.models import Stage
from qualify_site.roles import user_has_role
from routing.admin.access import CONFIGURE, RoleAccess, TeamRows
from routing.engine import RoutingRule as EngineRule
from routing.engine import validate_rule
from routing.models import Queue, RoutingRule, RoutingTrigger, SlaPolicy
from routing.selectors.policy import leads_without_active_assignment
from routing.services.assignments import leads_route

# Re-routing runs in the request: bounded, and the page says how many are left.
REROUTE_BATCH = 500


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
class RoutingRuleAdmin(TeamRows, admin.ModelAdmin):
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
class SlaPolicyAdmin(RoleAccess, admin.ModelAdmin):
    list_display = ["name", "stage", "priority", "first_touch_minutes", "warning_minutes", "on_breach"]
    list_filter = ["stage", "priority", "on_breach"]
