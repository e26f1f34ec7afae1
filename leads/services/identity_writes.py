"""Identity resolution's bulk writes: campaigns and accounts of a plan, history
attachment, marking a batch's events processed, and folding one lead into another.

Split from `identity.py` (load, resolve with the engine, write the plan);
PostgreSQL gets one statement where the SQLite demo gets portable ORM updates.
"""

import logging
from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Max, Min, ProtectedError, RestrictedError

from leads.identity.facts import ANONYMOUS, GROUP, USER, AccountFacts, HistorySeen, IdentityPlan, Key
from leads.models import UNMATCHED_EVENT, Account, Campaign, Event, Lead, LeadMerge, segment_for_employees
from qualify_site import bulk_sql

logger = logging.getLogger(__name__)


def events_mark_processed(*, ids: list[int], lead_ids: list, account_ids: list, at: datetime) -> None:
    """Set lead, account and processed_at of many events in one statement on PostgreSQL."""
    if bulk_sql.is_postgresql():
        with bulk_sql.server_cursor() as cursor:
            cursor.execute(
                f"UPDATE {Event._meta.db_table} AS e "  # noqa: S608 - the table name is ours
                "SET lead_id = v.lead_id, account_id = v.account_id, processed_at = %s "
                "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS v(id, lead_id, account_id) "
                # The ANY() gives the planner the primary-key path whatever its
                # statistics say; without it a stale estimate means a hash join
                # over a sequential scan of the whole event table.
                "WHERE e.id = v.id AND e.id = ANY(%s::bigint[])",
                [at, ids, lead_ids, account_ids, ids],
            )
        return
    _events_mark_processed_portable(ids=ids, lead_ids=lead_ids, account_ids=account_ids, at=at)


def _events_mark_processed_portable(*, ids: list[int], lead_ids: list, account_ids: list, at: datetime) -> None:
    """Any database (the SQLite demo): one UPDATE per distinct (lead, account) pair."""
    groups: dict[tuple, list[int]] = {}
    for event_id, lead_id, account_id in zip(ids, lead_ids, account_ids, strict=True):
        groups.setdefault((lead_id, account_id), []).append(event_id)
    for (lead_id, account_id), event_ids in groups.items():
        for start in range(0, len(event_ids), 500):  # SQLite caps bound parameters
            Event.objects.filter(id__in=event_ids[start : start + 500]).update(
                lead_id=lead_id, account_id=account_id, processed_at=at
            )


# --- Merge ------------------------------------------------------------------


def _lead_snapshot(lead: Lead) -> dict:
    snapshot = {}
    for model_field in lead._meta.concrete_fields:
        value = getattr(lead, model_field.attname)
        snapshot[model_field.attname] = value.isoformat() if isinstance(value, datetime) else value
    return snapshot


def _relations_move(model, old, new, *, skip: tuple = ()) -> None:
    """Point every foreign key at `old` (from any app) at `new` instead.

    A relation that cannot move (a one-per-row table where `new` already has
    its row) stays where it is, logged: history is kept either way.
    """
    for relation in model._meta.related_objects:
        related = relation.related_model
        if not relation.one_to_many or related in skip:
            continue
        field_name = relation.field.name
        queryset = related._base_manager.filter(**{field_name: old})
        if related is model:
            queryset = queryset.exclude(pk=new.pk)
        try:
            with transaction.atomic():
                queryset.update(**{field_name: new})
        except IntegrityError:
            logger.warning("%s %s -> %s: %s.%s left behind", model.__name__, old.pk, new.pk, related, field_name)


def lead_merge_write(*, survivor: Lead, merged: Lead, reason: str, at: datetime) -> None:
    """Fold `merged` into `survivor`: everything that pointed at it moves, nothing is deleted.

    Every foreign key to Lead moves (identities, events, stage changes,
    outcomes, and whatever other apps add), so history stays whole. A relation
    that cannot move (say a one-per-lead row the survivor already has) stays
    on the merged lead, which is kept and points at its survivor.
    """
    LeadMerge.objects.create(
        survivor=survivor, merged=merged, merged_at=at, reason=reason, snapshot=_lead_snapshot(merged)
    )
    _relations_move(Lead, merged, survivor, skip=(LeadMerge,))
    merged.merged_into = survivor
    merged.updated_at = at


# --- Campaigns and accounts --------------------------------------------------

_ACCOUNT_UPDATE_FIELDS = [
    "name",
    "domain",
    "group_id",
    "industry",
    "employee_count",
    "country",
    "region",
    "segment",
    "plan",
    "seats",
    "traits",
    "updated_at",
]
_ACCOUNT_WRITTEN = [account_field.name for account_field in fields(AccountFacts) if account_field.name != "id"]


def campaigns_write(wanted: Mapping[str, str]) -> dict[str, int]:
    """Insert the campaigns (name -> type) not stored yet; return every wanted name's id."""
    if not wanted:
        return {}
    Campaign.objects.bulk_create(
        [Campaign(name=name, type=kind) for name, kind in sorted(wanted.items())], ignore_conflicts=True
    )
    return dict(Campaign.objects.filter(name__in=wanted).values_list("name", "id"))


def accounts_write(plan: IdentityPlan, *, accounts: Mapping[int, Account], now: datetime) -> dict[int, int]:
    """Fold, insert and update the plan's accounts; return the new ones' plan ids -> row ids."""
    if plan.account_folds:
        # Before the survivors are written: they take the folded accounts'
        # group_ids, which are unique, once the folded rows are gone.
        _accounts_fold_write({folded: into if into > 0 else None for folded, into in plan.account_folds}, now=now)
    new = [_account_apply(Account(created_at=now), facts, now=now) for facts in plan.new_accounts]
    if new:
        Account.objects.bulk_create(new)
    changed = [_account_apply(accounts[facts.id], facts, now=now) for facts in plan.changed_accounts]
    if changed:
        bulk_sql.unnest_update(Account, changed, _ACCOUNT_UPDATE_FIELDS)
    return {facts.id: account.pk for facts, account in zip(plan.new_accounts, new, strict=True)}


