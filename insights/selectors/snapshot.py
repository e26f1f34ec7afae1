"""A rule version's view of the world as of a moment, and what happened in the days after.

The one read under calibration, backtests and suggested versions: every candidate (a lead, or
an account) scored by `version` with only what was known before `as_of`, next to the outcomes
that followed within `horizon_days`. Reads only; nothing is saved.

Who is a candidate at `as_of`: an unmerged lead first seen before it that had not already
closed (no closed-won or closed-lost outcome, no move to won, lost or disqualified before it).
For accounts: every account with a candidate lead.

What counts as having converted: an outcome in [as_of, as_of + horizon) that names the lead,
or names its account and no lead (an account's deal is credit to each of its candidates); for
an account, an outcome that names it or any of its leads.
"""

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import reduce

from django.db.models.functions import Coalesce

from insights.engine.measures import Scored
from leads.models import Lead, Outcome, OutcomeKind, StageChange
from leads.services.stages import TERMINAL_STAGES
from scoring.engine import evaluate
from scoring.engine.horizons import EventHorizons, event_horizons
from scoring.models import RuleVersion
from scoring.selectors import leads_for_scoring, rule_version_compiled, scoring_facts_for_leads

UNITS = ("lead", "account")
CHUNK_SIZE = 1000
CLOSED_KINDS = (OutcomeKind.CLOSED_WON, OutcomeKind.CLOSED_LOST)


@dataclass(frozen=True)
class Candidate:
    """One lead or account as the version saw it at `as_of`, and the outcomes after."""

    id: int
    key: str  # the lead's email or the account's domain
    total: float
    fit: float
    engagement: float
    is_mql: bool
    pql_path: str | None
    why: str
    outcomes: frozenset[str] = frozenset()  # the outcome kinds within the horizon
    grade: str = ""
    is_hot: bool = False  # the outcome kinds within the horizon
    lead_ids: tuple[int, ...] = ()  # for an account: its candidate leads
    pql_paths: frozenset[str] = frozenset()  # for an account: every path any of its leads is on

    @property
    def is_qualified(self) -> bool:
        return self.is_mql or self.pql_path is not None

    def reached(self, kinds: Sequence[str]) -> bool:
        return bool(self.outcomes.intersection(kinds))


@dataclass(frozen=True)
class Snapshot:
    version_id: int
    as_of: datetime
    horizon_days: int
    unit: str
    candidates: tuple[Candidate, ...]
    outcomes_after: int  # outcomes of any kind at or after as_of: none means nothing can be measured yet
    labels_complete: bool = field(default=False)  # the horizon has fully passed

    def scored(self, positive_kinds: Sequence[str] = (OutcomeKind.CLOSED_WON,)) -> list[Scored]:
        return [
            Scored(id=c.id, score=c.total, is_qualified=c.is_qualified, is_positive=c.reached(positive_kinds))
            for c in self.candidates
        ]


def candidate_leads(as_of: datetime, lead_ids: Sequence[int] | None):
    closed = Outcome.objects.filter(kind__in=CLOSED_KINDS, occurred_at__lt=as_of, lead__isnull=False)
    moved = StageChange.objects.filter(to_stage__in=TERMINAL_STAGES, changed_at__lt=as_of)
    if lead_ids is not None:
        # A backtest asks chunk by chunk: read the chunk's history, not everyone's.
        closed, moved = closed.filter(lead_id__in=lead_ids), moved.filter(lead_id__in=lead_ids)
    closed_before = set(closed.values_list("lead_id", flat=True)) | set(moved.values_list("lead_id", flat=True))
    leads = leads_for_scoring().annotate(seen_at=Coalesce("first_seen_at", "created_at")).filter(seen_at__lt=as_of)
    if lead_ids is not None:
        leads = leads.filter(id__in=lead_ids)
    ids = [lead_id for lead_id in leads.order_by("id").values_list("id", flat=True) if lead_id not in closed_before]
    return leads, ids


def outcomes_within(as_of: datetime, until: datetime) -> tuple[dict[int, set], dict[int, set], dict[int, set]]:
    """Outcome kinds in the window: by the lead named, by the account named with no lead, by any account named."""
    by_lead: dict[int, set] = defaultdict(set)
    account_only: dict[int, set] = defaultdict(set)
    by_account: dict[int, set] = defaultdict(set)
    rows = Outcome.objects.filter(occurred_at__gte=as_of, occurred_at__lt=until).values_list(
        "kind", "lead_id", "account_id", "lead__merged_into_id"
    )
    for kind, lead_id, account_id, survivor_id in rows:
        if lead_id:
            by_lead[survivor_id or lead_id].add(kind)
        elif account_id:
            account_only[account_id].add(kind)
        if account_id:
            by_account[account_id].add(kind)
    return by_lead, account_only, by_account


