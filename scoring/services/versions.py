"""Rule versions: drafts, cloning, validation and publishing (which starts a full rescore)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from leads.models import Lead
from qualify_site.enqueue import enqueue_on_commit
from scoring.engine import default_rules, validate_rule, validate_version
from scoring.engine.rules import SECTION_KIND
from scoring.models import Rule, RuleVersion, VersionStatus
from scoring.selectors import (
    rule_as_engine_dict,
    rule_version_document,
    rule_version_live,
)

DEFAULT_VERSION_NAME = "Default rules"
# A publish rescores every lead, then routes what qualified: the pipeline's work
# (pipeline/tasks.py), named, not imported: scoring sits below it.
RESCORE_ALL_TASK = "pipeline.tasks.rescore_all_task"


# --- Rule definitions -----------------------------------------------------------------------


def rule_check(*, kind: str, name: str, points: int, description: str, definition) -> None:
    """Validate one rule as the engine will read it; errors in plain words, by field."""
    rule = Rule(kind=kind, name=name, points=points, description=description, definition=definition)
    if not isinstance(definition, dict):
        raise ValidationError({"definition": 'The definition must be a JSON object, e.g. {"when": {...}}.'})
    errors = validate_rule(kind, rule_as_engine_dict(rule))
    if errors:
        raise ValidationError({"definition": errors})


def rule_version_check(*, version: RuleVersion) -> None:
    errors = validate_version(rule_version_document(version))
    if errors:
        raise ValidationError(errors)


def _next_number() -> int:
    return (RuleVersion.objects.aggregate(highest=Max("number"))["highest"] or 0) + 1


@transaction.atomic
def rule_version_create_from_document(*, name: str, document: dict, user=None, notes: str = "") -> RuleVersion:
    """A new draft from an engine document (the default rules, an import)."""
    errors = validate_version(document)
    if errors:
        raise ValidationError(errors)
    thresholds = document["thresholds"]
    version = RuleVersion.objects.create(
        number=_next_number(),
        name=name,
        notes=notes,
        created_by=user,
        fit_min=thresholds["mql"]["fit_min"],
        engagement_min=thresholds["mql"]["engagement_min"],
        total_min=thresholds["mql"]["total_min"],
        hot_min=thresholds.get("hot", {}).get("total_min", 10**6),
        grade_a_min=thresholds["grades"]["A"],
        grade_b_min=thresholds["grades"]["B"],
        grade_c_min=thresholds["grades"]["C"],
    )
    rules = []
    for section, kind in SECTION_KIND.items():
        for position, rule in enumerate(document.get(section, [])):
            definition = {k: v for k, v in rule.items() if k not in ("name", "description", "points")}
            rules.append(
                Rule(
                    version=version,
                    kind=kind,
                    name=rule["name"],
                    description=rule.get("description", "")[:300],
                    points=int(rule.get("points", 0)),
                    position=position,
                    definition=definition,
                )
            )
    Rule.objects.bulk_create(rules)
    return version


@transaction.atomic
def rule_version_clone(*, version: RuleVersion, user=None, name: str = "") -> RuleVersion:
    """Copy any version (usually the live one) into a new draft to edit."""
    clone = RuleVersion.objects.create(
        number=_next_number(),
        name=name or f"{version.name} (copy of v{version.number})",
        based_on=version,
        created_by=user,
        fit_min=version.fit_min,
        engagement_min=version.engagement_min,
        total_min=version.total_min,
        hot_min=version.hot_min,
        grade_a_min=version.grade_a_min,
        grade_b_min=version.grade_b_min,
        grade_c_min=version.grade_c_min,
    )
    Rule.objects.bulk_create(
        [
            Rule(
                version=clone,
                kind=rule.kind,
                name=rule.name,
                description=rule.description,
                points=rule.points,
                position=rule.position,
                definition=rule.definition,
            )
            for rule in version.rules.all()
        ]
    )
    return clone


def rule_version_publish(*, version_id: int, user=None) -> RuleVersion:
    """Make a draft the live version, atomically, then rescore everyone in the background.

    The previous live version is archived in the same transaction, so there is
    never a moment with zero or two live versions (the database enforces one).
    """
    with transaction.atomic():
        version = RuleVersion.objects.select_for_update().get(id=version_id)
        if version.status != VersionStatus.DRAFT:
            raise ValidationError(f"Version {version.number} is {version.get_status_display()}: only drafts publish.")
        rule_version_check(version=version)
        now = timezone.now()
        live = RuleVersion.objects.select_for_update().filter(status=VersionStatus.PUBLISHED).first()
        if live is not None:
            live.status = VersionStatus.ARCHIVED
            live.archived_at = now
            live.save(update_fields=["status", "archived_at"])
        version.status = VersionStatus.PUBLISHED
        version.published_at = now
        version.published_by = user
        version.rescore_total = Lead.objects.filter(merged_into__isnull=True).count()
        version.rescore_done = 0
        version.rescore_started_at = now
        version.rescore_finished_at = None
        version.save(
            update_fields=[
                "status",
                "published_at",
                "published_by",
                "rescore_total",
                "rescore_done",
                "rescore_started_at",
                "rescore_finished_at",
            ]
        )
        # Lost with the broker, the rescore never starts: the periodic drain resumes a
        # rescore that stopped moving (rescoring.rescore_stalled_claim).
        enqueue_on_commit(RESCORE_ALL_TASK, version.id, recovered_by="the periodic drain (stalled rescores resume)")
    return version


def rule_version_install_default(*, user=None) -> RuleVersion:
    """Publish the default rules unless some version is already live (idempotent)."""
    live = rule_version_live()
    if live is not None:
        return live
    draft = rule_version_create_from_document(
        name=DEFAULT_VERSION_NAME,
        document=default_rules(),
        user=user,
        notes="The rules every new team starts with (scoring/engine/defaults.py).",
    )
    return rule_version_publish(version_id=draft.id, user=user)
