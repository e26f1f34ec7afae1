"""Identity resolution: turn a batch of stored events into leads, accounts and links.

`events_process_batch` is what the worker runs for each ingestion request. It
works on the whole batch at once so that a 500-event batch costs a handful of
queries, not thousands (target: 5,000 events/s per worker process):

1. claim the batch's unprocessed events (`SELECT ... FOR UPDATE SKIP LOCKED`),
2. lock every id, email, groupId and domain the batch names (`_keys_lock`),
3. load every identity, lead and account the batch can refer to in a few queries,
4. resolve in memory with the pure engine (`leads/identity/engine.py`), which
   returns a plan of writes,
5. write the plan in bulk: campaigns, accounts, new leads, merges,
   identities, history attachment, lead updates, and one UPDATE that marks
   the events.

Everything happens in one transaction: a worker killed half-way leaves nothing
behind, and the events stay unprocessed for the next delivery or the sweeper.
Processing twice is harmless because only events with `processed_at` NULL are
claimed.

Locks are taken in one order by every worker: the batch's events, then the
key locks (sorted), then leads (by id), then rows written in key or id order.
"""

import logging
from dataclasses import fields

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from leads.emails import email_domain
from leads.identity.engine import batch_keys, key_lock_ids, leads_to_update, resolve
from leads.identity.facts import (
    ANONYMOUS,
    DOMAIN,
    EMAIL,
    GROUP_ID,
    USER,
    AccountFacts,
    IdentityPlan,
    Key,
    KnownIdentities,
    LeadFacts,
    message_facts,
)
from leads.models import Account, Event, Identity, Lead
from leads.services.identity_writes import (
    accounts_write,
    campaigns_write,
    events_history_attach,
    events_mark_processed,
    lead_merge_write,
)
from qualify_site import bulk_sql

logger = logging.getLogger(__name__)

# Attempts when a concurrent writer created the same lead/identity/account
# between our read and our insert: the retry reads theirs and links to it.
# Workers seldom race so any more (see _keys_lock); a CSV import still can.
_CONFLICT_ATTEMPTS = 3

_LEAD_UPDATE_FIELDS = [
    "email",
    "first_name",
    "last_name",
    "title",
    "department",
    "seniority",
    "country",
    "region",
    "phone",
    "account",
    "source",
    "campaign",
    "is_unsubscribed",
    "traits",
    "merged_into",
    "first_seen_at",
    "last_seen_at",
    "updated_at",
]
_LEAD_FACTS = [model_field.name for model_field in fields(LeadFacts)]
_ACCOUNT_FACTS = [model_field.name for model_field in fields(AccountFacts)]
# Written from the plan; merged_into is set by lead_merge_write, after its snapshot.
_LEAD_WRITTEN = [name for name in _LEAD_FACTS if name not in ("id", "created_at", "merged_into_id")]

# Advisory locks of identity resolution: (namespace, hash of the key). Any
# other use of two-int advisory locks must pick another namespace.
_KEY_LOCK_NAMESPACE = 0x51554C49


def events_process_batch(*, batch_id: str) -> int:
    """Resolve and mark processed every unprocessed event of an ingestion batch.

    Returns how many events this call processed (0 when the batch was already
    done or another worker holds it). Idempotent.
    """
    for attempt in range(1, _CONFLICT_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return _batch_process(str(batch_id))
        except IntegrityError:
            if attempt == _CONFLICT_ATTEMPTS:
                raise
            logger.info("batch %s: concurrent identity write, retrying (%s)", batch_id, attempt)
    return 0  # pragma: no cover - the loop returns or raises


_EVENT_COLUMNS = ("id", "source_id", "type", "event", "user_id", "anonymous_id", "group_id", "previous_id")


def _batch_rows_claim(batch_id: str) -> list[dict]:
    """Lock and read the batch's unprocessed events, in the order they happened.

    SKIP LOCKED: when a redelivered task runs while the first is still at
    work, it finds nothing to do instead of waiting to do it twice.
    """
    if not bulk_sql.is_postgresql():
        return list(
            Event.objects.select_for_update(skip_locked=True)
            .filter(batch_id=batch_id, processed_at__isnull=True)
            .order_by("timestamp", "id")
            .values(*_EVENT_COLUMNS, "traits", "context", "timestamp")
        )
    # On PostgreSQL only the parts of the JSON resolution reads are sent over:
    # a context (library, page, user agent, ip ...) is mostly irrelevant here.
    # "processed_at IS NULL" is tested here rather than in SQL: there it lets
    # the planner AND the batch's ids with the partial unprocessed index,
    # which holds the whole backlog (with stale statistics it does: 7 ms of a
    # 10 ms claim with a 300k backlog). A redelivered batch's processed rows
    # are locked for nothing, which is rare and harmless.
    with bulk_sql.server_cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(_EVENT_COLUMNS)}, "  # noqa: S608 - identifiers are ours
            "CASE WHEN type IN ('identify', 'group') THEN traits END, "
            "jsonb_build_object('traits', context->'traits', 'groupId', context->'groupId', "
            "'group_id', context->'group_id', 'campaign', context->'campaign'), timestamp, processed_at "
            f"FROM {Event._meta.db_table} WHERE batch_id = %s "
            "ORDER BY timestamp, id FOR UPDATE SKIP LOCKED",
            [batch_id],
        )
        rows = cursor.fetchall()
    columns = (*_EVENT_COLUMNS, "traits", "context", "timestamp")
    return [dict(zip(columns, row[:-1], strict=True)) for row in rows if row[-1] is None]


