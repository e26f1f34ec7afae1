"""The condition language and the field catalogue: pure Python, no Django, no app.

Scoring rules, routing rules and anything later that asks a question about a lead (backtests,
segments) write their conditions in this language and name fields from this catalogue.

    from conditions import validate_condition, compile_condition, describe_condition, catalogue_for

    errors = validate_condition(condition, fields=catalogue_for("lead", "account"))
    holds = compile_condition(condition)({"lead": {...}, "account": {...}})
    describe_condition(condition)  # "the lead's title contains any of VP or Head"

See README.md for the language, the catalogue and where the facts come from.
"""

from conditions.catalogue import (
    ATTRIBUTE_FIELDS,
    CATALOGUE,
    EVENT_FIELDS,
    FIELDS,
    ROUTING_FIELDS,
    Catalogue,
    Field,
    catalogue_for,
)
from conditions.describe import describe_condition, describe_field
from conditions.explain import compile_explainer, explain_condition
from conditions.language import (
    MISSING,
    OPERATORS,
    compile_condition,
    condition_fields,
    make_getter,
    validate_condition,
)

__all__ = [
    "ATTRIBUTE_FIELDS",
    "CATALOGUE",
    "EVENT_FIELDS",
    "FIELDS",
    "MISSING",
    "OPERATORS",
    "ROUTING_FIELDS",
    "Catalogue",
    "Field",
    "catalogue_for",
    "compile_condition",
    "compile_explainer",
    "condition_fields",
    "describe_condition",
    "describe_field",
    "explain_condition",
    "make_getter",
    "validate_condition",
]
