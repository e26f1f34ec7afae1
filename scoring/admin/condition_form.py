"""The condition builder of the rule editor: a condition as a tree of groups and clauses, and back.

The form is only a way to write the JSON: `condition_to_builder` reads a stored condition into
a top group (all / any, optionally negated) of clauses and groups, nested to any depth;
`builder_to_condition` writes it back. A condition the form cannot express (a double `not`, a
null value, a list item with a comma) gives None and opens in the advanced JSON editor.

In a request the builder is a set of parallel lists under the widget's name (`rules-0-condition`),
one entry per row in document order (a group before what it holds): `-row` (clause or group),
`-parent` (the index of the group row it belongs to, empty for the top group), `-field`, `-key`
(the key typed for a family such as `lead.traits.*`), `-op`, `-value`, `-not`, `-combine`.
"""

from __future__ import annotations

import json
from typing import Any

from conditions import ATTRIBUTE_FIELDS, CATALOGUE, EVENT_FIELDS, describe_condition, validate_condition
from conditions.catalogue import ANY, BOOLEAN, NUMBER, TYPE_OPERATORS
from conditions.language import MAX_DEPTH

LIST_OPERATORS = ("in", "not_in", "contains_any", "between")
NUMBER_OPERATORS = ("gt", "gte", "lt", "lte", "between")
COMBINERS = ("all", "any")
COLUMNS = ("row", "parent", "field", "key", "op", "value", "not", "combine")
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


def _field_type(field: str) -> str | None:
    known = CATALOGUE.field(field)
    return known.type if known is not None else None


def _value_text(value: Any, op: str, field_type: str | None) -> str | None:
    """A value as the form's text box shows it; None when the text box cannot hold it."""
    if op in LIST_OPERATORS:
        if not isinstance(value, list) or not value:
            return None
        shown = [_value_text(item, "eq", field_type) for item in value]
        if any(text is None or "," in text for text in shown):
            return None
        return ", ".join(shown)
    if field_type == ANY and isinstance(value, str) and not isinstance(_json_scalar(value), str):
        return json.dumps(value)  # a trait's text "5" stays text: quoted, as JSON writes it
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float, str)):
        return str(value)
    return None


def _json_scalar(text: str) -> Any:
    """`5` -> 5, `true` -> True, `"5"` -> "5"; anything else stays the text it is."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    return parsed if isinstance(parsed, (str, int, float, bool)) else text


def _clause(node: Any) -> dict | None:
    negate = False
    if isinstance(node, dict) and set(node) == {"not"} and _is_comparison(node["not"]):
        node, negate = node["not"], True
    if not _is_comparison(node) or set(node) - {"field", "op", "value"}:
        return None
    field, op = str(node["field"]), str(node["op"])
    if op == "exists":
        value = "" if node.get("value", True) is True else "false"
    else:
        value = _value_text(node.get("value"), op, _field_type(field))
        if value is None:
            return None
    return {"kind": "clause", "field": field, "op": op, "value": value, "negate": negate}


def _group(node: Any) -> dict | None:
    """A group of the builder for an all / any (maybe under a not), its children read to any depth."""
    negate = False
    if isinstance(node, dict) and set(node) == {"not"}:
        node, negate = node["not"], True
    if not (isinstance(node, dict) and len(node) == 1):
        return None
    combine = next(iter(node))
    if combine not in COMBINERS or not isinstance(node[combine], list):
        return None
    items = []
    for child in node[combine]:
        item = _clause(child) or _group(child)
        if item is None:
            return None
        items.append(item)
    return {"kind": "group", "combine": combine, "negate": negate, "items": items}


def empty_builder() -> dict:
    return {"kind": "group", "combine": "all", "negate": False, "items": []}


def condition_to_builder(condition: Any) -> dict | None:
    """The form's picture of a condition, or None when the form cannot express it."""
    if condition in (None, {}):
        return empty_builder()
    single = _clause(condition)
    if single is not None:
        return {**empty_builder(), "items": [single]}
    return _group(condition)


