"""A suggested rule version: learnt from the outcomes before a date, saved as an ordinary draft.

The steps (issue 11, "Suggested version"):
1. Time split: training cut-offs whose outcome windows end before the validation cut-off
   (as_of - horizon), validation labelled by the outcomes of (as_of - horizon, as_of].
2. Features at each cut-off with the base version (insights.selectors.training): how much each
   rule fired, and behaviours no rule reads yet.
3. Evidence: closed-won, and where wins are few, opportunities and meetings too, each weighted by
   how often it went on to a win before as_of.
4. An L1 logistic regression (insights.engine.fitting); rules re-weighted, pruned, added.
5. The draft scored at the validation cut-off: MQL thresholds at the team's capacity, and its
   precision, recall and lift at capacity next to the base version's.
6. One transaction: the draft (scoring.services.versions) and its VersionSuggestion.
"""

import time
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db import transaction
from django.db.models import Min
from django.db.models.functions import Coalesce

from insights.engine.fitting import (
    DEFAULT_C,
    choose_c,
    evidence,
    fit_logistic,
    lift_ranked,
    time_split,
    weighted_at_capacity,
)
from insights.models import VersionSuggestion
from insights.selectors.training import Behaviour, TrainingRow, training_rows
from insights.services.suggest_document import POINT_SECTIONS, Draft, capacity_thresholds, draft_document
from leads.models import Lead, Outcome, OutcomeKind
from scoring.engine import compile_version, validate_rule
from scoring.engine.rules import CompiledVersion
from scoring.models import RuleVersion
from scoring.selectors import rule_version_document, rule_version_live
from scoring.services.versions import rule_version_create_from_document

EVIDENCE_KINDS = (OutcomeKind.CLOSED_WON, OutcomeKind.OPPORTUNITY, OutcomeKind.MEETING)
ENOUGH_WINS = 200  # with this many wins in training, earlier outcomes are not needed as evidence
MIN_POSITIVES = 10  # fewer converting training candidates than this: nothing to learn from
MIN_RESOLVED = 10  # outcomes needed to estimate a kind's weight; below, a default weight
DEFAULT_WEIGHTS = {OutcomeKind.OPPORTUNITY: 0.5, OutcomeKind.MEETING: 0.25}
MAX_ADDED = 8  # rules added at most, the highest lift first
MIN_LIFT = 1.5
SAMPLE_LIMIT = 10_000  # candidates read per cut-off: all with an outcome, a weighted sample of the rest


class SuggestionError(ValueError):
    """Nothing was created: the history cannot support a suggestion (the message says why)."""


@dataclass(frozen=True)
class Matrix:
    names: tuple[str, ...]
    values: np.ndarray

    @classmethod
    def of(cls, rows: list[TrainingRow], names: list[str]) -> "Matrix":
        values = np.zeros((len(rows), len(names)))
        index = {name: position for position, name in enumerate(names)}
        for row_number, row in enumerate(rows):
            for rule, amount in row.rules.items():
                if (column := index.get(f"rule:{rule}")) is not None:
                    values[row_number, column] = amount
            for key, amount in row.behaviours.items():
                if (column := index.get(key)) is not None:
                    values[row_number, column] = amount
        return cls(tuple(names), values)

    def column(self, name: str) -> np.ndarray:
        return self.values[:, self.names.index(name)]