# --- The batch ------------------------------------------------------------


def _batch_process(batch_id: str) -> int:
    if bulk_sql.is_postgresql():
        # What this transaction writes can always be recomputed from the
        # events, which were committed durably at ingestion: if a crash loses
        # this commit, the events are simply unprocessed again and the sweeper
        # redoes them. So skip waiting for the WAL flush.
        with bulk_sql.server_cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
    rows = _batch_rows_claim(batch_id)
    if not rows:
        return 0
    messages = [message_facts(row) for row in rows]
    keys = batch_keys(messages)
    _keys_lock(keys)
    known, leads, accounts = _known_load(keys)
    now = timezone.now()
    plan = resolve(messages, known, now=now)
    _plan_write(plan, leads=leads, accounts=accounts, now=now)
    return len(messages)


def _keys_lock(keys: frozenset[Key]) -> None:
    """Wait for every other transaction resolving an id, email, groupId or domain of this batch.

    Without it, a worker resolving a track of user u while another is
    identifying u (uncommitted) finds no identity and marks the event with no
    lead, and the identify's history attachment cannot see that event either
    (not yet processed when it looks): the event is lost to its lead for
    good (about 1% of a stream whose group calls follow the identify within
    300 ms, with two workers). Holding these locks until commit, a batch
    reads identities after whoever was creating them committed, and attaches
    history after whoever was marking those events committed: whatever the
    number of workers and the order of the batches, the second sees the
    first. Two batches sharing no key still run side by side.

    Taken all at once, in one sorted order, before any row lock: no two
    workers can each hold a lock the other waits for. Rows are then locked
    and written in id or key order too (leads, identities, accounts), which
    keeps concurrent processing free of deadlocks.
    """
    if not bulk_sql.is_postgresql():
        return  # SQLite (the demo) has one writer at a time anyway
    lock_ids = key_lock_ids(keys)
    if lock_ids:
        with bulk_sql.server_cursor() as cursor:
            # unnest() yields the sorted array in order: the locks are taken in that order.
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, key) FROM unnest(%s::int[]) AS key",
                [_KEY_LOCK_NAMESPACE, lock_ids],
            )


# --- Load -----------------------------------------------------------------


def _known_load(keys: frozenset[Key]) -> tuple[KnownIdentities, dict[int, Lead], dict[int, Account]]:
    """What the database knows about the keys, as facts, and the rows they came from (leads locked)."""
    values: dict[str, set[str]] = {kind: set() for kind in (USER, ANONYMOUS, EMAIL, GROUP_ID, DOMAIN)}
    for kind, value in keys:
        values[kind].add(value)
    condition = Q(pk__in=[])
    for kind in (USER, ANONYMOUS, EMAIL):
        if values[kind]:
            condition |= Q(kind=kind, value__in=values[kind])
    identities = {
        (kind, value): lead_id
        for kind, value, lead_id in Identity.objects.filter(condition).values_list("kind", "value", "lead_id")
    }
    emails = values[EMAIL]
    lead_by_email = dict(Lead.objects.filter(email__in=emails).values_list("email", "id")) if emails else {}
    leads = _leads_lock(set(identities.values()) | set(lead_by_email.values()))
    domains = values[DOMAIN] | {email_domain(lead.email) for lead in leads.values() if lead.email}
    accounts = _accounts_load(group_ids=values[GROUP_ID], domains=domains)
    known = KnownIdentities(
        identities=identities,
        leads={lead.id: LeadFacts(**{name: getattr(lead, name) for name in _LEAD_FACTS}) for lead in leads.values()},
        lead_by_email=lead_by_email,
        accounts=tuple(
            AccountFacts(**{name: getattr(account, name) for name in _ACCOUNT_FACTS}) for account in accounts.values()
        ),
    )
    return known, leads, accounts


