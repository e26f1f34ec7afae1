"""The forms marketing ops edit rules and versions with, and the rule examples shown under them."""

import json

from django import forms
from django.core.exceptions import ValidationError

from scoring.admin.condition_form import builder_from_data, condition_to_builder
from scoring.admin.condition_widget import AdvancedJsonWidget, ConditionField
from scoring.models import Rule, RuleKind, RuleVersion
from scoring.services import (
    rule_check,
)

# --- Rule versions and their rules ----------------------------------------------------------

DEFINITION_HELP = "The rule as JSON; name, description and points come from their own fields. Examples below."

# Shown under the rules of an editable version: one working example per kind and shape.
DEFINITION_EXAMPLES = [
    (
        "fit",
        {
            "when": {
                "all": [
                    {"field": "lead.title", "op": "contains_any", "value": ["VP", "Head", "Director", "Chief"]},
                    {"field": "account.employee_count", "op": "between", "value": [50, 5000]},
                ]
            }
        },
    ),
    (
        "engagement",
        {
            "event_type": "page",
            "when": {"field": "event.properties.path", "op": "contains", "value": "/pricing"},
            "max_count": 3,
            "window_days": 30,
            "half_life_days": 14,
        },
    ),
    ("engagement", {"event": "Webinar Registered", "max_points": 20, "window_days": 60}),
    ("negative", {"when": {"field": "lead.email_type", "op": "in", "value": ["free", "student"]}}),
    ("negative", {"event": "Unsubscribed", "bucket": "engagement", "max_count": 1}),
    ("pql", {"kind": "activation", "events": ["Source Connected", "Job Run", "Results Viewed"], "within_days": 14}),
    ("pql", {"kind": "usage_depth", "min_active_users": 5, "within_days": 7}),
    ("pql", {"kind": "seat_growth", "min_increase": 3, "within_days": 30}),
    ("pql", {"kind": "plan_limit", "within_days": 7, "segments": ["smb"]}),
]


def example_rule(kind: str, definition: dict) -> dict:
    """An example definition as the engine reads it, with the columns the form adds."""
    points = {"fit": 20, "engagement": 10, "negative": -15}
    return {"name": "Example", **definition, **({"points": points[kind]} if kind in points else {})}


class RuleForm(forms.ModelForm):
    # Short labels: the kind column of the rules table is narrow.
    kind = forms.ChoiceField(choices=[(kind.value, kind.label.split(" (")[0]) for kind in RuleKind])
    # The condition ("when") built with a form; the JSON stays the stored truth (see clean).
    condition = ConditionField()

    class Meta:
        model = Rule
        fields = ["kind", "name", "description", "points", "position", "definition"]
        widgets = {
            "definition": AdvancedJsonWidget(attrs={"rows": 5, "cols": 40, "class": "rule-definition"}),
            "description": forms.Textarea(attrs={"rows": 3, "cols": 20}),
            "name": forms.TextInput(attrs={"size": 16}),
            # Widths in qualify_site/static/qualify_site/admin.css: the CSP allows no style attributes.
            "points": forms.NumberInput(attrs={"class": "rule-points"}),
            "position": forms.NumberInput(attrs={"class": "rule-position"}),
        }

    # Keys of traits and event properties seen in the data, by family; the inline sets them per request.
    condition_keys: dict[str, list[str]] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field_name in ("kind", "name", "points", "position", "description", "definition"):
            # Name each control for screen readers, whichever way the inline lays the rules out.
            self.fields[field_name].widget.attrs.setdefault("aria-label", str(self.fields[field_name].label))
        definition = self.instance.definition if self.instance.pk else {}
        when = definition.get("when") if isinstance(definition, dict) else None
        self.fields["condition"].initial = when
        widget = self.fields["condition"].widget
        widget.kind = self.instance.kind if self.instance.pk else ""
        widget.keys = self.condition_keys
        name = self.add_prefix("condition")
        source = self.data.get(f"{name}-source") if self.is_bound else None
        source = source if source in ("form", "json") else "unchanged"
        if self.is_bound:
            # After a refused save, show what was posted, not what is stored, with each part's error beside it:
            # the builder as posted, or drawn from the JSON when that was edited last.
            widget.kind = self.data.get(self.add_prefix("kind"), widget.kind)
            try:
                posted = json.loads(self.data.get(self.add_prefix("definition")) or "{}")
            except ValueError:
                posted = None
            if isinstance(posted, dict):
                definition = posted
                when = posted.get("when") if source == "json" else when
        widget.definition = definition if isinstance(definition, dict) else {}
        widget.source = source
        builder = builder_from_data(self.data, name) if source == "form" else condition_to_builder(when)
        if builder is None:
            # The form cannot show it: open the JSON, with a note in the builder.
            widget.expressible = False
            self.fields["definition"].widget.is_open = True
        else:
            widget.builder = builder

    def clean(self):
        cleaned = super().clean()
        if self.errors or not self.has_changed() or cleaned.get("DELETE"):
            return cleaned
        built = cleaned.get("condition")
        if built and built["source"] == "form" and isinstance(cleaned.get("definition"), dict):
            # Form -> JSON on save: the built condition replaces "when"; the service validates it as before.
            definition = {key: value for key, value in cleaned["definition"].items() if key != "when"}
            if built["condition"] is not None:
                definition["when"] = built["condition"]
            cleaned["definition"] = definition
        try:
            rule_check(
                kind=cleaned.get("kind"),
                name=cleaned.get("name") or "",
                points=cleaned.get("points") or 0,
                description=cleaned.get("description") or "",
                definition=cleaned.get("definition"),
            )
        except ValidationError as error:
            # The engine names the rule in each message; show each one next to the field it is about.
            for message in error.message_dict.get("definition", error.messages):
                about_points = "'points'" in message or "needs points" in message
                self.add_error("points" if about_points else "definition", message)
        return cleaned


class RuleVersionForm(forms.ModelForm):
    class Meta:
        model = RuleVersion
        fields = [
            "name",
            "notes",
            "fit_min",
            "engagement_min",
            "total_min",
            "hot_min",
            "grade_a_min",
            "grade_b_min",
            "grade_c_min",
        ]
        labels = {
            "fit_min": "Fit at least",
            "engagement_min": "Engagement at least",
            "total_min": "Total at least",
            "hot_min": "Hot from total",
            "grade_a_min": "Grade A from",
            "grade_b_min": "Grade B from",
            "grade_c_min": "Grade C from",
        }
        widgets = {"notes": forms.Textarea(attrs={"rows": 3, "cols": 80})}

    def clean(self):
        cleaned = super().clean()
        a, b, c = (cleaned.get(key) for key in ("grade_a_min", "grade_b_min", "grade_c_min"))
        if None not in (a, b) and not a > b:
            self.add_error("grade_a_min", f"Grade A must start above grade B ({b}): the bands go down A, B, C, D.")
        if None not in (b, c) and not b > c:
            self.add_error("grade_b_min", f"Grade B must start above grade C ({c}): the bands go down A, B, C, D.")
        total, hot = cleaned.get("total_min"), cleaned.get("hot_min")
        if None not in (total, hot) and hot < total:
            self.add_error("hot_min", f"The hot threshold must be at least the MQL total minimum ({total}).")
        return cleaned
