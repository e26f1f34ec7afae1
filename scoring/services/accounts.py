"""Account scores: each account's leads' scores rolled up with its own product usage
(scoring/engine/accounts.py), written by the rescoring passes that score its leads."""

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from leads.models import StageChange
from qualify_site.bulk_sql import bulk_insert
from scoring.engine import AccountScoreResult, account_roll_up
from scoring.models import AccountScore, RuleVersion
from scoring.selectors import (
    account_lead_parts,
    accounts_for_scoring,
    rule_version_compiled,
    rule_version_live,
    scoring_facts_for_accounts,
)

ACCOUNT_CHUNK_SIZE = 1000
_ACCOUNT_SCORE_ROW = (
    "account_id",
    "version_id",
    "fit",
    "engagement",
    "total",
    "grade",
    "is_mql",
    "is_pql",
    "pql_path",
    "stage",
    "why",
    "explanation",
    "computed_at",
)


def account_score_row(account_id: int, *, version: RuleVersion, result: AccountScoreResult, now: datetime) -> tuple:
    """One AccountScore row laid out like _ACCOUNT_SCORE_ROW."""
    return (
        account_id,
        version.id,
        result.fit,
        result.engagement,
        result.total,
        result.grade,
        result.is_mql,
        result.is_pql,
        result.pql_path or "",
        result.stage,
        result.why,
        result.to_dict(),
        now,
    )


def accounts_rescore(*, account_ids: Iterable[int], version: RuleVersion, now: datetime) -> int:
    """Roll up and store the scores of these accounts from their leads' stored scores, PQL matches
    and stages; an account with no scored lead from its own facts.

    Called in the transaction that wrote the leads' scores. The account rows are locked (in id
    order, after the leads) so that two passes sharing an account write its roll-up one after the
    other, the later one reading what the earlier committed: the last write sees every lead."""
    ids = sorted(set(account_ids))
    if not ids:
        return 0
    compiled = rule_version_compiled(version)
    with transaction.atomic():
        ids = list(
            accounts_for_scoring()
            .select_for_update(of=("self",))
            .filter(id__in=ids)
            .order_by("id")
            .values_list("id", flat=True)
        )
        parts = account_lead_parts(account_ids=ids)
        alone = [account_id for account_id in ids if not any(part.is_scored for part in parts.get(account_id, ()))]
        facts = (
            scoring_facts_for_accounts(
                accounts=list(accounts_for_scoring().filter(id__in=alone)), compiled=compiled, now=now
            )
            if alone
            else {}
        )
        rows = [
            account_score_row(
                account_id,
                version=version,
                result=account_roll_up(compiled, leads=parts.get(account_id, []), facts=facts.get(account_id)),
                now=now,
            )
            for account_id in ids
        ]
        bulk_insert(AccountScore, _ACCOUNT_SCORE_ROW, rows, upsert_on="account_id")
    return len(rows)


def accounts_with_stage_moves(*, limit: int) -> list[int]:
    """Accounts one of whose leads moved stage (by hand, by an outcome: anything but the pass that
    rolled the account up) after its roll-up, oldest roll-up first: their rolled-up stage is behind."""
    moved = StageChange.objects.filter(lead__account_id=OuterRef("account_id"), changed_at__gt=OuterRef("computed_at"))
    return list(
        AccountScore.objects.filter(Exists(moved)).order_by("computed_at").values_list("account_id", flat=True)[:limit]
    )


def accounts_roll_up_again(*, account_ids: Iterable[int], now: datetime | None = None) -> int:
    """Roll these accounts up again with the live version from their leads as they stand (no event
    is read): what a stage moved by hand or by an outcome needs."""
    version = rule_version_live()
    if version is None:
        return 0
    total = 0
    ids = sorted(set(account_ids))
    for start in range(0, len(ids), ACCOUNT_CHUNK_SIZE):
        total += accounts_rescore(
            account_ids=ids[start : start + ACCOUNT_CHUNK_SIZE], version=version, now=now or timezone.now()
        )
    return total
