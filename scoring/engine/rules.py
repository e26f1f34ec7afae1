"""Rule versions: the JSON document, its validation and its compilation.

A rule version is one JSON object (stored as-is in a model field):

    {
      "schema": 1,
      "thresholds": {
        "mql": {"fit_min": 40, "engagement_min": 30, "total_min": 75},
        "hot": {"total_min": 130},                 # optional: no "hot" means never hot
        "grades": {"A": 60, "B": 40, "C": 20}      # fit at or above each band; below C is D
      },
      "fit_rules": [         # who the lead is; conditions over lead.* and account.*
        {"name": "Target role", "points": 25, "when": {...}, "description": "...", "label": "..."}
      ],
      "engagement_rules": [  # what the lead did; one entry per matching event, capped and decayed
        {"name": "Pricing page visit", "points": 15, "event_type": "page",
         "when": {"field": "properties.path", "op": "contains", "value": "/pricing"},
         "max_count": 3, "max_points": 45, "window_days": 30, "half_life_days": 14,
         "scope": "lead"}   # "account": colleagues' events count too
      ],
      "negative_rules": [    # points < 0; with "event"/"event_type" like an engagement rule,
                             # otherwise like a fit rule; "bucket" says which score they lower
        {"name": "Free-mail address", "points": -15, "when": {...}}
      ],
      "pql_paths": [         # a lead is PQL when any path holds; the first that holds is named
        {"name": "Activation", "kind": "activation", "events": ["Source Connected", "Job Run"],
         "within_days": 14, "ordered": false, "lookback_days": 90, "scope": "lead"},
        {"name": "Usage depth", "kind": "usage_depth", "min_active_users": 5, "within_days": 7},
        {"name": "Heavy use", "kind": "usage_depth", "min_events": 20, "events": ["Job Run"], "within_days": 30},
        {"name": "Seat growth", "kind": "seat_growth", "min_increase": 3, "within_days": 30},
        {"name": "Plan limit", "kind": "plan_limit", "within_days": 7}
      ]
    }

Every rule may carry a "description" (what a rep reads) and a short "label" used in the
one-line why ("pricing page" -> "pricing page twice"). PQL paths may be scoped to account
segments ("segments": ["smb"]) and may require a minimum fit ("fit_min").

`validate_version` returns plain-word errors naming the rule and the place; `compile_version`
turns a valid document into closures once and caches it by version id and content hash.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from conditions.catalogue import ATTRIBUTE_FIELDS, EVENT_FIELDS
from conditions.language import (
    Predicate,
    compile_condition,
    condition_fields,
    make_getter,
    validate_condition,
)

SCHEMA_VERSION = 1
SECTIONS = ("fit_rules", "engagement_rules", "negative_rules", "pql_paths")
SECTION_KIND = {"fit_rules": "fit", "engagement_rules": "engagement", "negative_rules": "negative", "pql_paths": "pql"}
KIND_WORD = {"fit": "fit rule", "engagement": "engagement rule", "negative": "negative rule", "pql": "PQL path"}
PATH_KINDS = ("activation", "usage_depth", "seat_growth", "plan_limit")
EVENT_TYPES = ("track", "page", "screen", "identify", "group", "alias")
ATTRIBUTE_ROOTS = ("lead", "account")
# The first words an event condition's field may start with: `event.` and, in conditions stored
# before the catalogue, the event's own keys (`properties.path`, `name`).
EVENT_ROOTS = ("event", "name", "type", "properties", "context", "user", "account_level")

MAX_POINTS = 1000
MAX_DAYS = 3650
MAX_RULES_PER_SECTION = 200
DEFAULT_WINDOW_DAYS = 90
DEFAULT_LOOKBACK_DAYS = 90
DEFAULT_PLAN_LIMIT_EVENT = "Plan Limit Reached"

_COMMON_KEYS = ("name", "description", "label")
_EVENT_RULE_KEYS = (
    "points",
    "event",
    "event_type",
    "when",
    "max_count",
    "max_points",
    "window_days",
    "half_life_days",
    "scope",
)
_PATH_KEYS = {
    "activation": ("events", "within_days", "ordered", "lookback_days"),
    "usage_depth": ("within_days", "min_active_users", "min_events", "events", "when"),
    "seat_growth": ("within_days", "min_increase"),
    "plan_limit": ("within_days", "event"),
}
_PATH_COMMON_KEYS = ("kind", "segments", "fit_min", "scope")


class RuleValidationError(ValueError):
    """A rule version that does not validate; `errors` lists every problem in plain words."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