def _parse_scalar(text: str, field_type: str | None, op: str) -> Any:
    text = text.strip()
    if field_type == NUMBER or (field_type == ANY and op in NUMBER_OPERATORS):
        try:
            number = float(text)
        except ValueError:
            return text  # validation says it is not a number, next to the clause
        return int(number) if number.is_integer() else number
    if field_type == BOOLEAN and text.lower() in ("true", "false", "yes", "no"):
        return text.lower() in ("true", "yes")
    if field_type == ANY:
        return _json_scalar(text)
    return text


def _clause_condition(clause: dict) -> dict | None:
    field, op = clause["field"].strip(), clause["op"].strip()
    if not field or not op:
        return None
    field_type = _field_type(field)
    text = clause.get("value", "")
    if op == "exists":
        node = {"field": field, "op": op}
        if text.strip().lower() == "false":
            node["value"] = False
    elif op in LIST_OPERATORS:
        items = [_parse_scalar(item, field_type, op) for item in text.split(",") if item.strip()]
        node = {"field": field, "op": op, "value": items}
    else:
        node = {"field": field, "op": op, "value": _parse_scalar(text, field_type, op)}
    return {"not": node} if clause.get("negate") else node


def _item_condition(item: dict, *, is_top: bool = False) -> dict | None:
    if item["kind"] == "clause":
        return _clause_condition(item)
    parts = [part for part in map(_item_condition, item["items"]) if part is not None]
    if not parts:
        return None
    # The top group of one clause is that clause; a group the person added keeps its shape.
    node = parts[0] if is_top and len(parts) == 1 else {item["combine"]: parts}
    return {"not": node} if item["negate"] else node


def builder_to_condition(builder: dict) -> dict | None:
    """The condition the form says, or None when it has no complete clause (empty groups drop out)."""
    return _item_condition(builder, is_top=True)


def _posted_field(field: str, key: str) -> str:
    """`lead.traits.*` with the key `plan` typed beside it is `lead.traits.plan`."""
    field, key = field.strip(), key.strip()
    return field[:-1] + key if field.endswith(".*") and key else field


def builder_from_data(data, name: str) -> dict:
    """The builder posted under `name` (a QueryDict or a dict of lists)."""

    def values(key: str) -> list[str]:
        return list(data.getlist(f"{name}-{key}")) if hasattr(data, "getlist") else list(data.get(f"{name}-{key}", []))

    def first(key: str) -> str:
        found = values(key)
        return found[0] if found else ""

    columns = {key: values(key) for key in COLUMNS}
    top = {**empty_builder(), "combine": first("top-combine"), "negate": first("top-not") == "not"}
    top["combine"] = top["combine"] if top["combine"] in COMBINERS else "all"
    groups: dict[str, dict] = {}
    for index, kind in enumerate(columns["row"]):
        cell = {key: column[index] if index < len(column) else "" for key, column in columns.items()}
        if kind == "group":
            item = {
                "kind": "group",
                "combine": cell["combine"] if cell["combine"] in COMBINERS else "all",
                "negate": cell["not"] == "not",
                "items": [],
            }
            groups[str(index)] = item
        else:
            field = _posted_field(cell["field"], cell["key"])
            item = {"kind": "clause", "field": field, "op": cell["op"], "value": cell["value"]}
            item["negate"] = cell["not"] == "not"
        # A parent is always an earlier group row; anything else belongs to the top group.
        groups.get(cell["parent"], top)["items"].append(item)
    return top


def builder_rows(builder: dict) -> list[dict]:
    """The builder's rows in document order (a group before what it holds), each with its index,
    its parent group's index ("" for the top) and its depth (1 for the top group's items)."""
    rows: list[dict] = []

    def walk(group: dict, parent: str, depth: int) -> None:
        for item in group["items"]:
            row = {**item, "index": len(rows), "parent": parent, "depth": depth}
            rows.append(row)
            if item["kind"] == "group":
                walk(item, str(row["index"]), depth + 1)

    walk(builder, "", 1)
    return rows


