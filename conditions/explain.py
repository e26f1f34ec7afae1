"""Why a condition did or did not match a context, in words.

`explain_condition(condition, context)` walks the (validated) condition tree and returns
`(matched, reason)` where the reason names the decisive comparison with the actual value:

    account.employee_count is 40, needs between 100 and 999
    lead.country is 'GB', one of 'DE', 'NL' or 'SE'

For `all` the decisive part is the first comparison that failed (or every comparison when all
held); for `any` it is the first that held (or every one when none did); `not` flips the
wording of what is beneath it ("needs not to contain 'intern'"). Compile once with
`compile_explainer` when the same condition explains many contexts.

Field paths are shown as written (`account.country`), because the people who read routing
audits are the people who write the rules. Used by routing's audit today; any later reader of
conditions (backtests, segments) explains the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conditions.language import MISSING, compile_condition, make_getter

# explainer(context, negated) -> (matched, reason), where matched already accounts for `negated`
Explainer = Callable[[dict, bool], tuple[bool, str]]
SEPARATOR = "; "
_VALUE_LIMIT = 60


def show_value(value: Any) -> str:
    """A value as the audit prints it: text quoted, missing and null as 'unknown'."""
    if value is MISSING or value is None:
        return "unknown"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        text = f"{value:g}"
    elif isinstance(value, str):
        text = "'" + value + "'"
    elif isinstance(value, list | tuple):
        text = "[" + ", ".join(show_value(item) for item in value) + "]"
    else:
        text = str(value)
    return text if len(text) <= _VALUE_LIMIT else text[: _VALUE_LIMIT - 3] + "..."


def _one_of(values: list) -> str:
    shown = [show_value(value) for value in values]
    if not shown:
        return "(nothing)"
    if len(shown) == 1:
        return shown[0]
    return f"{', '.join(shown[:-1])} or {shown[-1]}"


def _phrases(op: str, value: Any, negated: bool) -> tuple[str, str | None]:
    """(what the field needs, what to say when it has it) for a comparison, maybe negated."""
    if op == "exists":
        wants_value = (value is not False) != negated
        return ("a value" if wants_value else "no value"), None
    if op in ("eq", "ne"):
        equal = (op == "eq") != negated
        return (show_value(value), None) if equal else (f"anything but {show_value(value)}", f"not {show_value(value)}")
    if op in ("in", "not_in"):
        inside = (op == "in") != negated
        phrase = f"one of {_one_of(value)}" if inside else f"none of {_one_of(value)}"
        return phrase, phrase
    if op == "contains_any":
        words = ", ".join(str(word) for word in value)
        return (f"not any of the words {words}" if negated else f"any of the words {words}"), (
            f"without any of the words {words}" if negated else f"with one of the words {words}"
        )
    if op == "between":
        phrase = f"between {show_value(value[0])} and {show_value(value[1])}"
    else:
        verbs = {
            "contains": ("to contain", "containing"),
            "icontains": ("to contain", "containing"),
            "startswith": ("to start with", "starting with"),
            "regex": ("to match the pattern", "matching the pattern"),
        }
        if op in verbs:
            shown = value if op == "regex" else show_value(value)
            suffix = " (any case)" if op == "icontains" else ""
            needs, has = verbs[op]
            if negated:
                return f"not {needs} {shown}{suffix}", f"not {has} {shown}{suffix}"
            return f"{needs} {shown}{suffix}", f"{has} {shown}{suffix}"
        phrase = {"gt": "more than", "gte": "at least", "lt": "less than", "lte": "at most"}[op]
        phrase = f"{phrase} {show_value(value)}"
    phrase = f"not {phrase}" if negated else phrase
    return phrase, phrase


def _compile_leaf(node: dict) -> Explainer:
    field = node["field"]
    op = node["op"]
    value = node.get("value", True if op == "exists" else None)
    get = make_getter(field)
    predicate = compile_condition(node)
    wording = {False: _phrases(op, value, False), True: _phrases(op, value, True)}

    def explain(context: dict, negated: bool) -> tuple[bool, str]:
        matched = predicate(context) != negated
        needs, has = wording[negated]
        actual = show_value(get(context))
        if not matched:
            return False, f"{field} is {actual}, needs {needs}"
        return True, f"{field} is {actual}" + (f", {has}" if has else "")

    return explain


def compile_explainer(condition: dict | None) -> Explainer:
    """A fast explainer for a *validated* condition; None or {} always matches."""
    if not condition:
        return lambda context, negated: (not negated, "no condition" if not negated else "never (negated empty)")
    if "not" in condition:
        child = compile_explainer(condition["not"])
        return lambda context, negated: child(context, not negated)
    if "all" in condition or "any" in condition:
        is_all = "all" in condition
        children = tuple(compile_explainer(child) for child in condition["all" if is_all else "any"])

        def explain(context: dict, negated: bool) -> tuple[bool, str]:
            # all(...) holds when every child does; not all(...) when any child's negation does.
            every_child_must_hold = is_all != negated
            reasons = []
            for child in children:
                matched, reason = child(context, negated)
                if matched != every_child_must_hold:
                    return matched, reason
                reasons.append(reason)
            if not reasons:
                return every_child_must_hold, "no condition" if every_child_must_hold else "no alternative"
            return every_child_must_hold, SEPARATOR.join(reasons)

        return explain
    return _compile_leaf(condition)


def explain_condition(condition: dict | None, context: dict) -> tuple[bool, str]:
    """(matched, reason): whether a validated condition holds for `context`, and the decisive part in words."""
    return compile_explainer(condition)(context, False)
