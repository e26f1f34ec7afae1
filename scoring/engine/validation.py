"""Rule versions: the JSON document and its validation.

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

`validate_version` returns plain-word errors naming the rule and the place (this module);
`compile_version` (rules.py) turns a valid document into closures once and caches it by
version id and content hash.
"""

from __future__ import annotations

import math
from typing import Any

from conditions.catalogue import ATTRIBUTE_FIELDS, EVENT_FIELDS
from conditions.language import validate_condition

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
