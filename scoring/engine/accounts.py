"""An account's score: its leads' scores rolled up, and its own product usage. Pure Python, no Django.

The rule (scoring/engine/README.md, "Accounts"):

- fit: the best fit among the account's leads (a company is as good a fit as its best-fitting
  contact, and every lead's fit already counts the `account.*` rules); an account with no scored
  lead gets the version's fit rules on its own fields;
- engagement: the highest engagement among its leads; total = fit + engagement, so the
  committee counts: the VP who fits and the engineer who engages make one strong account;
- PQL: the version's PQL paths evaluated over the whole account (every person's product events
  and the group-level ones, whatever the path's scope; the account's seat history and plan),
  each path's `fit_min` compared with the account's fit: the account whose product usage shows
  it is ready;
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
    """What one lead brings to its account: its stage and, once scored, its score."""

    lead_id: Any
    stage: str
    fit: float = 0.0
    engagement: float = 0.0
    total: float = 0.0
    is_scored: bool = True


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


def account_roll_up(compiled: CompiledVersion, *, leads: Sequence[LeadPart], facts: ScoringFacts) -> AccountScoreResult:
    """Score one account from its leads' parts and its own facts (`facts.lead` is unused: give
    an empty LeadFacts; `facts.events` are the account's events for its PQL paths, see
    `horizons.pql_horizons`; `facts.now` the clock, the as-of moment for a past one)."""
    scored = [lead for lead in leads if lead.is_scored]
    if scored:
        best_fit = max(scored, key=lambda lead: (lead.fit, lead.total))
        most_engaged = max(scored, key=lambda lead: (lead.engagement, lead.total))
        fit, engagement = best_fit.fit, most_engaged.engagement
    else:
        best_fit = most_engaged = None
        fit = evaluate(compiled, replace(facts, events=())).fit
        engagement = 0.0
    fit, engagement = _round(fit), _round(engagement)
    total = _round(fit + engagement)
    thresholds = compiled.thresholds
    is_mql = fit >= thresholds.fit_min and engagement >= thresholds.engagement_min and total >= thresholds.total_min
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
