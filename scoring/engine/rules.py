"""Rule versions compiled: a validated document (see validation.py for its format) turned into
closures once, cached by version id and content hash.

The names of validation.py are importable from here too, as they were before the split.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from conditions.language import Predicate, compile_condition, condition_fields, make_getter
from scoring.engine.validation import (
    ATTRIBUTE_ROOTS,
    DEFAULT_LOOKBACK_DAYS,
    DEFAULT_PLAN_LIMIT_EVENT,
    DEFAULT_WINDOW_DAYS,
    EVENT_ROOTS,
    EVENT_TYPES,
    KIND_WORD,
    MAX_DAYS,
    MAX_POINTS,
    MAX_RULES_PER_SECTION,
    PATH_KINDS,
    SCHEMA_VERSION,
    SECTION_KIND,
    SECTIONS,
    RuleValidationError,
    _is_event_rule,
    check_version,
    validate_rule,
    validate_version,
)

__all__ = [
    "ATTRIBUTE_ROOTS",
    "DAY",
    "DEFAULT_LOOKBACK_DAYS",
    "DEFAULT_PLAN_LIMIT_EVENT",
    "DEFAULT_WINDOW_DAYS",
    "EVENT_ROOTS",
    "EVENT_TYPES",
    "KIND_WORD",
    "MAX_DAYS",
    "MAX_POINTS",
    "MAX_RULES_PER_SECTION",
    "PATH_KINDS",
    "SCHEMA_VERSION",
    "SECTIONS",
    "SECTION_KIND",
    "AttributeRule",
    "CompiledVersion",
    "EventRule",
    "PqlPath",
    "RuleValidationError",
    "Thresholds",
    "check_version",
    "clear_compiled_cache",
    "compile_version",
    "content_hash",
    "validate_rule",
    "validate_version",
]


# --- compilation --------------------------------------------------------------------------

DAY = 86400.0


@dataclass(frozen=True)
class AttributeRule:
    name: str
    kind: str
    points: float
    bucket: str
    predicate: Predicate
    fields: tuple[str, ...]
    getters: tuple[Any, ...]
    label: str | None


@dataclass(frozen=True)
class EventRule:
    name: str
    kind: str
    points: float
    bucket: str
    event_names: frozenset[str] | None
    event_type: str | None
    predicate: Predicate | None
    max_count: int | None
    max_points: float | None
    window_seconds: float
    half_life_seconds: float | None
    includes_account_events: bool
    label: str | None


@dataclass(frozen=True)
class PqlPath:
    name: str
    kind: str
    segments: frozenset[str] | None
    fit_min: float | None
    includes_account_events: bool
    within_seconds: float
    events: tuple[str, ...]
    predicate: Predicate | None
    ordered: bool
    lookback_seconds: float
    min_active_users: int | None
    min_events: int | None
    min_increase: int | None
    within_days: float
    label: str | None


@dataclass(frozen=True)
class Thresholds:
    fit_min: float
    engagement_min: float
    total_min: float
    hot_total_min: float | None
    grade_a: float
    grade_b: float
    grade_c: float

    def grade(self, fit: float) -> str:
        if fit >= self.grade_a:
            return "A"
        if fit >= self.grade_b:
            return "B"
        if fit >= self.grade_c:
            return "C"
        return "D"


@dataclass(frozen=True)
class CompiledVersion:
    """A validated rule version turned into closures; build it with `compile_version`."""

    version_id: Any
    content_hash: str
    document: dict
    thresholds: Thresholds
    attribute_rules: tuple[AttributeRule, ...]
    event_rules: tuple[EventRule, ...]
    pql_paths: tuple[PqlPath, ...]
    max_window_days: float
    # Whether any fit/engagement rule counts colleagues' events (scope "account"); when none
    # does, matching skips them, which is most of a lead's events in a big account.
    event_rules_read_account: bool = False
    # (event type, event name) -> the event rules that can match it, filled on first sight, so
    # each event is tested only against rules that name it or its type.
    _candidates: dict[tuple[str, str | None], tuple[EventRule, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def rules_for(self, event_type: str, event_name: str | None) -> tuple[EventRule, ...]:
        key = (event_type, event_name)
        rules = self._candidates.get(key)
        if rules is None:
            rules = tuple(
                rule
                for rule in self.event_rules
                if (rule.event_names is None or event_name in rule.event_names)
                and (rule.event_type is None or rule.event_type == event_type)
            )
            if len(self._candidates) < 10_000:  # event names are open-ended; bound the memo
                self._candidates[key] = rules
        return rules


def content_hash(document: Any) -> str:
    """A stable hash of a rule document: same rules, same hash, whatever the key order."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _compile_attribute_rule(kind: str, rule: dict) -> AttributeRule:
    bucket = rule.get("bucket", "fit") if kind == "negative" else "fit"
    return AttributeRule(
        name=rule["name"],
        kind=kind,
        points=float(rule["points"]),
        bucket=bucket,
        predicate=compile_condition(rule["when"]),
        fields=tuple(condition_fields(rule["when"])),
        getters=tuple(make_getter(field) for field in condition_fields(rule["when"])),
        label=rule.get("label"),
    )


