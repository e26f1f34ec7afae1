"""The admin marketing ops and admins work in.

What a role may do here comes from Django model permissions, set by
`leads.services.roles.roles_sync()`. Events, rejected messages, stage history
and merges are records of what happened: read-only for everyone. Who owns a
lead or an account, and moving a lead's stage by hand, are sales management's
calls (routing.services.ownership, which the API calls too): admins for any
rep, managers for their own team, never marketing ops.
"""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html

from leads.csv_import.admin import CsvImportMixin
from leads.models import (
    Account,
    Campaign,
    DeadLetter,
    Event,
    Identity,
    Lead,
    LeadMerge,
    Outcome,
    RejectedMessage,
    Source,
    Stage,
    StageChange,
)
from leads.selectors_identity import unmatched_event_count, unmatched_identity_list
from leads.services.dead_letters import dead_letters_replay
from leads.services.sources import source_create
from qualify_site.admin_site import ServiceRefusalAdmin, service_refusals
from qualify_site.roles import Role, user_has_role


def _pretty_json(value) -> str:
    return format_html("<pre class='json'>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable with the view permission; nobody adds, changes or deletes."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# Empty: the default from settings (README, "Sending events").
RATE_LIMIT_FIELDS = ["rate_limit_per_second", "rate_limit_per_minute", "rate_limit_requests_per_second"]


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "write_key_prefix", "is_active", "rate_limit_per_minute", "created_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "=write_key_prefix"]
    # The hash is never shown: it is not secret-equivalent, but nobody needs it and it invites copying.
    fields = ["name", "kind", "is_active", *RATE_LIMIT_FIELDS, "write_key_prefix", "created_at"]
    readonly_fields = ["write_key_prefix", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        # The kind says what the events mean; changing it later would rewrite history.
        return [*self.readonly_fields, "kind"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created, write_key = source_create(name=obj.name, kind=obj.kind)
        obj.pk, obj.created_at = created.pk, created.created_at
        obj.write_key_hash, obj.write_key_prefix = created.write_key_hash, created.write_key_prefix
        obj.save(update_fields=["is_active", *RATE_LIMIT_FIELDS])
        messages.warning(
            request,
            f"Write key for {obj.name}: {write_key} — copy it now, it is stored hashed and cannot be shown again.",
        )


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "type", "lead_count", "created_at"]
    list_filter = ["type"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(lead_count=Count("leads"))

    @admin.display(ordering="lead_count", description="Leads")
    def lead_count(self, obj) -> int:
        return obj.lead_count


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
        return _pretty_json(obj.traits)


@admin.register(Account)
class AccountAdmin(CsvImportMixin, OwnerAssignableAdmin):
    csv_import_kind = "accounts"
    list_display = ["__str__", "domain", "industry", "employee_count", "segment", "country", "plan", "seats", "owner"]
    list_filter = ["segment", "industry", "country", "plan"]
    search_fields = ["name", "domain", "=group_id"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    date_hierarchy = "created_at"
    readonly_fields = ["segment", "traits_pretty", "created_at", "updated_at"]
    exclude = ["traits"]

    def owner_can_decide(self, user, obj) -> bool:
        # Imported here: routing builds on leads, not the other way round.
        from routing.services.ownership import account_can_decide

        return account_can_decide(user, obj)

    def owner_set(self, *, record_id: int, owner_id: int | None, user):
        from routing.services.ownership import account_owner_set

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
        # Imported here: routing builds on leads, not the other way round.
        from routing.services.ownership import lead_can_decide

        return lead_can_decide(user, obj)

    def owner_set(self, *, record_id: int, owner_id: int | None, user):
        from routing.services.ownership import lead_owner_set

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
        # Imported here: routing builds on leads, not the other way round.
        from routing.models import RoutingTrigger
        from routing.services.assignments import leads_route

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
        from routing.services.ownership import lead_stage_set

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


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["timestamp", "type", "label", "source", "lead", "account", "processed_at"]
    list_filter = ["type", "source", ("processed_at", admin.EmptyFieldListFilter), ("lead", admin.EmptyFieldListFilter)]
    # Exact matches only: the table is the biggest in the database and these columns are indexed.
    search_fields = ["=message_id", "=user_id", "=anonymous_id", "=event"]
    list_select_related = ["source", "lead", "account"]
    # Newest first by primary key: an index scan, unlike a sort on timestamp across millions of rows.
    ordering = ["-id"]
    show_full_result_count = False
    fields = [
        "source",
        "message_id",
        "batch_id",
        "type",
        "event",
        "name",
        "user_id",
        "anonymous_id",
        "group_id",
        "previous_id",
        "properties_pretty",
        "traits_pretty",
        "context_pretty",
        "extra_pretty",
        "original_timestamp",
        "sent_at",
        "received_at",
        "timestamp",
        "lead",
        "account",
        "processed_at",
    ]
    readonly_fields = fields

    @admin.display(description="Event / name")
    def label(self, obj) -> str:
        return obj.event or obj.name

    @admin.display(description="Properties")
    def properties_pretty(self, obj):
        return _pretty_json(obj.properties)

    @admin.display(description="Traits")
    def traits_pretty(self, obj):
        return _pretty_json(obj.traits)

    @admin.display(description="Context")
    def context_pretty(self, obj):
        return _pretty_json(obj.context)

    @admin.display(description="Other fields")
    def extra_pretty(self, obj):
        return _pretty_json(obj.extra)

    def get_urls(self):
        custom = [
            path(
                "unmatched/",
                self.admin_site.admin_view(self.unmatched_identities_view),
                name="leads_event_unmatched",
            ),
        ]
        return custom + super().get_urls()

    def unmatched_identities_view(self, request):
        """Ids whose processed events no lead claims yet; they attach once an identify or alias links them."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Unmatched identities",
            "opts": self.model._meta,
            "identities": unmatched_identity_list(),
            "unmatched_event_count": unmatched_event_count(),
        }
        return TemplateResponse(request, "admin/leads/unmatched_identities.html", context)


@admin.register(RejectedMessage)
class RejectedMessageAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "source", "field", "reason", "index", "batch_id"]
    list_filter = ["source", "field"]
    search_fields = ["reason", "=batch_id"]
    list_select_related = ["source"]
    date_hierarchy = "received_at"
    fields = ["received_at", "source", "batch_id", "index", "field", "reason", "payload_pretty"]
    readonly_fields = fields

    @admin.display(description="Payload")
    def payload_pretty(self, obj):
        return _pretty_json(obj.payload)


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyAdmin):
    """Batches set aside because processing failed for good: admins read the error, fix, and replay.

    Admins only, whatever permissions a group was given by hand: the error
    and traceback speak of internals, and a replay re-runs the pipeline.
    """

    list_display = ["set_aside_at", "batch_id", "source", "event_count", "error", "failure_count", "is_set_aside"]
    list_filter = ["is_set_aside", "source"]
    search_fields = ["=batch_id", "error"]
    list_select_related = ["source"]
    date_hierarchy = "set_aside_at"
    fields = [
        "batch_id",
        "source",
        "event_count",
        "error",
        "traceback_pretty",
        "failure_count",
        "is_set_aside",
        "set_aside_at",
        "replayed_at",
        "replayed_by",
    ]
    readonly_fields = fields
    actions = ["replay"]

    def has_module_permission(self, request):
        return user_has_role(request.user, Role.ADMIN) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return user_has_role(request.user, Role.ADMIN) and super().has_view_permission(request, obj)

    def has_replay_permission(self, request) -> bool:
        return user_has_role(request.user, Role.ADMIN)

    @admin.action(description="Replay the selected batches (after a fix)", permissions=["replay"])
    def replay(self, request, queryset):
        selected = list(queryset.values_list("id", flat=True))
        replayed = dead_letters_replay(dead_letter_ids=selected, actor=request.user)
        self.message_user(
            request,
            f"{replayed} of {len(selected)} batches sent for processing again; "
            f"{len(selected) - replayed} were not set aside (already replayed). "
            "A batch that fails again is set aside again.",
        )

    @admin.display(description="Traceback")
    def traceback_pretty(self, obj):
        return format_html("<pre style='white-space: pre-wrap'>{}</pre>", obj.traceback)


@admin.register(Identity)
class IdentityAdmin(ReadOnlyAdmin):
    list_display = ["kind", "value", "lead", "created_at"]
    list_filter = ["kind"]
    search_fields = ["=value", "lead__email"]
    list_select_related = ["lead"]


@admin.register(StageChange)
class StageChangeAdmin(ReadOnlyAdmin):
    list_display = ["changed_at", "lead", "from_stage", "to_stage", "actor", "actor_label", "reason"]
    list_filter = ["to_stage", "from_stage", "actor_label"]
    search_fields = ["lead__email", "reason"]
    list_select_related = ["lead", "actor"]
    date_hierarchy = "changed_at"


@admin.register(LeadMerge)
class LeadMergeAdmin(ReadOnlyAdmin):
    list_display = ["merged_at", "survivor", "merged", "reason"]
    search_fields = ["survivor__email", "merged__email", "reason"]
    list_select_related = ["survivor", "merged"]
    date_hierarchy = "merged_at"


@admin.register(Outcome)
class OutcomeAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "kind", "lead", "account", "amount", "currency", "external_id"]
    list_filter = ["kind", "currency"]
    search_fields = ["=external_id", "lead__email", "account__name", "account__domain"]
    list_select_related = ["lead", "account"]
    raw_id_fields = ["lead", "account"]
    date_hierarchy = "occurred_at"
