"""The scoring admin, where marketing ops write, check, preview and publish rules.

Who may do what is decided by role, here and on the server (`qualify_site.roles`):
marketing ops and admins edit and publish, sales managers look, reps never get in.
Only drafts are editable: published and archived versions render read-only, and the
model layer and database triggers refuse any change anyway (scoring/models.py).
"""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, Count, Q, When
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from leads.models import Lead
from qualify_site.roles import Role, user_has_role
from scoring.engine import diff, validate_rule
from scoring.engine.describe import describe_path, describe_rule
from scoring.models import LeadScore, PublishedVersionError, Rule, RuleKind, RuleVersion, ScoreChange, VersionStatus
from scoring.selectors import rule_as_engine_dict, rule_version_document, rule_version_live
from scoring.services import (
    lead_score_preview,
    rule_check,
    rule_version_check,
    rule_version_clone,
    rule_version_create_from_document,
    rule_version_publish,
)

PREVIEW_SEARCH_LIMIT = 20


def can_edit_scoring(user) -> bool:
    return user_has_role(user, Role.MARKETING_OPS, Role.ADMIN)


def can_view_scoring(user) -> bool:
    return user_has_role(user, Role.MARKETING_OPS, Role.ADMIN, Role.MANAGER)


def _pretty_json(value) -> str:
    return format_html("<pre style='white-space: pre-wrap'>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


def rule_reads_as(kind: str, rule: dict) -> str:
    """The plain-language sentence for a rule, or why there is none yet."""
    errors = validate_rule(kind, rule)
    if errors:
        return "Does not validate yet: " + "; ".join(errors)
    return describe_path(rule) if kind == RuleKind.PQL else describe_rule(kind, rule)


def evidence_text(evidence: dict) -> str:
    """Evidence of a rule hit or PQL match in one line: attribute values, event ids, counts."""
    if not isinstance(evidence, dict):
        return ""
    parts = []
    for key, value in evidence.items():
        if key == "values" and isinstance(value, dict):
            parts.extend(f"{field} = {shown!r}" for field, shown in value.items())
        elif key == "event_ids" and isinstance(value, list):
            parts.append("events " + ", ".join(f"#{event_id}" for event_id in value))
        elif key == "matched":
            parts.append(f"{value} matched")
        elif key == "last_days_ago":
            parts.append(f"latest {value:g} days ago")
        elif key == "decayed_from":
            parts.append(f"{value:g} points before decay")
        else:
            parts.append(f"{key.replace('_', ' ')}: {value}")
    return " · ".join(parts)


def rescore_progress_text(version: RuleVersion) -> str:
    if not version.rescore_started_at:
        return "-"
    if version.rescore_finished_at:
        return f"done ({version.rescore_done:,} leads)"
    percent = 100 * version.rescore_done // max(version.rescore_total, 1)
    return f"{version.rescore_done:,}/{version.rescore_total:,} ({percent}%)"


class ScoringPermissions:
    """Role-based permissions shared by the scoring admins (view: managers too)."""

    def has_module_permission(self, request):
        return can_view_scoring(request.user)

    def has_view_permission(self, request, obj=None):
        return can_view_scoring(request.user)


# --- Rule versions and their rules ----------------------------------------------------------

_DEFINITION_HELP = "The rule as JSON; name, description and points come from their own columns. Examples below."

# Shown under the rules of an editable version: one working example per kind and shape.
DEFINITION_EXAMPLES = [
    (
        "fit",
        {
            "when": {
                "all": [
                    {"field": "lead.seniority", "op": "in", "value": ["vp", "c-level"]},
                    {"field": "account.employee_count", "op": "between", "value": [50, 5000]},
                ]
            }
        },
    ),
    (
        "engagement",
        {
            "event_type": "page",
            "when": {"field": "properties.path", "op": "contains", "value": "/pricing"},
            "max_count": 3,
            "window_days": 30,
            "half_life_days": 14,
        },
    ),
    ("engagement", {"event": "Webinar Registered", "max_points": 20, "window_days": 60}),
    ("negative", {"when": {"field": "lead.email_type", "op": "in", "value": ["free", "student"]}}),
    ("negative", {"event": "Unsubscribed", "bucket": "engagement", "max_count": 1}),
    ("pql", {"kind": "activation", "events": ["Source Connected", "Job Run", "Results Viewed"], "within_days": 14}),
    ("pql", {"kind": "usage_depth", "min_active_users": 5, "within_days": 7}),
    ("pql", {"kind": "seat_growth", "min_increase": 3, "within_days": 30}),
    ("pql", {"kind": "plan_limit", "within_days": 7, "segments": ["smb"]}),
]


def example_rule(kind: str, definition: dict) -> dict:
    """An example definition as the engine reads it, with the columns the form adds."""
    points = {"fit": 20, "engagement": 10, "negative": -15}
    return {"name": "Example", **definition, **({"points": points[kind]} if kind in points else {})}


class RuleForm(forms.ModelForm):
    # Short labels: the kind column of the rules table is narrow.
    kind = forms.ChoiceField(choices=[(kind.value, kind.label.split(" (")[0]) for kind in RuleKind])

    class Meta:
        model = Rule
        fields = ["kind", "name", "description", "points", "position", "definition"]
        widgets = {
            "definition": forms.Textarea(attrs={"rows": 5, "cols": 40, "class": "rule-definition"}),
            "description": forms.Textarea(attrs={"rows": 3, "cols": 20}),
            "name": forms.TextInput(attrs={"size": 16}),
            "points": forms.NumberInput(attrs={"style": "width: 4em"}),
            "position": forms.NumberInput(attrs={"style": "width: 3em"}),
        }

    def clean(self):
        cleaned = super().clean()
        if self.errors or not self.has_changed() or cleaned.get("DELETE"):
            return cleaned
        try:
            rule_check(
                kind=cleaned.get("kind"),
                name=cleaned.get("name") or "",
                points=cleaned.get("points") or 0,
                description=cleaned.get("description") or "",
                definition=cleaned.get("definition"),
            )
        except ValidationError as error:
            # The engine names the rule in each message; show each one next to the field it is about.
            for message in error.message_dict.get("definition", error.messages):
                about_points = "'points'" in message or "needs points" in message
                self.add_error("points" if about_points else "definition", message)
        return cleaned


class RuleInline(admin.TabularInline):
    model = Rule
    form = RuleForm
    extra = 0
    fields = ["kind", "name", "points", "position", "description", "definition", "reads_as"]
    readonly_fields = ["reads_as"]

    def get_queryset(self, request):
        # In the order a lead is read: who they are, what they did, what counts against, then PQL paths.
        kind_order = Case(*(When(kind=kind, then=index) for index, kind in enumerate(RuleKind)), default=99)
        return super().get_queryset(request).order_by(kind_order, "position", "id")

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form.base_fields["definition"].help_text = _DEFINITION_HELP
        return formset

    @admin.display(description="Reads as")
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


class RuleVersionForm(forms.ModelForm):
    class Meta:
        model = RuleVersion
        fields = [
            "name",
            "notes",
            "fit_min",
            "engagement_min",
            "total_min",
            "hot_min",
            "grade_a_min",
            "grade_b_min",
            "grade_c_min",
        ]
        labels = {
            "fit_min": "Fit at least",
            "engagement_min": "Engagement at least",
            "total_min": "Total at least",
            "hot_min": "Hot from total",
            "grade_a_min": "Grade A from",
            "grade_b_min": "Grade B from",
            "grade_c_min": "Grade C from",
        }
        widgets = {"notes": forms.Textarea(attrs={"rows": 3, "cols": 80})}

    def clean(self):
        cleaned = super().clean()
        a, b, c = (cleaned.get(key) for key in ("grade_a_min", "grade_b_min", "grade_c_min"))
        if None not in (a, b) and not a > b:
            self.add_error("grade_a_min", f"Grade A must start above grade B ({b}): the bands go down A, B, C, D.")
        if None not in (b, c) and not b > c:
            self.add_error("grade_b_min", f"Grade B must start above grade C ({c}): the bands go down A, B, C, D.")
        total, hot = cleaned.get("total_min"), cleaned.get("hot_min")
        if None not in (total, hot) and hot < total:
            self.add_error("hot_min", f"The hot threshold must be at least the MQL total minimum ({total}).")
        return cleaned


def _thresholds_document(version: RuleVersion) -> dict:
    return {
        "schema": 1,
        "thresholds": {
            "mql": {
                "fit_min": version.fit_min,
                "engagement_min": version.engagement_min,
                "total_min": version.total_min,
            },
            "hot": {"total_min": version.hot_min},
            "grades": {"A": version.grade_a_min, "B": version.grade_b_min, "C": version.grade_c_min},
        },
    }


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
            name=obj.name, document=_thresholds_document(obj), user=request.user, notes=obj.notes
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
                columns.append(_preview_column(shown, result, is_live=shown.status == VersionStatus.PUBLISHED))
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


def _preview_column(version: RuleVersion, result, *, is_live: bool) -> dict:
    return {
        "version": version,
        "is_live": is_live,
        "result": result,
        "total_change": None,
        "hits": [
            {
                "name": hit.name,
                "kind": hit.kind,
                "bucket": hit.bucket,
                "points": hit.points,
                "count": hit.count,
                "evidence": evidence_text(hit.evidence),
            }
            # Fit first, then engagement; within each, what weighs most first.
            for hit in sorted(result.hits, key=lambda hit: (hit.bucket != "fit", -abs(hit.points)))
        ],
        "pql_matches": [
            {"name": match.name, "summary": match.summary, "evidence": evidence_text(match.evidence)}
            for match in result.pql_matches
        ],
    }


# --- Scores (read-only records) -------------------------------------------------------------


class ReadOnlyScoringAdmin(ScoringPermissions, admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LeadScore)
class LeadScoreAdmin(ReadOnlyScoringAdmin):
    list_display = [
        "lead",
        "version",
        "fit",
        "engagement",
        "total",
        "grade",
        "is_mql",
        "is_hot",
        "pql_path",
        "is_below_threshold_since_qualification",
        "computed_at",
    ]
    list_filter = ["grade", "version", "is_below_threshold_since_qualification", "is_mql", "is_hot", "pql_path"]
    search_fields = ["lead__email", "why"]
    list_select_related = ["lead", "version"]
    show_full_result_count = False
    fields = [
        "lead",
        "version",
        "fit",
        "engagement",
        "total",
        "grade",
        "is_mql",
        "is_hot",
        "pql_path",
        "why",
        "is_below_threshold_since_qualification",
        "computed_at",
        "explanation_pretty",
    ]
    readonly_fields = fields

    @admin.display(description="Explanation")
    def explanation_pretty(self, obj):
        return _pretty_json(obj.explanation)


@admin.register(ScoreChange)
class ScoreChangeAdmin(ReadOnlyScoringAdmin):
    list_display = ["changed_at", "lead", "version", "fit", "engagement", "total", "grade", "is_mql", "pql_path"]
    list_filter = ["grade", "version", "is_mql"]
    search_fields = ["lead__email"]
    list_select_related = ["lead", "version"]
    show_full_result_count = False
    date_hierarchy = "changed_at"