def _compile_event_rule(kind: str, rule: dict) -> EventRule:
    names = rule.get("event")
    if isinstance(names, str):
        names = [names]
    half_life = rule.get("half_life_days")
    return EventRule(
        name=rule["name"],
        kind=kind,
        points=float(rule["points"]),
        bucket=rule.get("bucket", "engagement") if kind == "negative" else "engagement",
        event_names=frozenset(names) if names else None,
        event_type=rule.get("event_type"),
        predicate=compile_condition(rule["when"]) if "when" in rule else None,
        max_count=rule.get("max_count"),
        max_points=float(rule["max_points"]) if "max_points" in rule else None,
        window_seconds=float(rule.get("window_days", DEFAULT_WINDOW_DAYS)) * DAY,
        half_life_seconds=float(half_life) * DAY if half_life else None,
        includes_account_events=rule.get("scope", "lead") == "account",
        label=rule.get("label"),
    )


def _compile_path(rule: dict) -> PqlPath:
    kind = rule["kind"]
    default_scope = "lead" if kind == "activation" else "account"
    if kind == "plan_limit":
        events: tuple[str, ...] = (rule.get("event", DEFAULT_PLAN_LIMIT_EVENT),)
    else:
        events = tuple(rule.get("events", ()))
    within_days = float(rule["within_days"])
    return PqlPath(
        name=rule["name"],
        kind=kind,
        segments=frozenset(rule["segments"]) if "segments" in rule else None,
        fit_min=float(rule["fit_min"]) if "fit_min" in rule else None,
        includes_account_events=rule.get("scope", default_scope) == "account",
        within_seconds=within_days * DAY,
        events=events,
        predicate=compile_condition(rule["when"]) if "when" in rule else None,
        ordered=bool(rule.get("ordered", False)),
        lookback_seconds=float(rule.get("lookback_days", DEFAULT_LOOKBACK_DAYS)) * DAY,
        min_active_users=rule.get("min_active_users"),
        min_events=rule.get("min_events"),
        min_increase=rule.get("min_increase"),
        within_days=within_days,
        label=rule.get("label"),
    )


def _build(document: dict, version_id: Any, digest: str) -> CompiledVersion:
    attribute_rules: list[AttributeRule] = []
    event_rules: list[EventRule] = []
    for section, kind in (("fit_rules", "fit"), ("engagement_rules", "engagement"), ("negative_rules", "negative")):
        for rule in document.get(section, []):
            if kind != "fit" and (kind == "engagement" or _is_event_rule(rule)):
                event_rules.append(_compile_event_rule(kind, rule))
            else:
                attribute_rules.append(_compile_attribute_rule(kind, rule))
    paths = tuple(_compile_path(rule) for rule in document.get("pql_paths", []))
    thresholds = document["thresholds"]
    windows = [rule.window_seconds / DAY for rule in event_rules]
    for path in paths:
        windows.append(path.lookback_seconds / DAY if path.kind == "activation" else path.within_days)
    return CompiledVersion(
        version_id=version_id,
        content_hash=digest,
        document=document,
        thresholds=Thresholds(
            fit_min=float(thresholds["mql"]["fit_min"]),
            engagement_min=float(thresholds["mql"]["engagement_min"]),
            total_min=float(thresholds["mql"]["total_min"]),
            hot_total_min=float(thresholds["hot"]["total_min"]) if "hot" in thresholds else None,
            grade_a=float(thresholds["grades"]["A"]),
            grade_b=float(thresholds["grades"]["B"]),
            grade_c=float(thresholds["grades"]["C"]),
        ),
        attribute_rules=tuple(attribute_rules),
        event_rules=tuple(event_rules),
        pql_paths=paths,
        max_window_days=max(windows, default=0.0),
        event_rules_read_account=any(rule.includes_account_events for rule in event_rules),
    )


_CACHE: dict[tuple[Any, str], CompiledVersion] = {}
_CACHE_SIZE = 32


def compile_version(document: Any, *, version_id: Any = None) -> CompiledVersion:
    """Validate and compile a rule version, once: the result is cached by (version id, content hash).

    Raises RuleValidationError when the document does not validate. Keying on the content
    hash as well as the id means an edited draft is recompiled while a published version,
    whose rules cannot change, is compiled once per process.
    """
    digest = content_hash(document)
    key = (version_id, digest)
    compiled = _CACHE.get(key)
    if compiled is not None:
        return compiled
    # Stored versions may name fields from before the catalogue: they compile (and simply read
    # nothing there) rather than stop scoring; saving is where unknown fields are refused.
    check_version(document, known_fields=False)
    # Compile from a private copy so later edits to the caller's dict cannot leak in.
    document = json.loads(json.dumps(document))
    compiled = _build(document, version_id, digest)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = compiled
    return compiled


def clear_compiled_cache() -> None:
    _CACHE.clear()
