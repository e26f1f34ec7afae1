"""Who may use the scoring admin, and the text helpers its pages share."""

import json

from django.contrib import admin
from django.utils.html import format_html

from qualify_site.roles import Role, user_has_role
from scoring.engine import validate_rule
from scoring.engine.describe import describe_path, describe_rule
from scoring.models import RuleKind, RuleVersion


def can_edit_scoring(user) -> bool:
    return user_has_role(user, Role.MARKETING_OPS, Role.ADMIN)


def can_view_scoring(user) -> bool:
    return user_has_role(user, Role.MARKETING_OPS, Role.ADMIN, Role.MANAGER)


def pretty_json(value) -> str:
    return format_html("<pre class='json'>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


def rule_reads_as(kind: str, rule: dict) -> str:
    """The plain-language sentence for a rule, or why there is none yet."""
    errors = validate_rule(kind, rule, known_fields=False)
    if errors:
        return "Does not validate yet: " + "; ".join(errors)
    sentence = describe_path(rule) if kind == RuleKind.PQL else describe_rule(kind, rule)
    # A rule stored before the field catalogue still reads (and scores); say what saving it now would refuse.
    unknown = validate_rule(kind, rule)
    return sentence + (" Would not save today: " + "; ".join(unknown) if unknown else "")


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


class ReadOnlyScoringAdmin(ScoringPermissions, admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
