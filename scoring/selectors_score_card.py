"""A lead's score in words (the score card) and its progress along the PQL paths (the checklist).

Both read the rule version that produced the score, described by the same code as the
stage definitions page (`rule_version_definitions`), so a rule reads the same on both.
A bounded number of queries whatever the lead did: the version's rules, and one grouped
query over the lead's (and its account's) events for the checklist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q

from leads.models import Event, Lead
from scoring.engine.describe import describe_hit
from scoring.engine.rules import DEFAULT_LOOKBACK_DAYS, DEFAULT_PLAN_LIMIT_EVENT
from scoring.models import LeadScore, RuleVersion
from scoring.selectors import rule_version_definitions, rule_version_document

_HIT_SECTIONS = {"fit": "fit_rules", "engagement": "engagement_rules", "negative": "negative_rules"}


@dataclass(frozen=True)
class FiredRule:
    """One rule that fired for the lead: its points and, in words, why."""

    name: str
    kind: str  # fit, engagement or negative
    points: float
    evidence: str
    definition: str
    description: str

    @property
    def is_negative(self) -> bool:
        return self.points < 0


@dataclass(frozen=True)
class MatchedPath:
    name: str
    summary: str
    definition: str


@dataclass(frozen=True)
class ScoreCard:
    score: LeadScore
    version: RuleVersion
    document: dict = field(repr=False)
    path_definitions: dict[str, str]
    positive_sections: list[tuple[str, list[FiredRule]]]
    negative_rules: list[FiredRule]
    pql_matches: list[MatchedPath]


def rule_documents_by_hit(document: dict) -> dict[tuple[str, str], dict]:
    """A version's fit, engagement and negative rules by the key a hit names them with (`hit_key`)."""
    return {(section, rule["name"]): rule for section in _HIT_SECTIONS.values() for rule in document.get(section, [])}


def hit_key(hit: dict) -> tuple[str, str]:
    """(section, rule name) of a fired rule (a `RuleHit.to_dict()`)."""
    return _HIT_SECTIONS.get(hit.get("kind"), "fit_rules"), hit.get("name")


def lead_score_get(*, lead_id: int) -> LeadScore | None:
    return LeadScore.objects.select_related("version").filter(lead_id=lead_id).first()


def lead_score_card(*, score: LeadScore) -> ScoreCard:
    """The score with every rule that fired, in words, grouped as the definitions page groups them."""
    version = score.version
    document = rule_version_document(version)
    definitions = rule_version_definitions(version, document)
    sentences = {(rule["section"], rule["name"]): rule for rule in definitions["rules"]}
    documents = rule_documents_by_hit(document)
    explanation = score.explanation if isinstance(score.explanation, dict) else {}
    fired: dict[str, list[FiredRule]] = {section: [] for section in _HIT_SECTIONS.values()}
    for hit in explanation.get("hits") or []:
        key = hit_key(hit)
        section = key[0]
        described = sentences.get(key, {})
        fired[section].append(
            FiredRule(
                name=str(hit.get("name")),
                kind=str(hit.get("kind")),
                points=float(hit.get("points") or 0),
                evidence=describe_hit(hit, documents.get(key)),
                definition=described.get("definition", "This rule is no longer in the version."),
                description=described.get("description", ""),
            )
        )
    # A negative points value is a negative signal whichever section it came from.
    negatives = [rule for rules in fired.values() for rule in rules if rule.is_negative]
    titles = {"fit_rules": "Fit: who the lead is", "engagement_rules": "Engagement: what the lead did"}
    positive_sections = []
    for section, title in titles.items():
        rules = sorted((rule for rule in fired[section] if not rule.is_negative), key=lambda rule: -rule.points)
        if rules:
            positive_sections.append((title, rules))
    # What a rep reads of a path: its one-line description, else the generated sentence.
    path_definitions = {path["name"]: path["description"] or path["definition"] for path in definitions["pql_paths"]}
    matches = [
        MatchedPath(
            name=str(match.get("name")),
            summary=str(match.get("summary", "")),
            definition=path_definitions.get(match.get("name"), ""),
        )
        for match in explanation.get("pql_matches") or []
    ]
    return ScoreCard(
        score=score,
        version=version,
        document=document,
        path_definitions=path_definitions,
        positive_sections=positive_sections,
        negative_rules=sorted(negatives, key=lambda rule: rule.points),
        pql_matches=matches,
    )


# --- the activation checklist -------------------------------------------------------------


@dataclass(frozen=True)
class ChecklistStep:
    event: str
    done_at: datetime | None
    count: int
    is_in_window: bool  # done recently enough for the path to count it

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


@dataclass(frozen=True)
class ChecklistPath:
    name: str
    definition: str
    is_met: bool
    summary: str  # the engine's words when met
    by_account: bool
    steps: list[ChecklistStep]

    @property
    def done_count(self) -> int:
        return sum(1 for step in self.steps if step.is_done and step.is_in_window)


def _path_steps(path: dict) -> tuple[list[str], float]:
    """The events a path is made of (the checklist's steps) and how far back they count, in days."""
    if path.get("kind") == "activation":
        return list(path.get("events") or []), float(path.get("lookback_days", DEFAULT_LOOKBACK_DAYS))
    if path.get("kind") == "plan_limit":
        return [path.get("event", DEFAULT_PLAN_LIMIT_EVENT)], float(path["within_days"])
    return [], 0.0


def lead_activation_checklist(*, lead: Lead, card: ScoreCard | None, now: datetime) -> list[ChecklistPath]:
    """Each PQL path of the scoring version: met or not, and which of its steps the events show, when.

    Empty when the version has no PQL path, or when nothing shows product use (no path met and
    no step ever done): a plain marketing lead gets no checklist.
    """
    if card is None or not card.document.get("pql_paths"):
        return []
    paths = card.document["pql_paths"]
    names = sorted({name for path in paths for name in _path_steps(path)[0]})
    own, anyone = {}, {}
    if names:
        on_account = Q(account_id=lead.account_id) if lead.account_id else Q(pk__in=[])
        own_only = Q(lead_id=lead.id)
        rows = (
            Event.objects.filter(own_only | on_account, event__in=names)
            .values("event")
            .annotate(
                own_last=Max("timestamp", filter=own_only),
                own_count=Count("id", filter=own_only),
                any_last=Max("timestamp"),
                any_count=Count("id"),
            )
        )
        for row in rows:
            own[row["event"]] = (row["own_last"], row["own_count"])
            anyone[row["event"]] = (row["any_last"], row["any_count"])
    met = {match.name: match for match in card.pql_matches}
    checklist = []
    for path in paths:
        events, days = _path_steps(path)
        by_account = path.get("scope", "lead" if path.get("kind") == "activation" else "account") == "account"
        seen = anyone if by_account else own
        steps = []
        for event in events:
            done_at, count = seen.get(event, (None, 0))
            in_window = done_at is not None and done_at >= now - timedelta(days=days)
            steps.append(ChecklistStep(event=event, done_at=done_at, count=count, is_in_window=in_window))
        checklist.append(
            ChecklistPath(
                name=path["name"],
                definition=card.path_definitions.get(path["name"], ""),
                is_met=path["name"] in met,
                summary=met[path["name"]].summary if path["name"] in met else "",
                by_account=by_account,
                steps=steps,
            )
        )
    if not any(path.is_met or any(step.is_done for step in path.steps) for path in checklist):
        return []
    return checklist
