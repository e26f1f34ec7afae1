"""The rule editor's widgets: the condition builder, and the raw JSON behind an "advanced" toggle."""

from django import forms

from scoring.admin.condition_form import (
    OPERATOR_WORDS,
    builder_from_data,
    builder_rows,
    builder_to_condition,
    empty_builder,
    field_choices,
    field_operators,
)


class ConditionBuilderWidget(forms.Widget):
    """Rows of field / operator / value under the widget's name; value_from_datadict gives
    {"source": "form", "condition": ...} when the builder was edited, else None (the JSON stands)."""

    template_name = "admin/scoring/widgets/condition_builder.html"

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.builder = empty_builder()
        self.expressible = True
        self.edited = False  # posted back after a refused save: keep writing the form's condition
        self.kind = ""

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        operators = field_operators()
        rows = []
        for row in builder_rows(self.builder):
            if row["kind"] == "clause":
                allowed = operators.get(row["field"], list(OPERATOR_WORDS))
                row["operators"] = [(op, OPERATOR_WORDS.get(op, op)) for op in allowed]
                row["known_field"] = row["field"] in operators
            rows.append(row)
        context["builder"] = {
            "combine": self.builder["combine"],
            "negate": self.builder["negate"],
            "rows": rows,
            "expressible": self.expressible,
            "edited": self.edited,
            "kind": self.kind,
            "fields": field_choices(),
            "all_operators": list(OPERATOR_WORDS.items()),
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
