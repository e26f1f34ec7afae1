"""Scores and their history in the admin: read-only, the explanation pretty-printed."""

from django.contrib import admin

from scoring.admin.common import (
    ReadOnlyScoringAdmin,
    pretty_json,
)
from scoring.models import LeadScore, ScoreChange


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
        return pretty_json(obj.explanation)


@admin.register(ScoreChange)
class ScoreChangeAdmin(ReadOnlyScoringAdmin):
    list_display = ["changed_at", "lead", "version", "fit", "engagement", "total", "grade", "is_mql", "pql_path"]
    list_filter = ["grade", "version", "is_mql"]
    search_fields = ["lead__email"]
    list_select_related = ["lead", "version"]
    show_full_result_count = False
    date_hierarchy = "changed_at"
