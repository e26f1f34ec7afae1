"""The condition builder of the rule editor: a condition as rows of a form, and back.

The form is only a way to write the JSON: `condition_to_builder` reads a stored condition into
a top group (all / any, optionally negated) of clauses and one level of nested groups;
`builder_to_condition` writes it back. A condition the form cannot express (deeper nesting, a
null value, a list item with a comma) gives None and opens in the advanced JSON editor.

In a request the builder is a set of parallel lists under the widget's name (`rules-0-condition`):
`-row` (clause or group, one per row in document order), `-parent` (the group row a clause
belongs to, or empty), `-field`, `-op`, `-value`, `-not`, `-combine` (for group rows).
"""

from __future__ import annotations

import json
from typing import Any

from conditions import ATTRIBUTE_FIELDS, CATALOGUE, EVENT_FIELDS, describe_condition, validate_condition
from conditions.catalogue import BOOLEAN, NUMBER

LIST_OPERATORS = ("in", "not_in", "contains_any", "between")
COMBINERS = ("all", "any")
# How the operator select reads, in the order a person looks for them.
OPERATOR_WORDS = {
    "eq": "is",
    "ne": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "contains": "contains",
    "icontains": "contains (any case)",
    "contains_any": "contains any of",
    "startswith": "starts with",
    "regex": "matches the pattern",
    "gt": "is more than",
    "gte": "is at least",
    "lt": "is less than",
    "lte": "is at most",
    "between": "is between",
    "exists": "is set",
}


def _is_comparison(node: Any) -> bool:
    return isinstance(node, dict) and "field" in node and "op" in node


def _value_text(value: Any, op: str) -> str | None:
    """A value as the form's text box shows it; None when the text box cannot hold it."""
    if op in LIST_OPERATORS:
        if not isinstance(value, list) or not value:
            return None
        shown = [_value_text(item, "eq") for item in value]
        if any(text is None or "," in text for text in shown):
            return None
        return ", ".join(shown)
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float, str)):
        return str(value)
    return None


def _clause(node: Any) -> dict | None:
    negate = False
    if isinstance(node, dict) and set(node) == {"not"} and _is_comparison(node["not"]):
        node, negate = node["not"], True
    if not _is_comparison(node) or set(node) - {"field", "op", "value"}:
        return None
    if node["op"] == "exists":
        value = "" if node.get("value", True) is True else "false"
    else:
        value = _value_text(node.get("value"), node["op"])
        if value is None:
            return None
    return {"kind": "clause", "field": str(node["field"]), "op": str(node["op"]), "value": value, "negate": negate}


def _group_parts(node: Any) -> tuple[str, bool, list] | None:
    negate = False
    if isinstance(node, dict) and set(node) == {"not"}:
        node, negate = node["not"], True
    if isinstance(node, dict) and len(node) == 1:
        combine = next(iter(node))
        if combine in COMBINERS and isinstance(node[combine], list):
            return combine, negate, node[combine]
    return None


def empty_builder() -> dict:
    return {"combine": "all", "negate": False, "items": []}


def condition_to_builder(condition: Any) -> dict | None:
    """The form's picture of a condition, or None when the form cannot express it."""
    if condition in (None, {}):
        return empty_builder()
    single = _clause(condition)
    if single is not None:
        return {"combine": "all", "negate": False, "items": [single]}
    parts = _group_parts(condition)
    if parts is None:
        return None
    combine, negate, children = parts
    items = []
    for child in children:
        clause = _clause(child)
        if clause is not None:
            items.append(clause)
            continue
        nested = _group_parts(child)
        if nested is None:
            return None
        clauses = [_clause(grandchild) for grandchild in nested[2]]
        if None in clauses:
            return None  # deeper than one nested group: advanced mode
        items.append({"kind": "group", "combine": nested[0], "negate": nested[1], "items": clauses})
    return {"combine": combine, "negate": negate, "items": items}


def _parse_scalar(text: str, field_type: str | None) -> Any:
    text = text.strip()
    if field_type == NUMBER:
        try:
            number = float(text)
        except ValueError:
            return text  # validation says it is not a number, next to the clause
        return int(number) if number.is_integer() else number
    if field_type == BOOLEAN and text.lower() in ("true", "false", "yes", "no"):
        return text.lower() in ("true", "yes")
    return text


def _clause_condition(clause: dict) -> dict | None:
    field, op = clause["field"].strip(), clause["op"].strip()
    if not field or not op:
        return None
    known = CATALOGUE.field(field)
    field_type = known.type if known is not None else None
    text = clause.get("value", "")
    if op == "exists":
        node = {"field": field, "op": op}
        if text.strip().lower() == "false":
            node["value"] = False
    elif op in LIST_OPERATORS:
        node = {
            "field": field,
            "op": op,
            "value": [_parse_scalar(item, field_type) for item in text.split(",") if item.strip()],
        }
    else:
        node = {"field": field, "op": op, "value": _parse_scalar(text, field_type)}
    return {"not": node} if clause.get("negate") else node


def _group_condition(combine: str, negate: bool, parts: list[dict]) -> dict | None:
    if not parts:
        return None
    node = parts[0] if len(parts) == 1 else {combine: parts}
    return {"not": node} if negate else node


