"""From fitted coefficients back to a rule document marketing ops can read, and the notes saying why.

No database here: the base document, the fit, the evidence and the behaviours in; the new
document and one change per rule out (kept, re-weighted, pruned or added, with its evidence).
"""

import copy
import math
from dataclasses import dataclass, field

from insights.engine.fitting import Evidence, Fitted, points_scale, to_points
from insights.selectors.training import BEHAVIOUR_CAP, BEHAVIOUR_WINDOW_DAYS, Behaviour
from scoring.engine.rules import KIND_WORD, SECTION_KIND

POINT_SECTIONS = ("fit_rules", "engagement_rules", "negative_rules")
MIN_SUPPORT = 5  # a rule that fired for fewer training candidates keeps its points: too little evidence


@dataclass(frozen=True)
class Change:
    section: str
    name: str
    action: str  # kept, reweighted, pruned, added
    points_before: int | None
    points_after: int | None
    coefficient: float | None
    evidence: Evidence | None
    reason: str

    def to_dict(self) -> dict:
        return {
            "section": self.section,
            "name": self.name,
            "action": self.action,
            "points_before": self.points_before,
            "points_after": self.points_after,
            "coefficient": self.coefficient,
            "evidence": self.evidence.to_dict() if self.evidence else None,
            "reason": self.reason,
        }

    @property
    def sentence(self) -> str:
        verb = {"kept": "Kept", "reweighted": "Re-weighted", "pruned": "Pruned", "added": "Added"}[self.action]
        if self.action == "reweighted":
            points = f": {self.points_before} -> {self.points_after} points"
        elif self.action == "added":
            points = f": {self.points_after} points"
        elif self.points_before is not None:
            points = f" ({self.points_before} points)"
        else:
            points = ""
        return f"{verb} {KIND_WORD[SECTION_KIND[self.section]]} '{self.name}'{points}. {self.reason}"


@dataclass
class Draft:
    document: dict
    changes: list[Change] = field(default_factory=list)
    scale: float = 1.0


def evidence_words(found: Evidence | None) -> str:
    if found is None or not found.converted.total:
        return "Nobody in training had it."
    lift = f", {found.lift:.1f}x the base rate" if found.lift is not None else ""
    return f"{found.converted.count} of {found.converted.total} who had it converted{lift}."


def _reweigh(section: str, rule: dict, fitted: dict[str, float], found: Evidence | None, scale: float):
    """The rule with its new points, or None when pruned, and the change saying which and why."""
    name, before = rule["name"], int(rule["points"])
    coefficient = fitted.get(f"rule:{name}", 0.0)
    if found is None or found.present < MIN_SUPPORT:
        reason = f"Fired for {found.present if found else 0} training candidates: too few to judge."
        return rule, Change(section, name, "kept", before, before, coefficient, found, reason)
    after = to_points(coefficient, scale)
    if after == 0 or (after > 0) != (before > 0):
        direction = "did not predict conversion" if before > 0 else "did not predict a lower conversion"
        reason = f"It {direction} once the other rules were counted. {evidence_words(found)}"
        return None, Change(section, name, "pruned", before, None, coefficient, found, reason)
    new_rule = dict(rule, points=after)
    if "max_points" in rule:
        new_rule["max_points"] = round(rule["max_points"] * abs(after / before), 1) or 1
    action = "kept" if after == before else "reweighted"
    return new_rule, Change(section, name, action, before, after, coefficient, found, evidence_words(found))


def behaviour_rule(behaviour: Behaviour, points: int) -> tuple[str, dict]:
    """The section and rule that reads `behaviour`: engagement rules count it in a window, capped."""
    if behaviour.kind == "attribute":
        name = f"{behaviour.field.split('.')[1].replace('_', ' ').capitalize()} {behaviour.value}"
        when = {"field": behaviour.field, "op": "eq", "value": behaviour.value}
        rule = {"name": name[:100], "points": points, "when": when}
        rule["description"] = f"Where {behaviour.words}: over-represented among buyers (suggested)."
        return "fit_rules", rule
    rule: dict = {"points": points, "max_count": BEHAVIOUR_CAP, "window_days": BEHAVIOUR_WINDOW_DAYS}
    if behaviour.kind == "event":
        rule.update(name=behaviour.event, event=behaviour.event)
    elif behaviour.kind == "page":
        rule.update(
            name=f"Visited {behaviour.value}",
            event_type="page",
            when={"field": "event.properties.path", "op": "startswith", "value": behaviour.value},
        )
    else:
        rule.update(
            name=f"{behaviour.event}: {behaviour.field} {behaviour.value}",
            event=behaviour.event,
            when={"field": f"event.properties.{behaviour.field}", "op": "eq", "value": behaviour.value},
        )
    rule["name"] = rule["name"][:100]
    rule["label"] = rule["name"][:60].lower()
    did = "Made" if behaviour.kind == "page" else "Did"
    rule["description"] = f"{did} {behaviour.words} in the last {BEHAVIOUR_WINDOW_DAYS} days (suggested)."
    return "engagement_rules", rule