def evidence_weights(*, as_of: datetime, training_wins: int) -> tuple[dict[str, float], dict[str, str]]:
    """How much each outcome kind weighs as evidence of buying, and why, from the outcomes before as_of.

    A win weighs 1. With few wins, an opportunity weighs the share of opportunities decided before
    as_of that were won, and a meeting that share times the share of meetings that became an
    opportunity: an earlier outcome counts as much as it usually leads to a win.
    """
    weights = {OutcomeKind.CLOSED_WON: 1.0, OutcomeKind.OPPORTUNITY: 0.0, OutcomeKind.MEETING: 0.0}
    if training_wins >= ENOUGH_WINS:
        reason = f"{training_wins} wins in training: enough on their own; earlier outcomes not used."
        return weights, dict.fromkeys(weights, reason)
    kinds: dict[object, set[str]] = {}
    for kind, lead_id, account_id in Outcome.objects.filter(occurred_at__lt=as_of).values_list(
        "kind", "lead_id", "account_id"
    ):
        kinds.setdefault(lead_id or f"account {account_id}", set()).add(kind)
    decided = [k for k in kinds.values() if OutcomeKind.OPPORTUNITY in k and k & {"closed_won", "closed_lost"}]
    won = sum(1 for k in decided if OutcomeKind.CLOSED_WON in k)
    reasons = {OutcomeKind.CLOSED_WON: "A win is the outcome itself."}
    if len(decided) >= MIN_RESOLVED:
        weights[OutcomeKind.OPPORTUNITY] = won / len(decided)
        reasons[OutcomeKind.OPPORTUNITY] = f"{won} of {len(decided)} opportunities decided before as_of were won."
    else:
        weights[OutcomeKind.OPPORTUNITY] = DEFAULT_WEIGHTS[OutcomeKind.OPPORTUNITY]
        reasons[OutcomeKind.OPPORTUNITY] = f"Only {len(decided)} opportunities decided before as_of: default weight."
    met = [k for k in kinds.values() if OutcomeKind.MEETING in k]
    advanced = sum(1 for k in met if OutcomeKind.OPPORTUNITY in k)
    if len(met) >= MIN_RESOLVED:
        weights[OutcomeKind.MEETING] = weights[OutcomeKind.OPPORTUNITY] * advanced / len(met)
        reasons[OutcomeKind.MEETING] = f"{advanced} of {len(met)} meetings became opportunities, times that weight."
    else:
        weights[OutcomeKind.MEETING] = DEFAULT_WEIGHTS[OutcomeKind.MEETING]
        reasons[OutcomeKind.MEETING] = f"Only {len(met)} meetings before as_of: default weight."
    for kind in (OutcomeKind.OPPORTUNITY, OutcomeKind.MEETING):
        weights[kind] = round(min(max(weights[kind], 0.05), 1.0), 3)
    return weights, reasons