# --- validation ---------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return (type(value) is int or type(value) is float) and math.isfinite(value)


def _is_positive_int(value: Any) -> bool:
    return type(value) is int and value >= 1


def _rule_where(kind: str, rule: Any, index: int | None) -> str:
    name = rule.get("name") if isinstance(rule, dict) else None
    if isinstance(name, str) and name.strip():
        shown = name if len(name) <= 60 else name[:57] + "..."
        return f"{KIND_WORD[kind]} '{shown}'"
    return f"{KIND_WORD[kind]} {index}" if index is not None else KIND_WORD[kind]


def _check_days(rule: dict, key: str, where: str, errors: list[str], *, required: bool) -> None:
    if key not in rule:
        if required:
            errors.append(f"{where}: missing '{key}' (a number of days)")
        return
    value = rule[key]
    if not _is_number(value) or not 0 < value <= MAX_DAYS:
        errors.append(f"{where}: '{key}' must be a number of days between 1 and {MAX_DAYS}, not {value!r:.40}")


def _check_event_names(value: Any, where: str, key: str, errors: list[str], *, allow_single: bool) -> None:
    names = [value] if allow_single and isinstance(value, str) else value
    if not isinstance(names, list) or not names:
        shape = "an event name or a list of event names" if allow_single else "a non-empty list of event names"
        errors.append(f"{where}: '{key}' must be {shape}")
        return
    for name in names:
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            errors.append(f"{where}: '{key}' has an invalid event name {name!r:.40}")
            return
    if len(set(names)) != len(names):
        errors.append(f"{where}: '{key}' lists the same event twice")


def _check_points(rule: dict, where: str, errors: list[str], *, negative: bool) -> None:
    if "points" not in rule:
        errors.append(f"{where}: missing 'points'")
        return
    points = rule["points"]
    if not _is_number(points) or abs(points) > MAX_POINTS:
        errors.append(f"{where}: 'points' must be a number between -{MAX_POINTS} and {MAX_POINTS}, not {points!r:.40}")
    elif negative and points >= 0:
        errors.append(f"{where}: a negative rule needs points below zero, not {points}")


def _check_common(rule: dict, where: str, allowed: tuple[str, ...], errors: list[str]) -> None:
    unknown = sorted(str(key) for key in rule if key not in allowed)
    if unknown:
        errors.append(
            f"{where}: unknown key {', '.join(repr(key) for key in unknown)}; expected some of {', '.join(allowed)}"
        )
    name = rule.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.append(f"{where}: needs a 'name'")
    elif len(name) > 100:
        errors.append(f"{where}: the name is longer than 100 characters")
    for key, limit in (("description", 1000), ("label", 60)):
        if key in rule and (not isinstance(rule[key], str) or len(rule[key]) > limit):
            errors.append(f"{where}: '{key}' must be text of at most {limit} characters")


def _is_event_rule(rule: dict) -> bool:
    return "event" in rule or "event_type" in rule


def _check_when(condition: Any, where: str, errors: list[str], *, on_events: bool, known_fields: bool) -> None:
    """The rule's condition; with `known_fields`, every field must be in the catalogue (see conditions/)."""
    if known_fields:
        fields = EVENT_FIELDS if on_events else ATTRIBUTE_FIELDS
        errors.extend(validate_condition(condition, where=f"{where}: condition", fields=fields))
    else:
        roots = EVENT_ROOTS if on_events else ATTRIBUTE_ROOTS
        errors.extend(validate_condition(condition, where=f"{where}: condition", roots=roots))


def _check_event_rule(rule: dict, where: str, errors: list[str], *, known_fields: bool) -> None:
    if "event" in rule:
        _check_event_names(rule["event"], where, "event", errors, allow_single=True)
    if "event_type" in rule and rule["event_type"] not in EVENT_TYPES:
        errors.append(f"{where}: 'event_type' {rule['event_type']!r:.40} is not one of {', '.join(EVENT_TYPES)}")
    if "when" in rule:
        _check_when(rule["when"], where, errors, on_events=True, known_fields=known_fields)
    if "max_count" in rule and not _is_positive_int(rule["max_count"]):
        errors.append(f"{where}: 'max_count' must be a whole number of at least 1, not {rule['max_count']!r:.40}")
    if "max_points" in rule:
        value = rule["max_points"]
        if not _is_number(value) or not 0 < value <= MAX_POINTS * 10:
            errors.append(f"{where}: 'max_points' must be a positive number (a cap on the rule's total size)")
    _check_days(rule, "window_days", where, errors, required=False)
    _check_days(rule, "half_life_days", where, errors, required=False)
    if rule.get("scope", "lead") not in ("lead", "account"):
        errors.append(f"{where}: 'scope' must be 'lead' or 'account', not {rule['scope']!r:.40}")


