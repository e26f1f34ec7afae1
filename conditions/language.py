"""The condition language: declarative JSON, validated, then compiled to closures.

A condition is either a comparison

    {"field": "properties.path", "op": "contains", "value": "/pricing"}

or a combination: {"all": [...]}, {"any": [...]}, {"not": {...}}.

`field` is a dotted path into nested dicts (`lead.title`, `account.employee_count`,
`properties.asset_type`). Operators:

    eq, ne            equal / not equal (exact; numbers compare by value, booleans are not numbers)
    in, not_in        value is a list of scalars; the field equals one of them / none of them
    contains          string field contains the string value, or list field has the value as an item
    icontains         the same, ignoring case
    contains_any      value is a list of words; the text field contains any of them as whole
                      words, ignoring case ("VP Data" contains any of "vp", "head"), or the list
                      field has an item that does
    startswith        string field starts with the string value
    regex             string field matches the pattern (searched, Python syntax, safe subset below)
    gt, gte, lt, lte  numeric comparison with a number
    between           numeric, inclusive: value is [low, high]
    exists            value true: the field is present and not null; false: the opposite

Field names are checked against a field catalogue when one is given (see catalogue.py):
an unknown name is refused with the closest known names suggested, and so is an operator the
field's type does not support. Without a catalogue only the shape of the name is checked
(and, optionally, its first word), which is how stored conditions are compiled: a version
saved before the catalogue existed keeps working.

A missing field, or a field of the wrong type (gt on a string), makes a comparison false;
`ne` and `not_in` are the negations of `eq` and `in`, so they are true for a missing field.
Evaluation never raises.

Regex patterns are limited to a subset that cannot backtrack catastrophically: at most
200 characters, no backreferences or lookarounds, no quantifier applied to a group that
contains another quantifier or an alternation, at most two variable-length quantifiers;
they are matched against the first 256 characters of the field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, Protocol

from conditions.patterns import REGEX_SUBJECT_LIMIT, check_regex, words_pattern

OPERATORS = (
    "eq",
    "ne",
    "in",
    "not_in",
    "contains",
    "icontains",
    "contains_any",
    "startswith",
    "regex",
    "gt",
    "gte",
    "lt",
    "lte",
    "between",
    "exists",
)
COMBINATORS = ("all", "any", "not")

MAX_DEPTH = 8
MAX_NODES = 200
MAX_FIELD_LENGTH = 200
MAX_STRING_VALUE_LENGTH = 1000
MAX_LIST_VALUE_ITEMS = 500
MAX_WORD_LENGTH = 100

_FIELD_SEGMENT = re.compile(r"^[A-Za-z0-9_\-$@]+$")

Predicate = Callable[[Any], bool]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class FieldChecker(Protocol):
    """What validation asks of a field catalogue (catalogue.Catalogue is one)."""

    def problem(self, field: str, op: str) -> str | None:
        """Why `field` may not be compared with `op` (unknown field, unsupported operator), or None."""


# --- validation ---------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return (type(value) is int or type(value) is float) and math.isfinite(value)


def _is_scalar(value: Any) -> bool:
    return value is None or type(value) in (str, bool) or _is_number(value)


def _describe_type(value: Any) -> str:
    if value is None:
        return "null"
    if type(value) is bool:
        return "true/false"
    if _is_number(value):
        return "a number"
    if type(value) in (int, float):
        return "a number that is not finite"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_field(field: Any, *, roots: tuple[str, ...] | None = None) -> str | None:
    """Why `field` is not a valid dotted path (optionally restricted to some roots), or None."""
    if not isinstance(field, str) or not field:
        return f"'field' must be a dotted path such as 'properties.path', not {_describe_type(field)}"
    if len(field) > MAX_FIELD_LENGTH:
        return f"field path is longer than {MAX_FIELD_LENGTH} characters"
    segments = field.split(".")
    for segment in segments:
        if not _FIELD_SEGMENT.match(segment):
            return f"field {_short(field)} has an empty or invalid part {_short(segment)} (use letters, digits, _ or -)"
    if roots is not None and segments[0] not in roots:
        return f"field {_short(field)} must start with one of {', '.join(roots)}"
    return None


def _check_value(op: str, value: Any, has_value: bool) -> str | None:
    if op == "exists":
        if has_value and type(value) is not bool:
            return f"operator 'exists' takes true or false, not {_describe_type(value)}"
        return None
    if not has_value:
        return f"operator '{op}' needs a 'value'"
    if op in ("eq", "ne"):
        if not _is_scalar(value):
            return f"operator '{op}' compares with text, a number, true/false or null, not {_describe_type(value)}"
        if isinstance(value, str) and len(value) > MAX_STRING_VALUE_LENGTH:
            return f"the value is longer than {MAX_STRING_VALUE_LENGTH} characters"
        return None
    if op in ("in", "not_in"):
        if not isinstance(value, list):
            return f"operator '{op}' needs a list of values, not {_describe_type(value)}"
        if len(value) > MAX_LIST_VALUE_ITEMS:
            return f"the list has {len(value)} values; the limit is {MAX_LIST_VALUE_ITEMS}"
        for index, item in enumerate(value, start=1):
            if not _is_scalar(item):
                return (
                    f"value {index} in the list must be text, a number, true/false or null, not {_describe_type(item)}"
                )
            if isinstance(item, str) and len(item) > MAX_STRING_VALUE_LENGTH:
                return f"value {index} in the list is longer than {MAX_STRING_VALUE_LENGTH} characters"
        return None
    if op in ("contains", "icontains", "startswith"):
        if op == "contains" and _is_scalar(value) and not isinstance(value, str):
            return None  # a list field can contain a number or boolean
        if not isinstance(value, str) or not value:
            return f"operator '{op}' needs non-empty text, not {_describe_type(value)}"
        if len(value) > MAX_STRING_VALUE_LENGTH:
            return f"the value is longer than {MAX_STRING_VALUE_LENGTH} characters"
        return None
    if op == "contains_any":
        if not isinstance(value, list) or not value:
            return f"operator 'contains_any' needs a non-empty list of words, not {_describe_type(value)}"
        if len(value) > MAX_LIST_VALUE_ITEMS:
            return f"the list has {len(value)} words; the limit is {MAX_LIST_VALUE_ITEMS}"
        for index, item in enumerate(value, start=1):
            if not isinstance(item, str) or not item.strip():
                return f"word {index} in the list must be non-empty text, not {_describe_type(item)}"
            if len(item) > MAX_WORD_LENGTH:
                return f"word {index} in the list is longer than {MAX_WORD_LENGTH} characters"
        return None
    if op == "regex":
        if not isinstance(value, str) or not value:
            return f"operator 'regex' needs a pattern as text, not {_describe_type(value)}"
        return check_regex(value)
    if op in ("gt", "gte", "lt", "lte"):
        if not _is_number(value):
            return f"operator '{op}' needs a number, not {_describe_type(value)}"
        return None
    if op == "between":
        if not isinstance(value, list) or len(value) != 2 or not all(_is_number(item) for item in value):
            return "operator 'between' needs a list of two numbers [low, high]"
        if value[0] > value[1]:
            return f"operator 'between' needs low <= high, got [{value[0]}, {value[1]}]"
        return None
    return None  # unreachable: op was checked against OPERATORS


def validate_condition(
    condition: Any,
    *,
    where: str = "condition",
    roots: tuple[str, ...] | None = None,
    fields: FieldChecker | None = None,
) -> list[str]:
    """Plain-word errors for a condition, each prefixed with its location; [] when valid.

    `fields`: a catalogue the field names and operators must fit (checked after the shape of
    the name and before the value). Never raises, whatever `condition` is. Locations count
    from 1: "condition 2.1" is the first child of the second child of the top-level combination.
    """
    errors: list[str] = []
    nodes = 0

    def visit(node: Any, location: str, depth: int) -> None:
        nonlocal nodes
        nodes += 1
        if nodes > MAX_NODES:
            if nodes == MAX_NODES + 1:
                errors.append(f"{where}: has more than {MAX_NODES} parts")
            return
        if depth > MAX_DEPTH:
            errors.append(f"{location}: is nested more than {MAX_DEPTH} levels deep")
            return
        if not isinstance(node, dict):
            errors.append(
                f'{location}: must be an object like {{"field": ..., "op": ..., "value": ...}}, '
                f"not {_describe_type(node)}"
            )
            return
        combinators = [key for key in COMBINATORS if key in node]
        if combinators:
            if len(node) != 1:
                extra = ", ".join(sorted(repr(str(key)) for key in node if key != combinators[0]))
                errors.append(f"{location}: '{combinators[0]}' must be the only key, found also {extra}")
                return
            key = combinators[0]
            children = node[key]
            if key == "not":
                visit(children, f"{location} (not)", depth + 1)
                return
            if not isinstance(children, list) or not children:
                errors.append(f"{location}: '{key}' needs a non-empty list of conditions")
                return
            for index, child in enumerate(children, start=1):
                child_location = f"{location}.{index}" if location != where else f"{where} {index}"
                visit(child, child_location, depth + 1)
            return
        unknown = sorted(str(key) for key in node if key not in ("field", "op", "value"))
        if unknown:
            errors.append(
                f"{location}: unknown key {', '.join(repr(key) for key in unknown)}; "
                "a condition has 'field', 'op' and 'value', or one of 'all', 'any', 'not'"
            )
            return
        if "field" not in node:
            errors.append(f"{location}: missing 'field'")
            return
        problem = check_field(node["field"], roots=roots)
        if problem:
            errors.append(f"{location}: {problem}")
            return
        op = node.get("op")
        if op not in OPERATORS:
            shown = _short(op) if isinstance(op, str) else _describe_type(op)
            errors.append(f"{location}: operator {shown} is not one of {', '.join(OPERATORS)}")
            return
        if fields is not None:
            problem = fields.problem(node["field"], op)
            if problem:
                errors.append(f"{location}: {problem}")
                return
        problem = _check_value(op, node.get("value"), "value" in node)
        if problem:
            errors.append(f"{location}: {problem}")

    try:
        visit(condition, where, 1)
    except RecursionError:
        errors.append(f"{where}: is nested too deeply")
    return errors


# --- compilation --------------------------------------------------------------------------


def make_getter(field: str) -> Callable[[Any], Any]:
    """A closure reading a dotted path from nested dicts; MISSING when any step is absent."""
    segments = tuple(field.split("."))
    if len(segments) == 1:
        (first,) = segments

        def get_one(context: Any) -> Any:
            return context.get(first, MISSING) if type(context) is dict else MISSING

        return get_one
    if len(segments) == 2:
        first, second = segments

        def get_two(context: Any) -> Any:
            if type(context) is not dict:
                return MISSING
            inner = context.get(first, MISSING)
            return inner.get(second, MISSING) if type(inner) is dict else MISSING

        return get_two
    if len(segments) == 3:
        # `event.properties.path`: the common shape of event conditions, read for every event.
        first, second, third = segments

        def get_three(context: Any) -> Any:
            if type(context) is not dict:
                return MISSING
            inner = context.get(first, MISSING)
            if type(inner) is not dict:
                return MISSING
            inner = inner.get(second, MISSING)
            return inner.get(third, MISSING) if type(inner) is dict else MISSING

        return get_three

    def get_many(context: Any) -> Any:
        current = context
        for segment in segments:
            if type(current) is not dict:
                return MISSING
            current = current.get(segment, MISSING)
        return current

    return get_many


def _equals(left: Any, right: Any) -> bool:
    # bool is an int in Python; in the condition language true is not 1.
    if type(left) is bool or type(right) is bool:
        return type(left) is type(right) and left == right
    try:
        return bool(left == right)
    except Exception:  # noqa: BLE001 - exotic values must never crash scoring
        return False


def _compile_comparison(node: dict) -> Predicate:
    get = make_getter(node["field"])
    op = node["op"]
    value = node.get("value", True if op == "exists" else None)

    if op == "eq":
        return lambda context: _equals(get(context), value)
    if op == "ne":
        return lambda context: not _equals(get(context), value)
    if op in ("in", "not_in"):
        hashable = {(type(item) is bool, item) for item in value}

        def is_in(context: Any) -> bool:
            actual = get(context)
            if actual is None or type(actual) in (str, bool, int, float):
                try:
                    return (type(actual) is bool, actual) in hashable
                except TypeError:
                    return False
            return False

        if op == "in":
            return is_in
        return lambda context: not is_in(context)
    if op == "contains":

        def contains(context: Any) -> bool:
            actual = get(context)
            if type(actual) is str:
                return isinstance(value, str) and value in actual
            if type(actual) is list:
                return any(_equals(item, value) for item in actual)
            return False

        return contains
    if op == "icontains":
        folded = value.casefold()

        def icontains(context: Any) -> bool:
            actual = get(context)
            if type(actual) is str:
                return folded in actual.casefold()
            if type(actual) is list:
                return any(type(item) is str and item.casefold() == folded for item in actual)
            return False

        return icontains
    if op == "contains_any":
        search = words_pattern(value).search

        def contains_any(context: Any) -> bool:
            actual = get(context)
            if type(actual) is str:
                return search(actual) is not None
            if type(actual) is list:
                return any(type(item) is str and search(item) is not None for item in actual)
            return False

        return contains_any
    if op == "startswith":

        def startswith(context: Any) -> bool:
            actual = get(context)
            return type(actual) is str and actual.startswith(value)

        return startswith
    if op == "regex":
        search = re.compile(value).search

        def matches(context: Any) -> bool:
            actual = get(context)
            return type(actual) is str and search(actual[:REGEX_SUBJECT_LIMIT]) is not None

        return matches
    if op in ("gt", "gte", "lt", "lte"):
        compare = {
            "gt": lambda actual: actual > value,
            "gte": lambda actual: actual >= value,
            "lt": lambda actual: actual < value,
            "lte": lambda actual: actual <= value,
        }[op]

        def numeric(context: Any) -> bool:
            actual = get(context)
            return (type(actual) is int or type(actual) is float) and compare(actual)

        return numeric
    if op == "between":
        low, high = value

        def between(context: Any) -> bool:
            actual = get(context)
            return (type(actual) is int or type(actual) is float) and low <= actual <= high

        return between
    if op == "exists":
        if value:
            return lambda context: get(context) not in (MISSING, None)
        return lambda context: get(context) in (MISSING, None)
    raise ValueError(f"unknown operator {op!r}")  # validation rules this out


def compile_condition(condition: dict) -> Predicate:
    """Turn a *validated* condition into one fast predicate over a context dict."""
    if "all" in condition:
        children = tuple(compile_condition(child) for child in condition["all"])
        if len(children) == 1:
            return children[0]
        return lambda context: all(child(context) for child in children)
    if "any" in condition:
        children = tuple(compile_condition(child) for child in condition["any"])
        if len(children) == 1:
            return children[0]
        return lambda context: any(child(context) for child in children)
    if "not" in condition:
        child = compile_condition(condition["not"])
        return lambda context: not child(context)
    return _compile_comparison(condition)


def condition_fields(condition: Any) -> list[str]:
    """The field paths a (validated) condition reads, in order, without duplicates."""
    fields: list[str] = []

    def visit(node: Any) -> None:
        if not isinstance(node, dict):
            return
        if "field" in node:
            if node["field"] not in fields:
                fields.append(node["field"])
            return
        for key in ("all", "any"):
            for child in node.get(key) or ():
                visit(child)
        if "not" in node:
            visit(node["not"])

    visit(condition)
    return fields
