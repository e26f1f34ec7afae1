"""A readable list of what changed between two rule version documents."""

from __future__ import annotations

import json
from typing import Any

from scoring.engine.describe import describe_condition
from scoring.engine.rules import KIND_WORD, SECTION_KIND, SECTIONS

_THRESHOLD_WORDS = (
    (("mql", "fit_min"), "MQL fit minimum"),
    (("mql", "engagement_min"), "MQL engagement minimum"),
    (("mql", "total_min"), "MQL total minimum"),
    (("hot", "total_min"), "hot threshold"),
    (("grades", "A"), "grade A from"),
    (("grades", "B"), "grade B from"),
    (("grades", "C"), "grade C from"),
)
_CONDITION_KEYS = ("when",)


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _dig(document: Any, path: tuple[str, ...]) -> Any:
    current = document
    for key in path:
        if not isinstance(current, dict):
            return None
        current = current.get(key)
    return current


def _rules_by_name(document: Any, section: str) -> dict[str, dict]:
    rules = document.get(section) if isinstance(document, dict) else None
    if not isinstance(rules, list):
        return {}
    return {rule["name"]: rule for rule in rules if isinstance(rule, dict) and isinstance(rule.get("name"), str)}


def _rule_changes(old: dict, new: dict) -> list[str]:
    changes = []
    for key in [*old, *(key for key in new if key not in old)]:
        before, after = old.get(key), new.get(key)
        if before == after or key == "name":
            continue
        if key in _CONDITION_KEYS:
            before_text = describe_condition(before) if before is not None else "(none)"
            after_text = describe_condition(after) if after is not None else "(none)"
            changes.append(f"condition: {before_text} → {after_text}")
        else:
            changes.append(f"{key.replace('_', ' ')} {_show(before)} → {_show(after)}")
    return changes


def diff(version_a: dict, version_b: dict) -> list[str]:
    """What changed from `version_a` to `version_b`, one plain sentence per change.

    Rules are matched by name within a section, so a renamed rule shows as removed and added.
    """
    changes: list[str] = []
    for path, words in _THRESHOLD_WORDS:
        before = _dig(version_a, ("thresholds", *path))
        after = _dig(version_b, ("thresholds", *path))
        if before != after:
            changes.append(f"Changed {words}: {_show(before)} → {_show(after)}")
    for section in SECTIONS:
        word = KIND_WORD[SECTION_KIND[section]]
        old_rules, new_rules = _rules_by_name(version_a, section), _rules_by_name(version_b, section)
        for name, rule in new_rules.items():
            if name not in old_rules:
                points = f" ({rule['points']:+g} points)" if isinstance(rule.get("points"), int | float) else ""
                changes.append(f"Added {word} '{name}'{points}")
        for name in old_rules:
            if name not in new_rules:
                changes.append(f"Removed {word} '{name}'")
        for name, old in old_rules.items():
            if name in new_rules and old != new_rules[name]:
                changes.append(f"Changed {word} '{name}': " + "; ".join(_rule_changes(old, new_rules[name])))
        if section == "pql_paths":
            # The first satisfied path is the one recorded, so order is a real change.
            common_old = [name for name in old_rules if name in new_rules]
            common_new = [name for name in new_rules if name in old_rules]
            if common_old != common_new:
                changes.append(f"Changed PQL path order: {', '.join(common_old)} → {', '.join(common_new)}")
    return changes