def builder_to_condition(builder: dict) -> dict | None:
    """The condition the form says, or None when it has no complete clause."""
    parts = []
    for item in builder["items"]:
        if item["kind"] == "group":
            nested = [part for part in map(_clause_condition, item["items"]) if part is not None]
            node = _group_condition(item["combine"], item["negate"], nested)
        else:
            node = _clause_condition(item)
        if node is not None:
            parts.append(node)
    return _group_condition(builder["combine"], builder["negate"], parts)


def builder_from_data(data, name: str) -> dict:
    """The builder posted under `name` (a QueryDict or a dict of lists)."""

    def values(key: str) -> list[str]:
        return list(data.getlist(f"{name}-{key}")) if hasattr(data, "getlist") else list(data.get(f"{name}-{key}", []))

    def first(key: str, default: str = "") -> str:
        found = values(key)
        return found[0] if found else default

    rows = values("row")
    columns = {key: values(key) for key in ("parent", "field", "op", "value", "not", "combine")}
    builder = {
        "combine": first("top-combine", "all") if first("top-combine") in COMBINERS else "all",
        "negate": first("top-not") == "not",
        "items": [],
    }
    groups: dict[str, dict] = {}
    for index, kind in enumerate(rows):
        cell = {key: column[index] if index < len(column) else "" for key, column in columns.items()}
        if kind == "group":
            group = {
                "kind": "group",
                "combine": cell["combine"] if cell["combine"] in COMBINERS else "all",
                "negate": cell["not"] == "not",
                "items": [],
            }
            groups[str(index)] = group
            builder["items"].append(group)
            continue
        clause = {"kind": "clause", "field": cell["field"], "op": cell["op"], "value": cell["value"]}
        clause["negate"] = cell["not"] == "not"
        parent = groups.get(cell["parent"])
        (parent["items"] if parent is not None else builder["items"]).append(clause)
    return builder


def builder_to_data(builder: dict, name: str) -> dict[str, list[str]]:
    """What the form posts for `builder`: the inverse of `builder_from_data`."""
    data: dict[str, list[str]] = {
        f"{name}-{key}": [] for key in ("row", "parent", "field", "op", "value", "not", "combine")
    }
    data[f"{name}-top-combine"] = [builder["combine"]]
    data[f"{name}-top-not"] = ["not" if builder["negate"] else ""]

    def add(kind: str, parent: str, item: dict) -> None:
        data[f"{name}-row"].append(kind)
        data[f"{name}-parent"].append(parent)
        data[f"{name}-field"].append(item.get("field", ""))
        data[f"{name}-op"].append(item.get("op", ""))
        data[f"{name}-value"].append(item.get("value", ""))
        data[f"{name}-not"].append("not" if item["negate"] else "")
        data[f"{name}-combine"].append(item.get("combine", ""))

    for item in builder["items"]:
        if item["kind"] == "group":
            index = str(len(data[f"{name}-row"]))
            add("group", "", item)
            for clause in item["items"]:
                add("clause", index, clause)
        else:
            add("clause", "", item)
    return data


def catalogue_for_rule(kind: str, definition: Any) -> Any:
    """The fields a rule's condition may name: events for event rules, lead and account otherwise."""
    is_event_rule = isinstance(definition, dict) and ("event" in definition or "event_type" in definition)
    return EVENT_FIELDS if kind in ("engagement", "pql") or (kind == "negative" and is_event_rule) else ATTRIBUTE_FIELDS


def builder_rows(builder: dict) -> list[dict]:
    """The builder's rows in document order, with their error slot index (for templates)."""
    rows = []
    for item in builder["items"]:
        rows.append({**item, "index": len(rows), "parent": ""})
        if item["kind"] == "group":
            parent = str(rows[-1]["index"])
            for clause in item["items"]:
                rows.append({**clause, "index": len(rows), "parent": parent})
    return rows


def builder_read_back(builder: dict, *, catalogue) -> dict:
    """Words for the builder, or the errors of each row by its index (and of the whole)."""
    row_errors: dict[int, list[str]] = {}
    for row in builder_rows(builder):
        if row["kind"] != "clause":
            continue
        node = _clause_condition(row)
        if node is None:
            if row["field"].strip() or row["value"].strip():
                row_errors[row["index"]] = ["pick a field and an operator"]
            continue
        errors = validate_condition(node, fields=catalogue)
        if errors:
            row_errors[row["index"]] = [error.partition(": ")[2] or error for error in errors]
    condition = builder_to_condition(builder)
    errors = [] if row_errors or condition is None else validate_condition(condition, fields=catalogue)
    words = describe_condition(condition) if condition is not None and not row_errors and not errors else ""
    return {
        "condition": condition,
        "json": json.dumps(condition) if condition is not None else "",
        "words": words,
        "row_errors": row_errors,
        "errors": errors,
    }


def field_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The grouped select of fields: lead, account, event, score (no open-ended families)."""
    return [
        (
            group["title"],
            [
                (field["name"], field["name"].rsplit(".", 1)[1].replace("_", " "))
                for field in group["fields"]
                if not field["name"].endswith(".*")
            ],
        )
        for group in CATALOGUE.to_dict().values()
    ]


def field_operators() -> dict[str, list[str]]:
    return {field.name: list(field.operators) for field in CATALOGUE.fields if not field.is_family}
