"""The lead and account admin pages, here because their actions are routing's.

Marketing ops and admins edit what a lead or an account is; who owns it, moving a
lead's stage by hand and routing it now are sales management's calls
(routing.services.ownership, which the API calls too): admins for any rep,
managers for their own team, never marketing ops. Kept out of leads/admin.py
because leads calls nothing above itself (pipeline/README.md).
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html

from leads.admin import ReadOnlyInline, pretty_json
from leads.csv_import.admin import CsvImportMixin
from leads.models import Account, Identity, Lead, Stage, StageChange
from qualify_site.admin_site import ServiceRefusalAdmin, service_refusals
from qualify_site.roles import Role, user_has_role
from routing.models import RoutingTrigger
from routing.services.assignments import leads_route
from routing.services.ownership import (
    account_can_decide,
    account_owner_set,
    lead_can_decide,
    lead_owner_set,
    lead_stage_set,
)


def _can_edit_everything(request) -> bool:
    return user_has_role(request.user, Role.MARKETING_OPS, Role.ADMIN)


def _decides_owners(request) -> bool:
    return user_has_role(request.user, Role.MANAGER, Role.ADMIN)


class OwnerAssignableAdmin(ServiceRefusalAdmin, admin.ModelAdmin):
    """Leads and accounts: marketing ops and admins edit them; sales managers only (re)assign the
    owner, of their own team's records. The owner is set by the service, never by the form."""

    def get_readonly_fields(self, request, obj=None):
        if _can_edit_everything(request):
            # Marketing ops edit what a lead is, not who works it.
            return self.readonly_fields if _decides_owners(request) else [*self.readonly_fields, "owner"]
        # The owner stays editable; raw traits are shown as traits_pretty instead.
        kept_out = ("id", "owner", "traits")
        return [f.name for f in self.model._meta.fields if f.name not in kept_out] + ["traits_pretty"]

    def owner_can_decide(self, user, obj) -> bool:
        raise NotImplementedError

    def owner_set(self, *, record_id: int, owner_id: int | None, user):
        raise NotImplementedError

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        # A manager changes nothing but the owner, so a record that is not theirs to give is read-only.
        return obj is None or _can_edit_everything(request) or self.owner_can_decide(request.user, obj)

    def save_model(self, request, obj, form, change):
        if "owner" not in form.changed_data:
            super().save_model(request, obj, form, change)
            return
        owner_id, obj.owner_id = obj.owner_id, form.initial.get("owner")
        super().save_model(request, obj, form, change)
        with service_refusals():
            self.owner_set(record_id=obj.pk, owner_id=owner_id, user=request.user)
        obj.owner_id = owner_id

    @admin.display(description="Traits")
    def traits_pretty(self, obj):
        return pretty_json(obj.traits)


@admin.register(Account)
class AccountAdmin(CsvImportMixin, OwnerAssignableAdmin):
    csv_import_kind = "accounts"
    list_display = [
        "__str__",
        "domain",
        "industry",
        "employee_count",
        "segment",
        "country",
        "plan",
        "seats",
        "score_total",
        "owner",
    ]
    list_filter = ["segment", "industry", "country", "plan", "score__stage", "score__is_pql"]
    search_fields = ["name", "domain", "=group_id"]
    list_select_related = ["owner", "score"]
    raw_id_fields = ["owner"]
    date_hierarchy = "created_at"
    readonly_fields = ["segment", "score_summary", "traits_pretty", "created_at", "updated_at"]
    exclude = ["traits"]

    def owner_can_decide(self, user, obj) -> bool:
        return account_can_decide(user, obj)

    @admin.display(description="Score")
    def score_summary(self, obj):
        score = getattr(obj, "score", None)
        if score is None:
            return "Not scored yet (an account is scored with its leads)"
        return format_html(
            "{} (fit {}, engagement {}), grade {}, stage {}{} · {} · by rule version {}",
            f"{score.total:g}",
            f"{score.fit:g}",
            f"{score.engagement:g}",
            score.grade,
            score.stage.upper(),
            f", PQL: {score.pql_path}" if score.pql_path else "",
            score.why or "-",
            score.version.number,
        )

    @admin.display(description="Score", ordering="score__total")
    def score_total(self, obj):
        """The account's rolled-up score (scoring's AccountScore): total, grade and stage, PQL path if any."""
        score = getattr(obj, "score", None)
        if score is None:
            return "-"
        pql = f", PQL: {score.pql_path}" if score.pql_path else ""
        return f"{score.total:g} ({score.grade}, {score.stage.upper()}{pql})"

    def owner_set(self, *, record_id: int, owner_id: int | None, user):
        return account_owner_set(account_id=record_id, owner_id=owner_id, user=user)


class IdentityInline(ReadOnlyInline):
    model = Identity
    fields = ["kind", "value", "created_at"]
    readonly_fields = fields