def builder_to_data(builder: dict, name: str) -> dict[str, list[str]]:
    """What the form posts for `builder`: the inverse of `builder_from_data`."""
    data: dict[str, list[str]] = {f"{name}-{key}": [] for key in COLUMNS}
    data[f"{name}-top-combine"] = [builder["combine"]]
    data[f"{name}-top-not"] = ["not" if builder["negate"] else ""]
    for row in builder_rows(builder):
        cells = {
            "row": row["kind"],
            "parent": row["parent"],
            "field": row.get("field", ""),
            "key": "",
            "op": row.get("op", ""),
            "value": row.get("value", ""),
            "not": "not" if row["negate"] else "",
            "combine": row.get("combine", ""),
        }
        for key, value in cells.items():
            data[f"{name}-{key}"].append(value)
    return data


def catalogue_for_rule(kind: str, definition: Any) -> Any:
    """The fields a rule's condition may name: events for event rules, lead and account otherwise."""
    is_event_rule = isinstance(definition, dict) and ("event" in definition or "event_type" in definition)
    return EVENT_FIELDS if kind in ("engagement", "pql") or (kind == "negative" and is_event_rule) else ATTRIBUTE_FIELDS


def _row_errors(row: dict, catalogue) -> list[str]:
    """What is wrong with one row of the builder, in words, for the slot beside it."""
    if row["kind"] == "group":
        if not row["items"]:
            return ["this group is empty: add a clause to it, or remove it"]
        if row["depth"] >= MAX_DEPTH:
            return [f"groups nest at most {MAX_DEPTH - 1} levels deep"]
        return []
    if row["field"].strip().endswith(".*"):
        return ["type the key after the field (the trait or property name)"]
    node = _clause_condition(row)
    if node is None:
        return ["pick a field and an operator"] if row["field"].strip() or row["value"].strip() else []
    return [error.partition(": ")[2] or error for error in validate_condition(node, fields=catalogue)]


def builder_read_back(builder: dict, *, catalogue) -> dict:
    """Words for the builder, or the errors of each row by its index (and of the whole)."""
    row_errors = {row["index"]: errors for row in builder_rows(builder) if (errors := _row_errors(row, catalogue))}
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


def _family_title(family: str) -> str:
    """`lead.traits.*` -> "Lead traits", `event.context.*` -> "Event context"."""
    group, member, _ = family.split(".")
    return f"{group.capitalize()} {member}"


def field_choices(keys: dict[str, list[str]] | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """The grouped select of fields: each group (lead, account, event, score) followed by its
    open-ended families (lead traits, ...), offering the keys seen in the data and "another key"."""
    keys = keys or {}
    choices = []
    for group, fields in CATALOGUE.grouped().items():
        title = group.capitalize()
        plain = [field for field in fields if not field.is_family]
        choices.append((title, [(field.name, f"{group} · {_short(field.name)}") for field in plain]))
        for family in (field for field in fields if field.is_family):
            family_title = _family_title(family.name)
            seen = [(family.name[:-1] + key, f"{family_title.lower()} · {key}") for key in keys.get(family.name, [])]
            choices.append((family_title, [*seen, (family.name, f"{family_title.lower()} · type a key…")]))
    return choices


def _short(name: str) -> str:
    """`event.properties.asset_type` -> "asset type": the group already says whose it is."""
    return name.rsplit(".", 1)[1].replace("_", " ")


def picked_field(field: str, keys: dict[str, list[str]] | None = None) -> tuple[str, str]:
    """(the option the field select shows, the key typed beside it) for a clause's field:
    a family key seen in the data is its own option; one not seen yet is the family plus its key."""
    known = CATALOGUE.field(field)
    if known is None or not known.is_family or field == known.name:
        return field, ""
    prefix = known.name[:-1]
    if not field.startswith(prefix):
        return field, ""  # written with an alias (`properties.plan`): shown as stored
    key = field[len(prefix) :]
    return (field, "") if key in (keys or {}).get(known.name, []) else (known.name, key)


def field_operators() -> dict[str, list[str]]:
    """The operators of each field, and of each family by its `.*` name (a key takes its family's)."""
    operators = {field.name: list(field.operators) for field in CATALOGUE.fields}
    operators[""] = list(TYPE_OPERATORS[ANY])
    return operators
