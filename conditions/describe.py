"""Conditions in plain words: "the lead's title contains any of VP, Head, Director or Chief".

`describe_condition` turns a (validated) condition into a phrase a rep understands. Field
names become the catalogue's words ("the lead's email domain"); names the catalogue lacks
(conditions stored before it existed) are spelled out from their parts. A regular expression
that is only a list of whole words, as older default rules wrote them
(`(?i)\\b(vp|head|director)\\b`), reads as that list of words.
"""

from __future__ import annotations

import re
from typing import Any

from conditions.catalogue import BOOLEAN, CATALOGUE

_ROOT_WORDS = {
    "lead": "the lead's",
    "account": "the account's",
    "score": "the lead's",
    "properties": "the event's",
    "context": "the event context's",
}


def describe_field(field: str) -> str:
    """A field as a sentence names it: `lead.email_domain` -> "the lead's email domain"."""
    known = CATALOGUE.field(field)
    segments = field.split(".")
    if known is not None and not known.is_family and known.type != BOOLEAN:
        return known.words
    if known is not None and known.is_family:
        key = field[len(known.name) - 1 :] if field.startswith(known.name[:-1]) else segments[-1]
        owner = {"lead": "the lead's", "account": "the account's"}.get(known.group)
        if owner is None:
            owner = "the event context's" if ".context." in known.name else "the event's"
        return f"{owner} {key.replace('_', ' ').replace('.', ' ')}"
    if known is not None:
        return known.words
    if len(segments) == 1:
        return field.replace("_", " ")
    owner = _ROOT_WORDS.get(segments[0], segments[0].replace("_", " ") + "'s")
    return f"{owner} {' '.join(segment.replace('_', ' ') for segment in segments[1:])}"


def show_value(value: Any) -> str:
    if value is None:
        return "empty"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if type(value) is int and abs(value) >= 10000:
        return f"{value:,}"  # 10,000 employees, as a rep writes it
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return f"'{value}'"
    return str(value)


def one_of(values: list, joiner: str = "or") -> str:
    """'a', 'b' or 'c'."""
    return list_words([show_value(value) for value in values], joiner)


def list_words(shown: list[str], joiner: str = "or") -> str:
    """a, b or c (already shown)."""
    if not shown:
        return "(nothing)"
    if len(shown) == 1:
        return shown[0]
    return f"{', '.join(shown[:-1])} {joiner} {shown[-1]}"


# `(?i)\b(vp|vice president|head)\b`: a list of whole words, ignoring case, written as a regex.
_WORD_LIST_REGEX = re.compile(r"^\(\?i\)\\b\((?P<words>[A-Za-z0-9 _&/-]+(?:\|[A-Za-z0-9 _&/-]+)*)\)\\b$")


def regex_as_words(pattern: Any) -> list[str] | None:
    """The words of a regex that only finds whole words ignoring case, or None for any other."""
    if not isinstance(pattern, str):
        return None
    found = _WORD_LIST_REGEX.match(pattern)
    return found.group("words").split("|") if found else None


def _boolean_phrase(field: str, value: bool, op: str) -> str | None:
    """ "the lead is unsubscribed" / "the lead has no owner", instead of "... is yes"."""
    holds = (op == "eq") == value
    known = CATALOGUE.field(field)
    if known is not None and known.type == BOOLEAN and not known.is_family:
        words = known.words
    else:
        segments = field.split(".")
        if len(segments) != 2 or not segments[1].startswith("is_"):
            return None
        owner = _ROOT_WORDS.get(segments[0], segments[0]).removesuffix("'s")
        words = f"{owner} is {segments[1][3:].replace('_', ' ')}"
    if holds:
        return words
    for positive, negative in ((" is ", " is not "), (" has an ", " has no "), (" makes ", " does not make ")):
        if positive in words:
            return words.replace(positive, negative, 1)
    return f"not ({words})"


def describe_condition(condition: Any) -> str:
    """A (validated) condition in words: "the lead's title contains any of VP or Head and ..."."""
    if not isinstance(condition, dict):
        return "(invalid condition)"
    if "all" in condition:
        return " and ".join(_nested(child) for child in condition["all"])
    if "any" in condition:
        parts = [_nested(child) for child in condition["any"]]
        return parts[0] if len(parts) == 1 else "either " + " or ".join(parts)
    if "not" in condition:
        return f"not ({describe_condition(condition['not'])})"
    raw_field = str(condition.get("field"))
    op, value = condition.get("op"), condition.get("value")
    if op in ("eq", "ne") and type(value) is bool:
        phrase = _boolean_phrase(raw_field, value, op)
        if phrase:
            return phrase
    field = describe_field(raw_field)
    words = regex_as_words(value) if op == "regex" else None
    phrases = {
        "eq": lambda: f"is {show_value(value)}",
        "ne": lambda: f"is not {show_value(value)}",
        "in": lambda: f"is one of {one_of(value)}" if value else "is in an empty list (never true)",
        "not_in": lambda: f"is none of {one_of(value)}",
        "contains": lambda: f"contains {show_value(value)}",
        "icontains": lambda: f"contains {show_value(value)} (any case)",
        # Commas only: an "or" inside the list would blur with the "or" of an `any`.
        "contains_any": lambda: f"contains any of {', '.join(map(str, value))}",
        "startswith": lambda: f"starts with {show_value(value)}",
        "regex": lambda: f"contains any of {', '.join(words)}" if words else f"matches the pattern {value}",
        "gt": lambda: f"is more than {show_value(value)}",
        "gte": lambda: f"is at least {show_value(value)}",
        "lt": lambda: f"is less than {show_value(value)}",
        "lte": lambda: f"is at most {show_value(value)}",
        "between": lambda: f"is between {show_value(value[0])} and {show_value(value[1])}",
        "exists": lambda: "is known" if condition.get("value", True) else "is not known",
    }
    phrase = phrases.get(op)
    return f"{field} {phrase()}" if phrase else f"{field} (unknown operator {op!r})"


def _nested(condition: Any) -> str:
    text = describe_condition(condition)
    if isinstance(condition, dict) and ("all" in condition or "any" in condition):
        return f"({text})"
    return text