class StageChangeInline(ReadOnlyInline):
    model = StageChange
    fields = ["changed_at", "from_stage", "to_stage", "actor", "actor_label", "reason"]
    readonly_fields = fields

    def get_queryset(self, request):
        # The actor is shown on every row: one join, not one query per stage change.
        return super().get_queryset(request).select_related("actor")


class StageChangeForm(forms.Form):
    to_stage = forms.ChoiceField(label="New stage", choices=Stage.choices)
    reason = forms.CharField(
        max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="Recorded on the lead."
    )


@admin.register(Lead)
class LeadAdmin(CsvImportMixin, OwnerAssignableAdmin):
    csv_import_kind = "leads"
    list_display = ["__str__", "email", "title", "account", "stage", "score_total", "owner", "source", "created_at"]
    list_filter = ["stage", "score__grade", "source", "campaign", "is_unsubscribed", "seniority"]
    search_fields = ["email", "first_name", "last_name", "title", "account__name", "account__domain", "=crm_id"]
    list_select_related = ["account", "owner", "source", "campaign", "score"]
    raw_id_fields = ["account", "owner", "source", "campaign"]
    date_hierarchy = "created_at"
    inlines = [IdentityInline, StageChangeInline]
    exclude = ["traits"]
    actions = ["route_now"]
    # The stage moves only through services that record the change and its reason.
    readonly_fields = [
        "stage",
        "stage_changed_at",
        "score_summary",
        "merged_into",
        "traits_pretty",
        "first_seen_at",
        "last_seen_at",
        "created_at",
        "updated_at",
    ]

    def has_route_permission(self, request) -> bool:
        return user_has_role(request.user, Role.MANAGER, Role.ADMIN)

    def owner_can_decide(self, user, obj) -> bool:
        return lead_can_decide(user, obj)

    def owner_set(self, *, record_id: int, owner_id: int | None, user):
        return lead_owner_set(lead_id=record_id, owner_id=owner_id, user=user)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        lead = self.get_object(request, object_id)
        # Stage moves by hand follow the owner's rule: sales management, for its own team.
        can_change_stage = lead is not None and self.owner_can_decide(request.user, lead)
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), "can_change_stage": can_change_stage}
        )

    @admin.action(description="Route selected leads now", permissions=["route"])
    def route_now(self, request, queryset):
        """Route by hand; leads already assigned, merged or past MQL/PQL are left alone."""
        lead_ids = list(queryset.values_list("id", flat=True))
        routed = leads_route(lead_ids=lead_ids, trigger=RoutingTrigger.MANUAL, actor=request.user)
        with_rep = sum(1 for assignment in routed if assignment.rep_id)
        self.message_user(
            request,
            f"Routed {len(routed)} of {len(lead_ids)} leads: {with_rep} to a rep, {len(routed) - with_rep} waiting "
            f"in their queue; {len(lead_ids) - len(routed)} already assigned or not in a routed stage.",
        )

    @admin.display(description="Score", ordering="score__total")
    def score_total(self, obj):
        score = getattr(obj, "score", None)
        return f"{score.total:g} ({score.grade})" if score else "-"

    @admin.display(description="Score")
    def score_summary(self, obj):
        score = getattr(obj, "score", None)
        if score is None:
            return "Not scored yet"
        flag = (
            " · score fell below the threshold since qualification"
            if score.is_below_threshold_since_qualification
            else ""
        )
        return format_html(
            "{} (fit {}, engagement {}), grade {}{} · {} · by rule version {}{}",
            f"{score.total:g}",
            f"{score.fit:g}",
            f"{score.engagement:g}",
            score.grade,
            f", PQL: {score.pql_path}" if score.pql_path else "",
            score.why or "-",
            score.version.number,
            flag,
        )

    def get_urls(self):
        custom = [
            path(
                "<int:lead_id>/change-stage/",
                self.admin_site.admin_view(self.change_stage_view),
                name="leads_lead_change_stage",
            ),
        ]
        return custom + super().get_urls()

    def change_stage_view(self, request, lead_id: int):
        """Move a lead to another stage by hand, with a reason, on the record."""
        lead = get_object_or_404(Lead, id=lead_id)
        if not self.owner_can_decide(request.user, lead):
            raise PermissionDenied
        form = StageChangeForm(request.POST or None, initial={"to_stage": lead.stage})
        if request.method == "POST" and form.is_valid():
            try:
                lead_stage_set(
                    lead_id=lead.id,
                    to_stage=form.cleaned_data["to_stage"],
                    user=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, problems)
            else:
                self.message_user(request, f"{lead} moved to {Stage(form.cleaned_data['to_stage']).label}.")
                return redirect("admin:leads_lead_change", lead.id)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Change the stage of {lead}",
            "opts": self.model._meta,
            "original": lead,
            "form": form,
        }
        return TemplateResponse(request, "admin/leads/change_stage.html", context)