def _check_path(rule: dict, where: str, errors: list[str], *, known_fields: bool) -> None:
    kind = rule.get("kind")
    if kind not in PATH_KINDS:
        errors.append(f"{where}: 'kind' {kind!r:.40} is not one of {', '.join(PATH_KINDS)}")
        return
    _check_common(rule, where, _COMMON_KEYS + _PATH_COMMON_KEYS + _PATH_KEYS[kind], errors)
    _check_days(rule, "within_days", where, errors, required=True)
    if "segments" in rule:
        segments = rule["segments"]
        if (
            not isinstance(segments, list)
            or not segments
            or not all(isinstance(item, str) and item for item in segments)
        ):
            errors.append(f"{where}: 'segments' must be a non-empty list of segment names")
    if "fit_min" in rule and not _is_number(rule["fit_min"]):
        errors.append(f"{where}: 'fit_min' must be a number")
    if rule.get("scope", "account") not in ("lead", "account"):
        errors.append(f"{where}: 'scope' must be 'lead' or 'account', not {rule['scope']!r:.40}")
    if kind == "activation":
        if "events" not in rule:
            errors.append(f"{where}: an activation path needs 'events', the steps to complete")
        else:
            _check_event_names(rule["events"], where, "events", errors, allow_single=False)
        if "ordered" in rule and type(rule["ordered"]) is not bool:
            errors.append(f"{where}: 'ordered' must be true or false")
        _check_days(rule, "lookback_days", where, errors, required=False)
        within, lookback = rule.get("within_days"), rule.get("lookback_days", DEFAULT_LOOKBACK_DAYS)
        if _is_number(within) and _is_number(lookback) and lookback < within:
            errors.append(f"{where}: 'lookback_days' ({lookback}) must be at least 'within_days' ({within})")
    elif kind == "usage_depth":
        has_users, has_events = "min_active_users" in rule, "min_events" in rule
        if has_users == has_events:
            errors.append(f"{where}: a usage depth path needs exactly one of 'min_active_users' or 'min_events'")
        for key in ("min_active_users", "min_events"):
            if key in rule and not _is_positive_int(rule[key]):
                errors.append(f"{where}: '{key}' must be a whole number of at least 1")
        if has_events and "events" not in rule:
            errors.append(f"{where}: 'min_events' needs 'events', the events to count")
        if "events" in rule:
            _check_event_names(rule["events"], where, "events", errors, allow_single=False)
        if "when" in rule:
            _check_when(rule["when"], where, errors, on_events=True, known_fields=known_fields)
    elif kind == "seat_growth":
        if not _is_positive_int(rule.get("min_increase")):
            errors.append(f"{where}: a seat growth path needs 'min_increase', a whole number of at least 1")
    elif kind == "plan_limit":
        event = rule.get("event", DEFAULT_PLAN_LIMIT_EVENT)
        if not isinstance(event, str) or not event.strip():
            errors.append(f"{where}: 'event' must be an event name")


def validate_rule(kind: str, rule: Any, *, index: int | None = None, known_fields: bool = True) -> list[str]:
    """Plain-word errors for one rule of `kind` (fit, engagement, negative or pql); [] when valid.

    Usable on its own for a rule edited inline in the admin. Never raises. `known_fields`
    (the default, for anything being saved): each field a condition names must be in the
    field catalogue and support its operator. Compiling a stored version checks only the
    shape (`known_fields=False`), so versions saved before the catalogue keep scoring.
    """
    if kind not in KIND_WORD:
        return [f"unknown rule kind {kind!r:.40}; expected one of {', '.join(KIND_WORD)}"]
    where = _rule_where(kind, rule, index)
    if not isinstance(rule, dict):
        return [f"{where}: must be an object, not {type(rule).__name__}"]
    errors: list[str] = []
    if kind == "pql":
        _check_path(rule, where, errors, known_fields=known_fields)
        return errors
    if kind == "fit" or (kind == "negative" and not _is_event_rule(rule)):
        allowed = _COMMON_KEYS + ("points", "when") + (("bucket",) if kind == "negative" else ())
        _check_common(rule, where, allowed, errors)
        _check_points(rule, where, errors, negative=kind == "negative")
        if "when" not in rule:
            errors.append(f"{where}: missing 'when', the condition on lead.* or account.* attributes")
        else:
            _check_when(rule["when"], where, errors, on_events=False, known_fields=known_fields)
    else:
        allowed = _COMMON_KEYS + _EVENT_RULE_KEYS + (("bucket",) if kind == "negative" else ())
        _check_common(rule, where, allowed, errors)
        _check_points(rule, where, errors, negative=kind == "negative")
        if not _is_event_rule(rule):
            errors.append(f"{where}: needs 'event' (an event name or list of names) or 'event_type' (e.g. page)")
        _check_event_rule(rule, where, errors, known_fields=known_fields)
    if kind == "negative" and rule.get("bucket", "fit") not in ("fit", "engagement"):
        errors.append(f"{where}: 'bucket' must be 'fit' or 'engagement', not {rule['bucket']!r:.40}")
    return errors


