"""The rule editor's widgets: the condition builder, and the raw JSON behind an "advanced" toggle."""

from django import forms

from conditions import CATALOGUE
from scoring.admin.condition_form import (
    OPERATOR_WORDS,
    builder_from_data,
    builder_read_back,
    builder_to_condition,
    catalogue_for_rule,
    empty_builder,
    field_choices,
    field_operators,
    picked_field,
)


class ConditionBuilderWidget(forms.Widget):
    """A tree of groups (all / any, maybe negated) and clauses (field / operator / value) under the
    widget's name, read back in words with each row's errors beside it. value_from_datadict gives
    {"source": "form", "condition": ...} when the builder was edited, else None (the JSON stands)."""

    template_name = "admin/scoring/widgets/condition_builder.html"

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.builder = empty_builder()
        self.expressible = True
        # "form" once the builder is edited (it writes the condition on save), "json" once the JSON is.
        self.source = "unchanged"
        self.kind = ""
        self.definition = {}
        self.keys: dict[str, list[str]] = {}  # family keys seen in the data, for the field picker

    def id_for_label(self, id_):
        return None  # the builder is a group of controls, each labelled; its own label names no one of them

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        read_back = builder_read_back(self.builder, catalogue=catalogue_for_rule(self.kind, self.definition))
        operators = field_operators()
        fields = field_choices(self.keys)
        options = {value for _, group in fields for value, _ in group}
        counter = iter(range(10_000))

        def annotate(item: dict, parent: str, depth: int) -> dict:
            index = next(counter)
            row = {**item, "index": index, "parent": parent, "depth": depth}
            row["errors"] = read_back["row_errors"].get(index, [])
            if item["kind"] == "group":
                row["items"] = [annotate(child, str(index), depth + 1) for child in item["items"]]
                return row
            row["picked"], row["key"] = picked_field(item["field"], self.keys)
            known = CATALOGUE.field(item["field"])
            allowed = operators[known.name] if known is not None else list(OPERATOR_WORDS)
            row["operators"] = [(op, OPERATOR_WORDS.get(op, op)) for op in allowed]
            # A field the picker has no option for (unknown, or an old alias) is shown as written.
            row["known_field"] = row["picked"] in options
            row["unknown_label"] = item["field"] + ("" if known is not None else " (not in the catalogue)")
            return row

        context["builder"] = {
            "combine": self.builder["combine"],
            "negate": self.builder["negate"],
            "items": [annotate(item, "", 1) for item in self.builder["items"]],
            "expressible": self.expressible,
            "source": self.source,
            "kind": self.kind,
            "fields": fields,
            "read_back": read_back,
        }
        return context

    def value_from_datadict(self, data, files, name):
        source = data.get(f"{name}-source")
        if source != "form":
            return None  # the builder was not touched, or the JSON was edited by hand: the JSON stands
        return {"source": source, "condition": builder_to_condition(builder_from_data(data, name))}

    def value_omitted_from_data(self, data, files, name):
        return data.get(f"{name}-source") != "form"


class ConditionField(forms.Field):
    widget = ConditionBuilderWidget

    def __init__(self, **kwargs):
        super().__init__(required=False, label="Condition", **kwargs)

    def has_changed(self, initial, data):
        return bool(data) and data["condition"] != initial


class AdvancedJsonWidget(forms.Textarea):
    """The definition as JSON, folded under "Advanced" unless the form cannot show its condition."""

    template_name = "admin/scoring/widgets/advanced_json.html"

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.is_open = False

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["is_open"] = self.is_open
        return context
