"""The admin marketing ops and admins work in.

What a role may do here comes from Django model permissions, set by
`leads.services.roles.roles_sync()`. Events, rejected messages, stage history
and merges are records of what happened: read-only for everyone. The lead and
account pages live in routing/lead_admin.py: who owns a lead or an account,
moving a lead's stage by hand and routing it are sales management's calls
(routing.services.ownership), and leads calls nothing above itself. The outcome
pages live in routing/outcome_admin.py: recording an outcome moves its leads.
"""

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html

from leads.models import (
    Campaign,
    DeadLetter,
    Event,
    Identity,
    LeadMerge,
    RejectedMessage,
    Source,
    StageChange,
)
from leads.selectors_identity import unmatched_event_count, unmatched_identity_list
from leads.services.dead_letters import dead_letters_replay
from leads.services.sources import source_create
from qualify_site.roles import Role, user_has_role


def pretty_json(value) -> str:
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
        return pretty_json(obj.properties)

    @admin.display(description="Traits")
    def traits_pretty(self, obj):
        return pretty_json(obj.traits)

    @admin.display(description="Context")
    def context_pretty(self, obj):
        return pretty_json(obj.context)

    @admin.display(description="Other fields")
    def extra_pretty(self, obj):
        return pretty_json(obj.extra)

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
        return pretty_json(obj.payload)


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