def _leads_lock(lead_ids: set[int]) -> dict[int, Lead]:
    """Load and lock the leads, following merged leads to their survivors.

    Locked in id order so that two workers touching the same leads queue
    up instead of deadlocking, and never overwrite each other's updates.
    """
    leads: dict[int, Lead] = {}
    pending = set(lead_ids)
    while pending:
        for lead in Lead.objects.select_for_update().filter(id__in=pending).order_by("id"):
            leads[lead.id] = lead
        pending = {lead.merged_into_id for lead in leads.values() if lead.merged_into_id} - leads.keys()
    return leads


def _accounts_load(*, group_ids: set[str], domains: set[str]) -> dict[int, Account]:
    if not group_ids and not domains:
        return {}
    # Not row-locked: the key locks already make batches naming the same
    # groupId or domain take turns, and group traits are a full picture sent
    # again on each call, so last writer wins.
    found = Account.objects.filter(Q(group_id__in=group_ids) | Q(domain__in=domains))
    return {account.id: account for account in found}


# --- Write ----------------------------------------------------------------


def _plan_write(plan: IdentityPlan, *, leads: dict[int, Lead], accounts: dict[int, Account], now) -> None:
    campaign_ids = campaigns_write(plan.new_campaigns)
    account_ids = accounts_write(plan, accounts=accounts, now=now)  # the plan's new account ids -> rows' ids
    rows: dict[int, Lead] = {}  # plan lead id -> row
    for facts in plan.leads:
        lead = rows[facts.id] = leads[facts.id] if facts.id > 0 else Lead(created_at=now)
        _lead_apply(lead, facts, account_ids=account_ids, now=now)
        if facts.id < 0:
            lead.campaign_id = campaign_ids.get(plan.new_lead_campaigns.get(facts.id))
    new_leads = [rows[facts.id] for facts in plan.new_leads]
    if new_leads:
        Lead.objects.bulk_create(new_leads)
    for merge in plan.merges:
        lead_merge_write(survivor=rows[merge.survivor_id], merged=rows[merge.merged_id], reason=merge.reason, at=now)
    if plan.identities:
        # A conflict here means someone outside the key locks (an import) linked
        # the same id meanwhile: IntegrityError rolls back and events_process_batch retries.
        Identity.objects.bulk_create(
            [
                Identity(kind=kind, value=value[:255], lead_id=rows[lead_id].pk, created_at=now)
                for (kind, value), lead_id in plan.identities
            ]
        )
    seen = events_history_attach([(key, rows[lead_id].pk) for key, lead_id in plan.history])
    updates = leads_to_update(plan, seen)
    for facts in updates:
        _lead_apply(rows[facts.id], facts, account_ids=account_ids, now=now)
    if updates:
        updated = sorted((rows[facts.id] for facts in updates), key=lambda lead: lead.pk)
        bulk_sql.unnest_update(Lead, updated, _LEAD_UPDATE_FIELDS)
    ids, lead_ids, event_account_ids = [], [], []
    for event in plan.events:
        lead = rows[event.lead_id] if event.lead_id is not None else None
        ids.append(event.id)
        lead_ids.append(lead.pk if lead is not None else None)
        if event.account_id is not None:
            event_account_ids.append(account_ids.get(event.account_id, event.account_id))
        else:
            event_account_ids.append(lead.account_id if lead is not None else None)
    events_mark_processed(ids=ids, lead_ids=lead_ids, account_ids=event_account_ids, at=now)


def _lead_apply(lead: Lead, facts: LeadFacts, *, account_ids: dict[int, int], now) -> None:
    for name in _LEAD_WRITTEN:
        setattr(lead, name, getattr(facts, name))
    lead.traits = dict(facts.traits)
    if facts.account_id is not None:
        lead.account_id = account_ids.get(facts.account_id, facts.account_id)
    lead.updated_at = now