def _horizons_union(first: EventHorizons, second: EventHorizons) -> EventHorizons:
    """Every event either version reads, as far back as the wider of the two reads it."""

    def widest(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
        return {key: max(a.get(key, 0.0), b.get(key, 0.0)) for key in a.keys() | b.keys()}

    days = [value for value in (first.any_event_days, second.any_event_days) if value is not None]
    return EventHorizons(
        any_event_days=max(days) if days else None,
        names=widest(first.names, second.names),
        types=widest(first.types, second.types),
        detail_names=first.detail_names | second.detail_names,
        detail_types=first.detail_types | second.detail_types,
        detail_any=first.detail_any or second.detail_any,
    )


def _lead_scores(versions: Sequence[RuleVersion], as_of: datetime, leads, ids: list[int]) -> Iterator[tuple]:
    """(lead, one result per version): the facts of a chunk are read once for all the versions."""
    compiled = [rule_version_compiled(version) for version in versions]
    since = as_of - timedelta(days=max(each.max_window_days for each in compiled))
    horizons = reduce(_horizons_union, [event_horizons(each) for each in compiled])
    account_horizons = reduce(_horizons_union, [event_horizons(each, account_level=True) for each in compiled])
    for start in range(0, len(ids), CHUNK_SIZE):
        chunk = list(leads.filter(id__in=ids[start : start + CHUNK_SIZE]).order_by("id"))
        facts = scoring_facts_for_leads(
            leads=chunk, as_of=as_of, since=since, horizons=horizons, account_horizons=account_horizons
        )
        for lead in chunk:
            yield lead, [evaluate(each, facts[lead.id]) for each in compiled]


def snapshot_scored(
    *,
    version: RuleVersion,
    as_of: datetime,
    horizon_days: int,
    unit: str = "lead",
    lead_ids: Sequence[int] | None = None,
    now: datetime | None = None,
) -> Snapshot:
    """Every candidate scored by `version` as of `as_of`, with the outcomes of the `horizon_days` after."""
    (snapshot,) = snapshots_scored(
        versions=[version], as_of=as_of, horizon_days=horizon_days, unit=unit, lead_ids=lead_ids, now=now
    )
    return snapshot


def snapshots_scored(
    *,
    versions: Sequence[RuleVersion],
    as_of: datetime,
    horizon_days: int,
    unit: str = "lead",
    lead_ids: Sequence[int] | None = None,
    now: datetime | None = None,
) -> list[Snapshot]:
    """`snapshot_scored` for several versions at once (a backtest and the live version beside it):
    the same candidates and outcomes, and each chunk's facts read once for all of them."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}")
    until = as_of + timedelta(days=horizon_days)
    leads, ids = candidate_leads(as_of, lead_ids)
    by_lead, account_only, by_account = outcomes_within(as_of, until)
    per_version: list[list[tuple[Lead, Candidate]]] = [[] for _ in versions]
    for lead, results in _lead_scores(versions, as_of, leads, ids):
        kinds = frozenset(by_lead.get(lead.id, set()) | account_only.get(lead.account_id, set()))
        for pairs, result in zip(per_version, results, strict=True):
            candidate = Candidate(
                id=lead.id,
                key=lead.email or "",
                total=result.total,
                fit=result.fit,
                engagement=result.engagement,
                is_mql=result.is_mql,
                pql_path=result.pql_path,
                why=result.why,
                outcomes=kinds,
                grade=result.grade,
                is_hot=result.is_hot,
            )
            pairs.append((lead, candidate))
    outcomes_after = Outcome.objects.filter(occurred_at__gte=as_of).count()
    labels_complete = now is not None and until <= now
    snapshots = []
    for version, lead_candidates in zip(versions, per_version, strict=True):
        if unit == "lead":
            candidates = tuple(candidate for _, candidate in lead_candidates)
        else:
            candidates = _accounts(lead_candidates, by_lead, by_account)
        snapshots.append(Snapshot(version.id, as_of, horizon_days, unit, candidates, outcomes_after, labels_complete))
    return snapshots


def _accounts(lead_candidates, by_lead, by_account) -> tuple[Candidate, ...]:
    """Accounts rolled up from their candidate leads: the best lead's score, qualified when any lead is."""
    members: dict[int, list[tuple[Lead, Candidate]]] = defaultdict(list)
    for lead, candidate in lead_candidates:
        if lead.account_id:
            members[lead.account_id].append((lead, candidate))
    accounts = []
    for account_id, pairs in sorted(members.items()):
        best = max(pairs, key=lambda pair: (pair[1].total, -pair[1].id))[1]
        kinds = set(by_account.get(account_id, set()))
        for lead, _ in pairs:
            kinds |= by_lead.get(lead.id, set())
        pql = next((c.pql_path for _, c in pairs if c.pql_path), None)
        accounts.append(
            Candidate(
                id=account_id,
                key=pairs[0][0].account.domain or "",
                total=best.total,
                fit=best.fit,
                engagement=best.engagement,
                is_mql=any(c.is_mql for _, c in pairs),
                pql_path=pql,
                why=best.why,
                outcomes=frozenset(kinds),
                grade=best.grade,
                is_hot=any(c.is_hot for _, c in pairs),
                lead_ids=tuple(lead.id for lead, _ in pairs),
                pql_paths=frozenset(c.pql_path for _, c in pairs if c.pql_path),
            )
        )
    return tuple(accounts)