def _labels(rows: list[TrainingRow], weights: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Converted (any evidence kind with weight) and the row's weight: its strongest kind's, times its sampling."""
    labels = np.zeros(len(rows), dtype=bool)
    sample = np.ones(len(rows))
    for number, row in enumerate(rows):
        strongest = max((weights[kind] for kind in row.outcomes if weights.get(kind)), default=0.0)
        labels[number] = strongest > 0
        sample[number] = row.weight * (strongest if strongest > 0 else 1.0)
    return labels, sample


def _uncovered(behaviour: Behaviour, compiled: CompiledVersion) -> bool:
    """No rule of the version that gives points reads this behaviour (PQL paths give none)."""
    if behaviour.kind == "attribute":
        root, key = behaviour.field.split(".")
        context = {"lead": {}, "account": {}}
        context[root][key] = behaviour.value
        return not any(rule.predicate(context) for rule in compiled.attribute_rules)
    if behaviour.kind == "event":
        return not any(rule.event_names and behaviour.event in rule.event_names for rule in compiled.event_rules)
    event_type, name = ("page", None) if behaviour.kind == "page" else ("track", behaviour.event)
    properties = {"path": behaviour.value} if behaviour.kind == "page" else {behaviour.field: behaviour.value}
    context = {"name": name, "type": event_type, "properties": properties, "context": {}, "user": None}
    context["account_level"], context["event"] = False, context
    return not any(rule.predicate is None or rule.predicate(context) for rule in compiled.rules_for(event_type, name))


def _candidates_to_add(rows, labels, catalogue, compiled) -> list[tuple[Behaviour, object]]:
    keys = sorted(key for key, behaviour in catalogue.items() if _uncovered(behaviour, compiled))
    if not keys:
        return []
    matrix = Matrix.of(rows, keys)
    sampled = np.array([row.weight for row in rows])
    floor = max(10, round(sampled.sum()) // 500)
    ranked = lift_ranked(matrix.values, labels, keys, min_present=floor, min_lift=MIN_LIFT, weights=sampled)
    added = []
    for key, found in ranked[:MAX_ADDED]:
        added.append((catalogue[key], found))
    return added


def _penalty(train, matrix: Matrix, labels, sample, split, names, seed: int) -> float:
    """The penalty chosen by a time split inside training: the latest cut-off ranked by a fit on the
    cut-offs whose outcome windows end before it (the default when there are none)."""
    latest = split.training[-1]
    newer = np.array([row.cutoff == latest for row in train])
    older = np.array([row.cutoff + split.horizon <= latest for row in train])
    chosen = choose_c(
        (matrix.values[older], labels[older], sample[older]),
        (matrix.values[newer], labels[newer]),
        names=names,
        seed=seed,
    )
    return DEFAULT_C if chosen is None else chosen


def _measure(rows: list[TrainingRow], kinds, capacity: int) -> dict:
    selection = weighted_at_capacity([(row.id, row.total, row.reached(kinds), row.weight) for row in rows], capacity)
    return {
        "precision_at_capacity": selection.precision,
        "recall_at_capacity": selection.recall,
        "lift_at_capacity": selection.lift,
        "base_rate": selection.base_rate,
        "positives": round(selection.positives),
    }


def _check_added(document: dict) -> None:
    for section in POINT_SECTIONS:
        kind = section.removesuffix("_rules")
        for rule in document[section]:
            errors = validate_rule(kind, rule)
            if errors:  # a behaviour's value the condition language refuses: say so, create nothing
                raise SuggestionError("; ".join(errors))


def version_suggest(
    *,
    as_of: datetime,
    capacity: int,
    unit: str = "lead",
    base: RuleVersion | None = None,
    horizon_days: int = 30,
    user=None,
    seed: int = 0,
) -> VersionSuggestion:
    """Learn from what was known before `as_of` and save the suggested draft with its figures."""
    started = time.monotonic()
    if capacity < 1:
        raise SuggestionError("capacity must be at least 1")
    base = base or rule_version_live()
    if base is None:
        raise SuggestionError("no live version to start from: publish one, or name a base version")
    base_document = rule_version_document(base)
    compiled = compile_version(base_document, version_id=base.pk)
    seen = Lead.objects.filter(merged_into__isnull=True).aggregate(first=Min(Coalesce("first_seen_at", "created_at")))
    if seen["first"] is None:
        raise SuggestionError("no leads yet: nothing to learn from")
    split = time_split(as_of=as_of, horizon_days=horizon_days, earliest=seen["first"])
    if not split.training:
        raise SuggestionError(
            f"too little history before {as_of:%Y-%m-%d}: training needs leads seen before "
            f"{split.validation - split.horizon:%Y-%m-%d} (two horizons of {horizon_days} days back)"
        )
    catalogue: dict[str, Behaviour] = {}
    train: list[TrainingRow] = []
    for cutoff in split.training:
        train += training_rows(
            compiled=compiled,
            cutoff=cutoff,
            horizon_days=horizon_days,
            unit=unit,
            sample_limit=SAMPLE_LIMIT,
            seed=seed,
            catalogue=catalogue,
        )
    wins = sum(1 for row in train if OutcomeKind.CLOSED_WON in row.outcomes)
    weights, weight_reasons = evidence_weights(as_of=as_of, training_wins=wins)
    draft, c = _fit_draft(base_document, compiled, train, catalogue, weights, split, seed, as_of)

    # Validation: the base and the draft, each scored at the validation cut-off, on the same sample of
    # candidates (same cut-off, same labels, same seed).
    read = {"cutoff": split.validation, "horizon_days": horizon_days, "unit": unit, "sample_limit": SAMPLE_LIMIT}
    validation_base = training_rows(compiled=compiled, seed=seed, **read)
    validation = training_rows(compiled=compile_version(draft.document), seed=seed, **read)
    evidence_kinds = tuple(kind for kind in EVIDENCE_KINDS if weights[kind] > 0)
    if not any(row.reached(evidence_kinds) for row in validation):
        raise SuggestionError(
            f"no outcome between {split.validation:%Y-%m-%d} and {as_of:%Y-%m-%d} to validate the suggestion against"
        )
    ordered = sorted(validation, key=lambda row: (-row.total, row.id))
    # Grades are fit bands: they move with the fit rules' points.
    scale_fit = _fit_points(draft.document) / max(_fit_points(base_document), 1)
    draft.document["thresholds"] = capacity_thresholds(
        base_document, [(r.total, r.fit, r.engagement, bool(r.paths), r.weight) for r in ordered], capacity, scale_fit
    )
    figures = _figures(draft, train, validation, validation_base, evidence_kinds, capacity, split, weights)
    figures["penalty_c"] = c
    figures["seconds"] = round(time.monotonic() - started, 1)
    return _save(base, draft, figures, weights, weight_reasons, as_of, horizon_days, capacity, unit, user)


def _fit_draft(base_document, compiled, train, catalogue, weights, split, seed, as_of) -> tuple[Draft, float]:
    """Label the training rows, pick the behaviours worth trying, fit, and read the fit back into rules."""
    labels, sample = _labels(train, weights)
    if labels.sum() < MIN_POSITIVES or labels.all():
        counts = ", ".join(f"{sum(kind in row.outcomes for row in train)} {kind}" for kind in EVIDENCE_KINDS)
        raise SuggestionError(
            f"too few outcomes to learn from before {as_of:%Y-%m-%d}: {int(labels.sum())} converting candidates "
            f"in training ({counts}); at least {MIN_POSITIVES} are needed"
        )
    rule_names = [rule["name"] for section in POINT_SECTIONS for rule in base_document.get(section, [])]
    added = _candidates_to_add(train, labels, catalogue, compiled)
    names = [f"rule:{name}" for name in rule_names] + [behaviour.key for behaviour, _ in added]
    matrix = Matrix.of(train, names)
    c = _penalty(train, matrix, labels, sample, split, names, seed)
    fitted = fit_logistic(matrix.values, labels, names=names, sample_weight=sample, c=c, seed=seed)
    stands_for = np.array([row.weight for row in train])
    rule_evidence = {name: evidence(matrix.column(f"rule:{name}"), labels, stands_for) for name in rule_names}
    path_evidence = {
        path["name"]: evidence([float(path["name"] in row.paths) for row in train], labels, stands_for)
        for path in base_document.get("pql_paths", [])
    }
    draft = draft_document(base_document, fitted, rule_evidence, added, path_evidence)
    _check_added(draft.document)
    return draft, c


def _fit_points(document: dict) -> int:
    return sum(rule["points"] for rule in document["fit_rules"] if rule["points"] > 0)


def _qualified(rows: list[TrainingRow], thresholds: dict) -> int:
    mql = thresholds["mql"]
    return round(
        sum(
            row.weight
            for row in rows
            if row.paths
            or (row.fit >= mql["fit_min"] and row.engagement >= mql["engagement_min"] and row.total >= mql["total_min"])
        )
    )


def _figures(draft, train, validation, validation_base, evidence_kinds, capacity, split, weights) -> dict:
    """Precision, recall and lift at capacity of the draft and the base at the validation cut-off, against
    wins, and against all the evidence kinds (wins are few on a young team: both are shown)."""
    won = (OutcomeKind.CLOSED_WON,)
    mine, theirs = _measure(validation, won, capacity), _measure(validation_base, won, capacity)
    mine_any, theirs_any = (
        _measure(validation, evidence_kinds, capacity),
        _measure(validation_base, evidence_kinds, capacity),
    )
    figures = {
        "precision_at_capacity": mine["precision_at_capacity"],
        "recall_at_capacity": mine["recall_at_capacity"],
        "lift_at_capacity": mine["lift_at_capacity"],
        "base_precision_at_capacity": theirs["precision_at_capacity"],
        "base_recall_at_capacity": theirs["recall_at_capacity"],
        "base_lift_at_capacity": theirs["lift_at_capacity"],
        "base_rate": mine["base_rate"],
        "validation_positives": mine["positives"],
        "evidence_kinds": "+".join(evidence_kinds),
        "evidence_precision_at_capacity": mine_any["precision_at_capacity"],
        "evidence_recall_at_capacity": mine_any["recall_at_capacity"],
        "evidence_lift_at_capacity": mine_any["lift_at_capacity"],
        "base_evidence_precision_at_capacity": theirs_any["precision_at_capacity"],
        "base_evidence_recall_at_capacity": theirs_any["recall_at_capacity"],
        "base_evidence_lift_at_capacity": theirs_any["lift_at_capacity"],
        "evidence_base_rate": mine_any["base_rate"],
        "validation_evidence_positives": mine_any["positives"],
        "capacity": capacity,
        "validation_cutoff": split.validation.isoformat(),
        "train_cutoffs": ",".join(cutoff.date().isoformat() for cutoff in split.training),
        "train_candidates": round(sum(row.weight for row in train)),
        "train_rows_read": len(train),
        "validation_candidates": round(sum(row.weight for row in validation)),
        "validation_rows_read": len(validation),
        "qualified_at_validation": _qualified(validation, draft.document["thresholds"]),
        "pql_at_validation": round(sum(row.weight for row in validation if row.paths)),
    }
    for kind in EVIDENCE_KINDS:
        figures[f"train_positives_{kind}"] = sum(1 for row in train if kind in row.outcomes)
    for kind in EVIDENCE_KINDS:
        figures[f"weight_{kind}"] = weights[kind]
    for action in ("kept", "reweighted", "pruned", "added"):
        figures[f"rules_{action}"] = sum(1 for change in draft.changes if change.action == action)
    figures["points_per_log_odds"] = round(draft.scale, 2)
    return {key: (round(value, 4) if isinstance(value, float) else value) for key, value in figures.items()}


def _notes(base, draft, figures, weight_reasons, as_of) -> str:
    def shown(value):
        return "n/a" if value is None else f"{value:.1%}"

    lines = [
        f"Suggested from v{base.number} with the outcomes known before {as_of:%Y-%m-%d} (not published: "
        "read it, edit it, backtest it, then publish).",
        f"Validation at {figures['validation_cutoff'][:10]}, {figures['capacity']} picked: precision against wins "
        f"{shown(figures['precision_at_capacity'])} (v{base.number}: {shown(figures['base_precision_at_capacity'])}"
        f", base rate {shown(figures['base_rate'])}); against {figures['evidence_kinds']} "
        f"{shown(figures['evidence_precision_at_capacity'])} "
        f"(v{base.number}: {shown(figures['base_evidence_precision_at_capacity'])}).",
        "Evidence weights: "
        + "; ".join(f"{kind} {figures[f'weight_{kind}']:g} ({reason})" for kind, reason in weight_reasons.items()),
        "Below, 'converted' means reached one of those outcomes within the horizon after a training cut-off.",
        f"MQL thresholds set for a capacity of {figures['capacity']}: {figures['qualified_at_validation']} "
        f"would have qualified at the validation cut-off.",
        "",
        *(change.sentence for change in draft.changes),
    ]
    if figures["pql_at_validation"] > figures["capacity"]:
        lines.insert(
            4,
            f"The PQL paths alone qualify {figures['pql_at_validation']}, more than the team can work: "
            "review them before publishing (MQL is then set above every other candidate).",
        )
    return "\n".join(lines)


@transaction.atomic
def _save(base, draft, figures, weights, weight_reasons, as_of, horizon_days, capacity, unit, user):
    notes = _notes(base, draft, figures, weight_reasons, as_of)
    version = rule_version_create_from_document(
        name=f"Suggested from v{base.number} as of {as_of:%Y-%m-%d}", document=draft.document, user=user, notes=notes
    )
    # Marketing ops compare a draft with the version it came from (the admin's diff reads based_on).
    RuleVersion.objects.filter(pk=version.pk).update(based_on=base)
    version.based_on = base
    return VersionSuggestion.objects.create(
        version=version,
        base=base,
        as_of=as_of,
        horizon_days=horizon_days,
        capacity=capacity,
        unit=unit,
        figures=figures,
        evidence_weights={kind: weights[kind] for kind in EVIDENCE_KINDS},
        changes=[change.to_dict() for change in draft.changes],
        created_by=user,
    )


def suggestion_figures_lines(suggestion: VersionSuggestion) -> list[str]:
    """`name: value` lines, the version first (what the command prints)."""
    lines = [f"version_id: {suggestion.version_id}"]
    for name, value in suggestion.figures.items():
        lines.append(f"{name}: {'n/a' if value is None else value}")
    return lines
