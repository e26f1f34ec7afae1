"""Reads for scoring: the live version, rule documents, and the facts the engine needs."""

from collections.abc import Iterable

from scoring.engine import (
    CompiledVersion,
    compile_version,
    describe,
)
from scoring.models import Rule, RuleKind, RuleVersion, VersionStatus

SECTION_FOR_KIND = {
    RuleKind.FIT: "fit_rules",
    RuleKind.ENGAGEMENT: "engagement_rules",
    RuleKind.NEGATIVE: "negative_rules",
    RuleKind.PQL: "pql_paths",
}


def rule_version_live() -> RuleVersion | None:
    return RuleVersion.objects.filter(status=VersionStatus.PUBLISHED).first()


def rule_as_engine_dict(rule: Rule) -> dict:
    """One rule row in the engine's document format (scoring/engine/rules.py)."""
    document = dict(rule.definition or {}) if isinstance(rule.definition, dict) else {}
    document["name"] = rule.name
    if rule.description:
        document["description"] = rule.description
    if rule.kind != RuleKind.PQL:
        document["points"] = rule.points
    return document


def rule_version_document(version: RuleVersion, rules: Iterable[Rule] | None = None) -> dict:
    """The whole version as the engine's JSON document."""
    document: dict = {
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
        **{section: [] for section in SECTION_FOR_KIND.values()},
    }
    rules = version.rules.order_by("position", "id") if rules is None else rules
    for rule in rules:
        document[SECTION_FOR_KIND[rule.kind]].append(rule_as_engine_dict(rule))
    return document


# The rule sections in the order and words every page shows them.
SECTION_TITLES = {
    "fit_rules": "Fit: who the lead is",
    "engagement_rules": "Engagement: what the lead did",
    "negative_rules": "Negative signals",
}


def rule_version_definitions(version: RuleVersion, document: dict | None = None) -> dict:
    """A version in words (`describe`), with its rules grouped in titled sections.

    The one describing read behind the stage definitions page and the lead workspace's
    score card, so a rule reads the same wherever a rep meets it.
    """
    definitions = describe(document if document is not None else rule_version_document(version))
    sections = []
    for section, title in SECTION_TITLES.items():
        rules = [rule for rule in definitions["rules"] if rule["section"] == section]
        if rules:
            sections.append({"title": title, "rules": rules})
    return {**definitions, "sections": sections}


def rule_version_compiled(version: RuleVersion) -> CompiledVersion:
    """Compiled once per process for a published version (its content cannot change)."""
    return compile_version(rule_version_document(version), version_id=version.pk)


# The facts' reads live in selectors_facts; their public names are here too, where callers found them.
from scoring.selectors_facts import (  # noqa: E402
    AccountSignals,
    account_lead_parts,
    account_signals,
    accounts_for_scoring,
    leads_for_scoring,
    scoring_facts_for_accounts,
    scoring_facts_for_leads,
)

__all__ = [
    "SECTION_FOR_KIND",
    "SECTION_TITLES",
    "AccountSignals",
    "account_lead_parts",
    "account_signals",
    "accounts_for_scoring",
    "leads_for_scoring",
    "rule_as_engine_dict",
    "rule_version_compiled",
    "rule_version_definitions",
    "rule_version_document",
    "rule_version_live",
    "scoring_facts_for_accounts",
    "scoring_facts_for_leads",
]
