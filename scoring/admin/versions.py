"""Rule versions in the admin: rules inline, validation, clone, publish, what changed, preview on a lead."""

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, Count, Q, When
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from leads.models import Lead
from scoring.admin.common import (
    ScoringPermissions,
    can_edit_scoring,
    can_view_scoring,
    rescore_progress_text,
    rule_reads_as,
)
from scoring.admin.condition_form import field_operators
from scoring.admin.condition_views import (
    condition_builder,
    condition_words,
    preview_column,
    suggestions_for,
    value_lists,
)
from scoring.admin.forms import DEFINITION_EXAMPLES, DEFINITION_HELP, RuleForm, RuleVersionForm, example_rule
from scoring.engine import diff
from scoring.models import PublishedVersionError, Rule, RuleKind, RuleVersion, VersionStatus
from scoring.selectors import rule_as_engine_dict, rule_version_document, rule_version_live
from scoring.services import (
    lead_score_preview,
    rule_version_check,
    rule_version_clone,
    rule_version_create_from_document,
    rule_version_publish,
)

PREVIEW_SEARCH_LIMIT = 20


class RuleFormSet(BaseInlineFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            # The table head labels the column; a screen reader needs the control named.
            form.fields["DELETE"].widget.attrs["aria-label"] = "Delete this rule"


class RuleInline(admin.StackedInline):
    """Each rule as a card: its name, kind and points on one line, then its condition across the
    full width (a table cell was too narrow to read a field name), the JSON, its words."""

    model = Rule
    form = RuleForm
    formset = RuleFormSet
    extra = 0
    fields = ["kind", "name", "points", "position", "description", "condition", "definition", "reads_as"]
    readonly_fields = ["reads_as"]
    classes = ["rule-cards"]

    def get_queryset(self, request):
        # In the order a lead is read: who they are, what they did, what counts against, then PQL paths.
        kind_order = Case(*(When(kind=kind, then=index) for index, kind in enumerate(RuleKind)), default=99)
        return super().get_queryset(request).order_by(kind_order, "position", "id")

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        # The condition form is for editing; a read-only version shows the JSON and its words.
        return fields if self._can_edit(request, obj) else [field for field in fields if field != "condition"]

    def get_fieldsets(self, request, obj=None):
        fields = self.get_fields(request, obj)
        lines = [("kind", "name", "points", "position"), "condition", "definition", ("description", "reads_as")]
        shown = [line for line in lines if isinstance(line, tuple) or line in fields]
        return [(None, {"fields": shown})]

    def get_formset(self, request, obj=None, **kwargs):
        if self._can_edit(request, obj):
            # The field picker offers the trait and property keys seen in the data.
            kwargs["form"] = type("RuleForm", (self.form,), {"condition_keys": suggestions_for(request).keys})
        formset = super().get_formset(request, obj, **kwargs)

        formset.form.base_fields["definition"].help_text = DEFINITION_HELP
        return formset

    # As saved: the builder's own words follow the edits before they are saved.
    @admin.display(description="Rule as saved")
    def reads_as(self, obj) -> str:
        if obj is None or obj.pk is None:
            return "-"
        return rule_reads_as(obj.kind, rule_as_engine_dict(obj))

    def has_view_permission(self, request, obj=None):
        return can_view_scoring(request.user)

    def _can_edit(self, request, obj) -> bool:
        return can_edit_scoring(request.user) and (obj is None or obj.is_draft)

    def has_add_permission(self, request, obj=None):
        return self._can_edit(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._can_edit(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._can_edit(request, obj)


@admin.register(RuleVersion)
class RuleVersionAdmin(ScoringPermissions, admin.ModelAdmin):
    form = RuleVersionForm
    inlines = [RuleInline]
    list_display = [
        "version_number",
        "name",
        "status",
        "published_at",
        "published_by",
        "rule_count",
        "rescore_progress",
    ]
    list_display_links = ["version_number", "name"]
    list_filter = ["status"]
    search_fields = ["name", "notes"]
    list_select_related = ["published_by"]
    actions = ["clone_versions"]
    readonly_fields = [
        "number",
        "status",
        "based_on",
        "created_by",
        "created_at",
        "published_by",
        "published_at",
        "archived_at",
        "rescore_progress",
    ]
    fieldsets = [
        (None, {"fields": ["name", "notes"]}),
        ("MQL thresholds", {"fields": [("fit_min", "engagement_min", "total_min"), "hot_min"]}),
        ("Fit grades", {"fields": [("grade_a_min", "grade_b_min", "grade_c_min")]}),
        (
            "Lifecycle",
            {
                "fields": [
                    ("number", "status", "based_on"),
                    ("created_by", "created_at"),
                    ("published_by", "published_at", "archived_at"),
                    "rescore_progress",
                ]
            },
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(rule_count=Count("rules"))

    @admin.display(ordering="number", description="Version")
    def version_number(self, obj) -> str:
        return f"v{obj.number}"

    @admin.display(ordering="rule_count", description="Rules")
    def rule_count(self, obj) -> int:
        return obj.rule_count

    @admin.display(description="Rescore")
    def rescore_progress(self, obj) -> str:
        return rescore_progress_text(obj)

    # Permissions: drafts only are editable, and only by marketing ops and admins.

    def has_add_permission(self, request):
        return can_edit_scoring(request.user)

    def has_change_permission(self, request, obj=None):
        return can_edit_scoring(request.user) and (obj is None or obj.is_draft)

    def has_delete_permission(self, request, obj=None):
        return can_edit_scoring(request.user) and (obj is None or obj.is_draft)

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Bulk delete would reach published versions; drafts are deleted one by one from their page.
        actions.pop("delete_selected", None)
        if not can_edit_scoring(request.user):
            actions.pop("clone_versions", None)
        return actions

    # Saving

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # A new version gets its number from the service; its rules are saved by the inline next.
        created = rule_version_create_from_document(
            name=obj.name, document=rule_version_document(obj, rules=[]), user=request.user, notes=obj.notes
        )
        obj.pk, obj.number, obj.created_at, obj.created_by = (
            created.pk,
            created.number,
            created.created_at,
            request.user,
        )
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        try:
            rule_version_check(version=form.instance)
        except ValidationError as error:
            messages.warning(
                request,
                "Saved, but this draft cannot be published yet: " + " · ".join(error.messages),
            )

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except PublishedVersionError as error:
            # Published by someone else while this page was open: nothing was saved.
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context.update(
            # The rules table needs the full width.
            is_nav_sidebar_enabled=False,
            can_edit_scoring=can_edit_scoring(request.user),
            live_version=rule_version_live(),
            condition_suggestions=value_lists(suggestions_for(request)) if can_edit_scoring(request.user) else [],
            condition_keys=sorted(suggestions_for(request).keys.items()) if can_edit_scoring(request.user) else [],
            condition_operators=field_operators(),
            definition_examples=[
                (kind, json.dumps(example), rule_reads_as(kind, example_rule(kind, example)))
                for kind, example in DEFINITION_EXAMPLES
            ],
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    # Actions and pages

    @admin.action(description="Clone into new draft")
    def clone_versions(self, request, queryset):
        if not can_edit_scoring(request.user):
            raise PermissionDenied
        clones = [rule_version_clone(version=version, user=request.user) for version in queryset.order_by("number")]
        self.message_user(request, "New draft " + ", ".join(f"v{clone.number}" for clone in clones), messages.SUCCESS)
        if len(clones) == 1:
            return HttpResponseRedirect(reverse("admin:scoring_ruleversion_change", args=[clones[0].pk]))
        return None

    def get_urls(self):
        view = self.admin_site.admin_view
        custom = [
            path("<int:version_id>/clone/", view(self.clone_view), name="scoring_ruleversion_clone"),
            path("<int:version_id>/publish/", view(self.publish_view), name="scoring_ruleversion_publish"),
            path("<int:version_id>/changes/", view(self.changes_view), name="scoring_ruleversion_changes"),
            path("<int:version_id>/preview/", view(self.preview_view), name="scoring_ruleversion_preview"),
            path("condition-words/", view(condition_words), name="scoring_ruleversion_condition_words"),
            path("condition-builder/", view(condition_builder), name="scoring_ruleversion_condition_builder"),
        ]
        return custom + super().get_urls()

    def _page(self, request, template: str, version: RuleVersion, title: str, **context) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "original": version,
            "version": version,
            "can_edit_scoring": can_edit_scoring(request.user),
            # These pages need the width: side-by-side columns and long sentences.
            "is_nav_sidebar_enabled": False,
            **context,
        }
        return TemplateResponse(request, f"admin/scoring/ruleversion/{template}", context)

    def _version(self, request, version_id: int, *, edit: bool = False) -> RuleVersion:
        allowed = can_edit_scoring(request.user) if edit else can_view_scoring(request.user)
        if not allowed:
            raise PermissionDenied
        return get_object_or_404(RuleVersion, pk=version_id)

    def clone_view(self, request, version_id: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        version = self._version(request, version_id, edit=True)
        clone = rule_version_clone(version=version, user=request.user)
        self.message_user(request, f"v{clone.number} is a new draft copied from v{version.number}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:scoring_ruleversion_change", args=[clone.pk]))

    def publish_view(self, request, version_id: int):
        """Confirmation page (what changes against the live version, how many leads rescore), then publish."""
        version = self._version(request, version_id, edit=True)
        change_url = reverse("admin:scoring_ruleversion_change", args=[version.pk])
        if not version.is_draft:
            self.message_user(request, f"v{version.number} is {version.get_status_display()}: only drafts publish.")
            return HttpResponseRedirect(change_url)
        if request.method == "POST":
            try:
                published = rule_version_publish(version_id=version.pk, user=request.user)
            except ValidationError as error:
                for message in error.messages:
                    self.message_user(request, message, messages.ERROR)
                return HttpResponseRedirect(change_url)
            self.message_user(
                request,
                f"v{published.number} is live. {published.rescore_total:,} leads are being rescored in the background.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:scoring_ruleversion_changelist"))
        live = rule_version_live()
        document = rule_version_document(version)
        try:
            rule_version_check(version=version)
            errors = []
        except ValidationError as error:
            errors = error.messages
        return self._page(
            request,
            "publish_confirmation.html",
            version,
            f"Publish v{version.number}?",
            live=live,
            changes=diff(rule_version_document(live), document) if live else None,
            errors=errors,
            rescore_count=Lead.objects.filter(merged_into__isnull=True).count(),
        )

    def changes_view(self, request, version_id: int):
        """What changed in this version against the one it was based on, or any chosen version."""
        version = self._version(request, version_id)
        others = RuleVersion.objects.exclude(pk=version.pk).order_by("-number")
        against_id = request.GET.get("against")
        if against_id and against_id.isdigit():
            against = others.filter(pk=int(against_id)).first()
        else:
            against = version.based_on or (rule_version_live() if version.status != VersionStatus.PUBLISHED else None)
        changes = diff(rule_version_document(against), rule_version_document(version)) if against else None
        return self._page(
            request,
            "changes.html",
            version,
            f"What changed in v{version.number}",
            against=against,
            others=others,
            changes=changes,
        )

    def preview_view(self, request, version_id: int):
        """Pick a lead, then see what the live version and this one score for it, side by side."""
        version = self._version(request, version_id)
        query = request.GET.get("q", "").strip()
        leads = Lead.objects.filter(merged_into__isnull=True).select_related("account")
        matches = []
        if query:
            search = Q(email__icontains=query)
            if query.isdigit():
                search |= Q(pk=int(query))
            matches = list(leads.filter(search).order_by("email")[:PREVIEW_SEARCH_LIMIT])
        lead_id = request.GET.get("lead", "")
        lead = leads.filter(pk=int(lead_id)).first() if lead_id.isdigit() else None
        if lead is None and len(matches) == 1:
            lead = matches[0]
        columns = []
        if lead is not None:
            live = rule_version_live()
            compared = [live, version] if live and live.pk != version.pk else [version]
            for shown in compared:
                result = lead_score_preview(lead=lead, version=shown)
                column = preview_column(shown, result, is_live=shown.status == VersionStatus.PUBLISHED)
                # Each rule that fired reads as words too, as the editor showed it.
                words = {rule.name: rule_reads_as(rule.kind, rule_as_engine_dict(rule)) for rule in shown.rules.all()}
                for hit in column["hits"]:
                    hit["reads_as"] = words.get(hit["name"], "")
                columns.append(column)
            if len(columns) == 2:
                columns[1]["total_change"] = round(columns[1]["result"].total - columns[0]["result"].total, 1)
        return self._page(
            request,
            "preview.html",
            version,
            f"Preview v{version.number} on a lead",
            query=query,
            matches=matches,
            lead=lead,
            columns=columns,
        )