def _check_thresholds(thresholds: Any, errors: list[str]) -> None:
    if not isinstance(thresholds, dict):
        errors.append("thresholds: missing, or not an object with 'mql', 'hot' and 'grades'")
        return
    unknown = sorted(str(key) for key in thresholds if key not in ("mql", "hot", "grades"))
    if unknown:
        errors.append(f"thresholds: unknown key {', '.join(repr(key) for key in unknown)}; expected mql, hot, grades")
    mql = thresholds.get("mql")
    if not isinstance(mql, dict):
        errors.append("thresholds: 'mql' must be an object with fit_min, engagement_min and total_min")
    else:
        for key in ("fit_min", "engagement_min", "total_min"):
            if not _is_number(mql.get(key)):
                errors.append(f"thresholds: MQL '{key}' must be a number")
        unknown = sorted(str(key) for key in mql if key not in ("fit_min", "engagement_min", "total_min"))
        if unknown:
            errors.append(f"thresholds: unknown MQL key {', '.join(repr(key) for key in unknown)}")
    if "hot" in thresholds:
        hot = thresholds["hot"]
        if not isinstance(hot, dict) or set(hot) != {"total_min"} or not _is_number(hot["total_min"]):
            errors.append("thresholds: 'hot' must be an object with a numeric 'total_min'")
    grades = thresholds.get("grades")
    if not isinstance(grades, dict) or set(grades) != {"A", "B", "C"}:
        errors.append(
            'thresholds: \'grades\' must give the lowest fit for A, B and C, like {"A": 60, "B": 40, "C": 20}'
        )
    elif not all(_is_number(grades[key]) for key in "ABC"):
        errors.append("thresholds: each grade band must be a number")
    elif not grades["A"] > grades["B"] > grades["C"]:
        errors.append("thresholds: grade bands must go down: A above B above C")


def validate_version(document: Any, *, known_fields: bool = True) -> list[str]:
    """Every problem in a rule version document, in plain words; [] when it is valid. Never raises.

    `known_fields`: as for `validate_rule` (on for saving, off for compiling what is stored)."""
    if not isinstance(document, dict):
        return ["the rule version must be a JSON object with thresholds, fit_rules, engagement_rules, ..."]
    errors: list[str] = []
    allowed = ("schema", "thresholds", *SECTIONS)
    unknown = sorted(str(key) for key in document if key not in allowed)
    if unknown:
        errors.append(f"unknown section {', '.join(repr(key) for key in unknown)}; expected {', '.join(allowed)}")
    if document.get("schema", SCHEMA_VERSION) != SCHEMA_VERSION:
        errors.append(f"'schema' must be {SCHEMA_VERSION}")
    _check_thresholds(document.get("thresholds"), errors)
    names: dict[str, str] = {}
    for section in SECTIONS:
        rules = document.get(section, [])
        if not isinstance(rules, list):
            errors.append(f"'{section}' must be a list")
            continue
        if len(rules) > MAX_RULES_PER_SECTION:
            errors.append(f"'{section}' has {len(rules)} rules; the limit is {MAX_RULES_PER_SECTION}")
            continue
        kind = SECTION_KIND[section]
        for index, rule in enumerate(rules, start=1):
            errors.extend(validate_rule(kind, rule, index=index, known_fields=known_fields))
            name = rule.get("name") if isinstance(rule, dict) else None
            if isinstance(name, str) and name.strip():
                key = name.strip().casefold()
                if key in names:
                    errors.append(f"{_rule_where(kind, rule, index)}: the name is already used by a {names[key]}")
                else:
                    names[key] = KIND_WORD[kind]
    return errors


def check_version(document: Any, *, known_fields: bool = True) -> None:
    """Raise RuleValidationError listing every problem, if there is one."""
    errors = validate_version(document, known_fields=known_fields)
    if errors:
        raise RuleValidationError(errors)


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
