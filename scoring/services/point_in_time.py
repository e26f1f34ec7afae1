"""Scores as of a past moment, for backtests: read-only, in bounded batches, no look-ahead.

Each lead (and account) is scored with only what was known strictly before `as_of`: its events,
the seats of its account, and who it and its account were then, rebuilt from history
(leads/selectors_as_of.py); outcomes are never read by scoring. Nothing is written.

    for lead_id, result in scores_as_of(version=version, as_of=moment):
        result.total, result.stage
    for account_id, result in account_scores_as_of(version=version, as_of=moment):
        result.total, result.stage, result.pql_path

Leads are those known before `as_of` (created or first seen before it), unmerged today (identity
as known today); accounts those created before it or with an event before it.
"""

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet

from leads.models import Account, Event, Lead
from leads.selectors_as_of import lead_known_before
from scoring.engine import AccountScoreResult, LeadPart, ScoreResult, account_roll_up, evaluate
from scoring.engine.horizons import event_horizons
from scoring.models import RuleVersion
from scoring.selectors import (
    account_signals,
    accounts_for_scoring,
    leads_for_scoring,
    rule_version_compiled,
    scoring_facts_for_accounts,
    scoring_facts_for_leads,
)

AS_OF_CHUNK_SIZE = 1000


def _batches(queryset: QuerySet, *, ids: Iterable[int] | None, chunk_size: int) -> Iterator[list[int]]:
    """The ids of `queryset` in id order, `chunk_size` at a time (keyset: no offset rescans)."""
    if ids is not None:
        queryset = queryset.filter(id__in=list(ids))
    last = 0
    while True:
        chunk = list(queryset.filter(id__gt=last).order_by("id").values_list("id", flat=True)[:chunk_size])
        if not chunk:
            return
        yield chunk
        last = chunk[-1]


def _lead_results(leads: list[Lead], *, version: RuleVersion, as_of: datetime) -> dict[int, tuple[ScoreResult, str]]:
    """Each lead's score as of then, with its stage as of then."""
    compiled = rule_version_compiled(version)
    facts = scoring_facts_for_leads(
        leads=leads,
        as_of=as_of,
        since=as_of - timedelta(days=compiled.max_window_days),
        with_context=account_signals(compiled).uses_context,
        horizons=event_horizons(compiled),
        account_horizons=event_horizons(compiled, account_level=True),
    )
    return {lead.id: (evaluate(compiled, facts[lead.id]), facts[lead.id].lead.attributes["stage"]) for lead in leads}


def scores_as_of(
    *, version: RuleVersion, as_of: datetime, lead_ids: Iterable[int] | None = None, chunk_size: int = AS_OF_CHUNK_SIZE
) -> Iterator[tuple[int, ScoreResult]]:
    """(lead id, score) for every lead known before `as_of` (or those of `lead_ids` that were), in
    id order, scored by `version` as of then. Reads `chunk_size` leads at a time; writes nothing."""
    known = Lead.objects.filter(lead_known_before(as_of), merged_into__isnull=True)
    for chunk in _batches(known, ids=lead_ids, chunk_size=chunk_size):
        leads = list(leads_for_scoring().filter(id__in=chunk).order_by("id"))
        for lead_id, (result, _) in _lead_results(leads, version=version, as_of=as_of).items():
            yield lead_id, result


def account_scores_as_of(
    *,
    version: RuleVersion,
    as_of: datetime,
    account_ids: Iterable[int] | None = None,
    chunk_size: int = AS_OF_CHUNK_SIZE,
) -> Iterator[tuple[int, AccountScoreResult]]:
    """(account id, score) for every account known before `as_of` (created before it, or with an
    event before it), in id order: its leads known then scored as of then and rolled up with its
    own product usage before then (scoring/engine/accounts.py). Writes nothing."""
    compiled = rule_version_compiled(version)
    seen = Event.objects.filter(account_id=OuterRef("id"), timestamp__lt=as_of)
    known = Account.objects.filter(Q(created_at__lt=as_of) | Exists(seen))
    for chunk in _batches(known, ids=account_ids, chunk_size=chunk_size):
        accounts = list(accounts_for_scoring().filter(id__in=chunk).order_by("id"))
        leads = list(
            leads_for_scoring().filter(lead_known_before(as_of), account_id__in=chunk).order_by("account_id", "id")
        )
        results = _lead_results(leads, version=version, as_of=as_of) if leads else {}
        parts: dict[int, list[LeadPart]] = {}
        for lead in leads:
            result, stage = results[lead.id]
            parts.setdefault(lead.account_id, []).append(
                LeadPart(lead.id, stage, result.fit, result.engagement, result.total, pql=result.pql)
            )
        # An account with no lead known then is scored on its own facts as of then.
        alone = [account for account in accounts if account.id not in parts]
        facts = scoring_facts_for_accounts(accounts=alone, compiled=compiled, as_of=as_of) if alone else {}
        for account in accounts:
            yield (
                account.id,
                account_roll_up(compiled, leads=parts.get(account.id, []), facts=facts.get(account.id)),
            )
