"""An account's score: its leads' scores rolled up, and its own product usage. Pure Python, no Django.

The rule (scoring/engine/README.md, "Accounts"):

- fit: the best fit among the account's leads (a company is as good a fit as its best-fitting
  contact, and every lead's fit already counts the `account.*` rules); an account with no scored
  lead gets the version's fit rules on its own fields;
- engagement: the highest engagement among its leads; total = fit + engagement, so the
  committee counts: the VP who fits and the engineer who engages make one strong account;
- PQL: the account whose product usage shows it is ready: the first of the version's PQL paths
  (in the version's order) that one of its leads reached. A path with scope "account" already
  reads the whole account's usage (every person's product events, group-level events, the seat
  history) for each lead; one with scope "lead" asks one person to do it, and the account keeps
  that meaning. An account with no scored lead is evaluated on its own: its account-scoped paths
  over its events and seat history;
- MQL: the version's MQL thresholds on the account's fit, engagement and total;
- stage: the most advanced stage among its leads (won, opportunity, SQL, accepted, PQL, MQL,
  new, nurture, lost, disqualified, most advanced first), raised to PQL (or MQL) when the
  account itself qualifies and no lead is that far yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from scoring.engine.evaluate import evaluate, evaluate_account_paths
from scoring.engine.facts import PqlMatch, ScoringFacts
from scoring.engine.rules import CompiledVersion

# Least to most advanced: an open lead outranks a closed-lost or disqualified one.
STAGE_ORDER = ("disqualified", "lost", "nurture", "new", "mql", "pql", "accepted", "sql", "opportunity", "won")
_RANK = {stage: rank for rank, stage in enumerate(STAGE_ORDER)}
NO_LEAD_STAGE = "new"
MAX_WHY_LENGTH = 300


def stage_rank(stage: str) -> int:
    """Where a stage stands in STAGE_ORDER (an unknown one as "new")."""
    return _RANK.get(stage, _RANK[NO_LEAD_STAGE])


@dataclass(frozen=True)
class LeadPart:
    """What one lead brings to its account: its stage and, once scored, its score and PQL match."""

    lead_id: Any
    stage: str
    fit: float = 0.0
    engagement: float = 0.0
    total: float = 0.0
    is_scored: bool = True
    pql: PqlMatch | None = None


@dataclass(frozen=True)
class AccountScoreResult:
    fit: float
    engagement: float
    total: float
    grade: str
    is_mql: bool
    pql: PqlMatch | None
    pql_matches: tuple[PqlMatch, ...]
    stage: str
    lead_stage: str | None  # the most advanced stage among the leads (None: no lead)
    best_fit_lead_id: Any
    most_engaged_lead_id: Any
    lead_count: int
    engaged_lead_count: int
    why: str

    @property
    def is_pql(self) -> bool:
        return self.pql is not None

    @property
    def pql_path(self) -> str | None:
        return self.pql.name if self.pql else None

    def to_dict(self) -> dict[str, Any]:
        """The explanation as JSON-ready data."""
        return {
            "fit": self.fit,
            "engagement": self.engagement,
            "total": self.total,
            "grade": self.grade,
            "is_mql": self.is_mql,
            "pql": self.pql.to_dict() if self.pql else None,
            "pql_matches": [match.to_dict() for match in self.pql_matches],
            "stage": self.stage,
            "lead_stage": self.lead_stage,
            "best_fit_lead_id": self.best_fit_lead_id,
            "most_engaged_lead_id": self.most_engaged_lead_id,
            "lead_count": self.lead_count,
            "engaged_lead_count": self.engaged_lead_count,
            "why": self.why,
        }


def _round(value: float) -> float:
    return round(value, 1) + 0.0


def _why(*, pql: PqlMatch | None, is_mql: bool, engaged: int, leads: int, stage: str) -> str:
    parts = []
    if pql is not None:
        parts.append(f"PQL: {pql.summary}")
    elif is_mql:
        parts.append("meets the MQL thresholds")
    if leads:
        parts.append(f"{engaged} of {leads} {'person' if leads == 1 else 'people'} engaged")
    else:
        parts.append("no known people yet")
    parts.append(f"furthest: {stage.upper() if stage in ('mql', 'pql', 'sql') else stage}")
    return " · ".join(parts)[:MAX_WHY_LENGTH]


def _lead_matches(compiled: CompiledVersion, leads: Sequence[LeadPart]) -> tuple[PqlMatch, ...]:
    """The paths its leads reached, each once (the first lead's evidence), in the version's order."""
    reached: dict[str, PqlMatch] = {}
    for lead in leads:
        if lead.pql is not None:
            reached.setdefault(lead.pql.name, lead.pql)
    order = {path.name: index for index, path in enumerate(compiled.pql_paths)}
    return tuple(sorted(reached.values(), key=lambda match: order.get(match.name, len(order))))


def account_roll_up(
    compiled: CompiledVersion, *, leads: Sequence[LeadPart], facts: ScoringFacts | None = None
) -> AccountScoreResult:
    """Score one account from its leads' parts. `facts` (the account's own: `facts.lead` an empty
    LeadFacts, `facts.account` its fields and seat history, `facts.events` its events; `now` the
    clock, the as-of moment for a past one) are read only when no lead is scored yet."""
    scored = [lead for lead in leads if lead.is_scored]
    if scored:
        best_fit = max(scored, key=lambda lead: (lead.fit, lead.total))
        most_engaged = max(scored, key=lambda lead: (lead.engagement, lead.total))
        fit, engagement = best_fit.fit, most_engaged.engagement
    else:
        best_fit = most_engaged = None
        fit = evaluate(compiled, replace(facts, events=())).fit if facts is not None else 0.0
        engagement = 0.0
    fit, engagement = _round(fit), _round(engagement)
    total = _round(fit + engagement)
    thresholds = compiled.thresholds
    is_mql = fit >= thresholds.fit_min and engagement >= thresholds.engagement_min and total >= thresholds.total_min
    if scored or facts is None:
        matches = _lead_matches(compiled, scored)
    else:
        matches = evaluate_account_paths(compiled, facts, fit=fit)
    pql = matches[0] if matches else None

    lead_stage = max((lead.stage for lead in leads), key=stage_rank, default=None)
    stage = lead_stage or NO_LEAD_STAGE
    if pql is not None and stage_rank(stage) < _RANK["pql"]:
        stage = "pql"
    elif is_mql and stage_rank(stage) < _RANK["mql"]:
        stage = "mql"
    engaged = sum(1 for lead in scored if lead.engagement > 0)
    return AccountScoreResult(
        fit=fit,
        engagement=engagement,
        total=total,
        grade=thresholds.grade(fit),
        is_mql=is_mql,
        pql=pql,
        pql_matches=matches,
        stage=stage,
        lead_stage=lead_stage,
        best_fit_lead_id=best_fit.lead_id if best_fit else None,
        most_engaged_lead_id=most_engaged.lead_id if most_engaged else None,
        lead_count=len(leads),
        engaged_lead_count=engaged,
        why=_why(pql=pql, is_mql=is_mql, engaged=engaged, leads=len(leads), stage=stage),
    )
