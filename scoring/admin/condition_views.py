"""The rule editor's htmx endpoints and the words of the version preview.

The editor asks the server, never a second copy of the rules in JavaScript: the built condition
read back in words with each part's errors (`condition_words`), and the builder drawn again
from hand-edited JSON (`condition_builder`). Both are admin views for marketing ops and admins.
"""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest
from django.template.response import TemplateResponse

from conditions import CATALOGUE
from scoring.admin.common import can_edit_scoring
from scoring.admin.condition_form import builder_from_data, builder_read_back, catalogue_for_rule, condition_to_builder
from scoring.admin.condition_widget import ConditionBuilderWidget
from scoring.engine.describe import describe_hit
from scoring.models import RuleVersion
from scoring.selectors import rule_version_document
from scoring.selectors_score_card import hit_key, rule_documents_by_hit
from scoring.selectors_suggestions import ConditionSuggestions, condition_suggestions


def suggestions_for(request) -> ConditionSuggestions:
    """The editor's suggestions, read once per request (the inline and the page both need them)."""
    if not hasattr(request, "_condition_suggestions"):
        request._condition_suggestions = condition_suggestions()
    return request._condition_suggestions


def value_lists(suggestions: ConditionSuggestions) -> list[tuple[str, list[str]]]:
    """Values for each field's datalist: seen in the data, else the catalogue's examples."""
    lists = dict(suggestions.values)
    for field in CATALOGUE.fields:
        if not field.is_family and not lists.get(field.name) and field.examples:
            lists[field.name] = [str(example) for example in field.examples]
    return sorted((field, values) for field, values in lists.items() if values)


def _rule_context(request) -> tuple[str, str, dict | None]:
    """(the builder's name, the rule's kind, its definition or None when the JSON does not parse)."""
    name = request.GET.get("name", "")
    prefix = name.removesuffix("-condition")
    try:
        definition = json.loads(request.GET.get(f"{prefix}-definition") or "{}")
    except ValueError:
        definition = None
    return name, request.GET.get(f"{prefix}-kind", ""), definition


def condition_words(request) -> TemplateResponse:
    """The built condition in words, or which part is wrong: each row's error slot, swapped out of band."""
    if not can_edit_scoring(request.user):
        raise PermissionDenied
    name, kind, definition = _rule_context(request)
    catalogue = catalogue_for_rule(kind, definition if isinstance(definition, dict) else {})
    read_back = builder_read_back(builder_from_data(request.GET, name), catalogue=catalogue)
    rows = range(len(request.GET.getlist(f"{name}-row")))
    return TemplateResponse(
        request,
        "admin/scoring/widgets/condition_words.html",
        {
            "name": name,
            "read_back": read_back,
            "rows": [(index, read_back["row_errors"].get(index, [])) for index in rows],
        },
    )


def condition_builder(request) -> HttpResponse:
    """The builder drawn from the rule's JSON as typed under "Advanced" (JSON -> form, live)."""
    if not can_edit_scoring(request.user):
        raise PermissionDenied
    name, kind, definition = _rule_context(request)
    if not isinstance(definition, dict):
        return HttpResponseBadRequest("definition: must be a JSON object")
    widget = ConditionBuilderWidget()
    widget.kind, widget.definition, widget.source = kind, definition, "json"
    widget.keys = suggestions_for(request).keys
    builder = condition_to_builder(definition.get("when"))
    if builder is None:
        widget.expressible = False
    else:
        widget.builder = builder
    return HttpResponse(widget.render(name, None))


def preview_column(version: RuleVersion, result, *, is_live: bool) -> dict:
    """One version's score for the previewed lead; each fired rule's evidence in words, as on the score card."""
    rules = rule_documents_by_hit(rule_version_document(version))
    hits = []
    # Fit first, then engagement; within each, what weighs most first.
    for hit in sorted(result.hits, key=lambda hit: (hit.bucket != "fit", -abs(hit.points))):
        rule = rules.get(hit_key(hit.to_dict()))
        hits.append(
            {
                "name": hit.name,
                "kind": hit.kind,
                "bucket": hit.bucket,
                "points": hit.points,
                "count": hit.count,
                "evidence": describe_hit(hit.to_dict(), rule),
            }
        )
    return {
        "version": version,
        "is_live": is_live,
        "result": result,
        "total_change": None,
        "hits": hits,
        "pql_matches": [{"name": match.name, "summary": match.summary} for match in result.pql_matches],
    }