def _account_apply(account: Account, facts: AccountFacts, *, now: datetime) -> Account:
    for name in _ACCOUNT_WRITTEN:
        setattr(account, name, getattr(facts, name))
    account.traits = dict(facts.traits)
    # Bulk writes bypass Account.save(), which derives the segment.
    account.segment = segment_for_employees(account.employee_count)
    account.updated_at = now
    return account


def _accounts_fold_write(mapping: dict[int, int | None], *, now: datetime) -> None:
    for relation in Account._meta.related_objects:
        if not relation.one_to_many:
            continue
        model, field_name = relation.related_model, relation.field.name
        for old_pk, new_pk in mapping.items():
            model._base_manager.filter(**{field_name: old_pk}).update(**{field_name: new_pk})
    logger.info("accounts folded into the account of the same company: %s", mapping)
    try:
        with transaction.atomic():
            Account.objects.filter(pk__in=mapping).delete()
    except (IntegrityError, ProtectedError, RestrictedError):
        # Something from another app insists on them: keep the rows, without their groupIds.
        Account.objects.filter(pk__in=mapping).update(group_id=None, updated_at=now)


# --- History ------------------------------------------------------------------


def events_history_attach(pairs: list[tuple[Key, int]]) -> dict[Key, HistorySeen]:
    """Earlier unmatched events under ids linked just now join their lead ((kind, value), lead id).

    Only processed events are attached here: unprocessed ones (this batch
    included) resolve through the new identities when their batch runs, and
    the key locks make sure a batch being processed meanwhile has committed.
    Returns, per id, the span of what was attached and its latest group call's account.
    """
    seen: dict[Key, HistorySeen] = {}
    for kind, column in ((ANONYMOUS, "anonymous_id"), (USER, "user_id")):
        of_kind = [(value, lead_id) for (k, value), lead_id in pairs if k == kind]
        if not of_kind:
            continue
        attach = _history_attach_postgresql if bulk_sql.is_postgresql() else _history_attach_portable
        for value, first, last, group_account_id, group_at in attach(column, of_kind):
            seen[(kind, value)] = HistorySeen(first, last, group_account_id, group_at)
    return seen


def _history_attach_postgresql(column: str, pairs: list[tuple[str, int]]) -> list[tuple]:
    values = [value for value, _ in pairs]
    with bulk_sql.server_cursor() as cursor:
        # Candidates first, by the partial unmatched id index (its predicate
        # spelt out so the planner can use it), locked in id order: locking
        # re-checks "still unmatched" against a concurrent attachment, so the
        # UPDATE needs nothing but the ids. Repeating "lead_id IS NULL" in the
        # UPDATE would let the planner, on stale statistics, AND the ids with
        # every NULL of the (lead, timestamp) index: the whole backlog.
        cursor.execute(
            "WITH candidates AS MATERIALIZED ("  # noqa: S608 - identifiers are ours
            f"SELECT e.id, v.value, v.lead_id FROM {Event._meta.db_table} AS e "
            "JOIN unnest(%s::text[], %s::bigint[]) AS v(value, lead_id) "
            f"ON e.{column} = v.value WHERE e.{column} = ANY(%s::text[]) "
            "AND e.lead_id IS NULL AND e.processed_at IS NOT NULL ORDER BY e.id FOR UPDATE OF e), "
            f"attached AS (UPDATE {Event._meta.db_table} AS e SET lead_id = c.lead_id "
            "FROM candidates AS c WHERE e.id = c.id "
            "AND e.id = ANY(ARRAY(SELECT id FROM candidates)) "
            "RETURNING c.value, e.timestamp, CASE WHEN e.type = %s THEN e.account_id END AS group_account_id) "
            "SELECT value, min(timestamp), max(timestamp), "
            "(array_agg(group_account_id ORDER BY timestamp DESC) FILTER (WHERE group_account_id IS NOT NULL))[1], "
            "max(timestamp) FILTER (WHERE group_account_id IS NOT NULL) "
            "FROM attached GROUP BY value",
            [values, [lead_id for _, lead_id in pairs], values, GROUP],
            prepare=False,
        )
        return cursor.fetchall()


def _history_attach_portable(column: str, pairs: list[tuple[str, int]]) -> list[tuple]:
    unattached = Event.objects.filter(UNMATCHED_EVENT, **{f"{column}__in": [value for value, _ in pairs]})
    spans = (
        unattached.values(column)
        .annotate(first=Min("timestamp"), last=Max("timestamp"))
        .order_by()
        .values_list(column, "first", "last")
    )
    groups: dict[str, tuple[int, datetime]] = {}
    for value, account_id, at in (
        unattached.filter(type=GROUP, account__isnull=False)
        .order_by("timestamp")
        .values_list(column, "account_id", "timestamp")
    ):
        groups[value] = (account_id, at)  # the latest wins
    rows = [(value, first, last, *groups.get(value, (None, None))) for value, first, last in spans]
    by_lead: dict[int, list[str]] = {}
    for value, lead_id in pairs:
        by_lead.setdefault(lead_id, []).append(value)
    for lead_id, lead_values in by_lead.items():
        unattached.filter(**{f"{column}__in": lead_values}).update(lead_id=lead_id)
    return rows