def _unique(name: str, taken: set[str]) -> str:
    candidate, number = name, 1
    while candidate.casefold() in taken:
        candidate = f"{name[:85]} (suggested{f' {number}' if number > 1 else ''})"
        number += 1
    taken.add(candidate.casefold())
    return candidate


def draft_document(
    base: dict,
    fitted: Fitted,
    rule_evidence: dict[str, Evidence],
    added: list[tuple[Behaviour, Evidence]],
    path_evidence: dict[str, Evidence],
) -> Draft:
    """The base document re-weighted, pruned and extended by the fit (thresholds are set later)."""
    coefficients = fitted.as_dict()
    base_points = {
        f"rule:{rule['name']}": rule["points"]
        for section in POINT_SECTIONS
        for rule in base.get(section, [])
        if (found := rule_evidence.get(rule["name"])) is not None and found.present >= MIN_SUPPORT
    }
    scale = points_scale(coefficients, base_points)
    document = copy.deepcopy(base)
    draft = Draft(document, scale=scale)
    for section in POINT_SECTIONS:
        kept = []
        for rule in base.get(section, []):
            new_rule, change = _reweigh(section, rule, coefficients, rule_evidence.get(rule["name"]), scale)
            draft.changes.append(change)
            if new_rule is not None:
                kept.append(new_rule)
        document[section] = kept
    for path in base.get("pql_paths", []):
        found = path_evidence.get(path["name"])
        reason = "PQL paths qualify on their own and give no points; kept. " + evidence_words(found)
        draft.changes.append(Change("pql_paths", path["name"], "kept", None, None, None, found, reason))
    sections = (*POINT_SECTIONS, "pql_paths")
    taken = {rule["name"].casefold() for section in sections for rule in document.get(section, [])}
    for behaviour, found in added:
        points = to_points(coefficients.get(behaviour.key, 0.0), scale)
        if points <= 0:
            continue
        section, rule = behaviour_rule(behaviour, points)
        rule["name"] = _unique(rule["name"], taken)
        document[section].append(rule)
        reason = f"The version had no rule for {behaviour.words}. {evidence_words(found)}"
        coefficient = coefficients[behaviour.key]
        draft.changes.append(Change(section, rule["name"], "added", None, points, coefficient, found, reason))
    return draft


def _qualified(ranked, fit_min: float, engagement_min: float, total_min: float) -> float:
    return sum(
        weight
        for total, fit, engagement, is_pql, weight in ranked
        if is_pql or (fit >= fit_min and engagement >= engagement_min and total >= total_min)
    )


def capacity_thresholds(base: dict, ranked: list[tuple[float, float, float, bool]], capacity: int, scale_fit: float):
    """MQL thresholds under which about `capacity` candidates qualify (PQLs count; they qualify anyway).

    `ranked`: (total, fit, engagement, is_pql, weight) of the candidates at the latest cut-off, best
    first (a sampled candidate weighs as many as it stands for).
    The total minimum is at the last candidate the team can work (or just above it, when many
    candidates tie there and that is nearer the capacity); the fit and engagement minimums are the
    weakest among those picked (never below zero), so the picked ones qualify.
    """
    others = [row for row in ranked if not row[3]]
    room = max(capacity - sum(row[4] for row in ranked if row[3]), 0)
    picked, weight = [], 0.0
    for row in others:
        if weight >= room:
            break
        picked.append(row)
        weight += row[4]
    if picked:
        fit_min = max(0, math.floor(min(row[1] for row in picked)))
        engagement_min = max(0, math.floor(min(row[2] for row in picked)))
        cuts = (math.floor(picked[-1][0]), math.floor(picked[-1][0]) + 1)
        total_min = min(cuts, key=lambda cut: (abs(_qualified(ranked, fit_min, engagement_min, cut) - capacity), -cut))
    else:  # the PQLs alone fill the team's capacity: MQL only above everyone
        total_min = math.floor(others[0][0]) + 1 if others else 1
        fit_min = engagement_min = 0
    thresholds = copy.deepcopy(base["thresholds"])
    thresholds["mql"] = {"fit_min": fit_min, "engagement_min": engagement_min, "total_min": total_min}
    hot = ranked[: max(capacity // 4, 1)]
    thresholds["hot"] = {"total_min": max(math.floor(hot[-1][0]) if hot else total_min, total_min + 1)}
    grades = base["thresholds"]["grades"]
    a = max(round(grades["A"] * scale_fit), 3)
    b = min(max(round(grades["B"] * scale_fit), 2), a - 1)
    c = min(max(round(grades["C"] * scale_fit), 1), b - 1)
    thresholds["grades"] = {"A": a, "B": b, "C": c}
    return thresholds
