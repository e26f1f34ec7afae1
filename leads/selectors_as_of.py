"""What was known of leads and accounts just before a moment: the reads of point-in-time scoring.

Live scoring reads the current rows. A score as of a past moment must not: today's title, seats,
plan and stage were not known then. These reads rebuild the picture from history, strictly
before `as_of` (a message at `as_of` itself is not yet known):

- a lead's fields, email and traits: its identify calls (their traits overwrite) and any
  message's `context.traits` (they fill blanks), folded in timestamp order with the rules identity
  resolution applies (leads/identity/traits.py);
- an account's fields and traits (name, industry, employees, country, region, plan, seats): its
  group calls, folded the same way; the segment follows from the employees as of then;
- a lead's stage: its stage history (StageChange): the last move before `as_of`; with none, the
  first later move's `from_stage`; with no move at all, the current stage (it never moved);
- unsubscribed: an `Unsubscribed` track call before `as_of`.

The row stands in where history cannot rebuild a value: a field no message ever set (a CSV
import, an edit in the admin), and then only when the row was created before `as_of`. No value
from at or after `as_of` reaches the facts: later messages are looked at only to know that the
row's current value is not the value as of then (a title a later identify call set is blank as
of a moment before it, not today's title).

Not rebuilt, and why: ownership (no history of owners is kept, so `has_owner` is None, unknown,
as of a past moment); identity (an event belongs to the lead it resolves to today, merges
included); a lead's source and campaign (its first touch, fixed when it is created); which
account a lead belongs to (today's link; the account's fields are as of then).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q

from leads.facts import ACCOUNT_HISTORY_FIELDS, LEAD_HISTORY_FIELDS, AccountAsOf, LeadAsOf
from leads.identity.engine import UNSUBSCRIBED_EVENT
from leads.identity.traits import account_traits_parse, lead_traits_parse
from leads.models import Account, Event, EventType, Lead, StageChange
from qualify_site.bulk_sql import values_rows


def lead_known_before(as_of: datetime) -> Q:
    """Leads that existed before `as_of`: created before it, or seen before it (a lead made today
    from history loaded today was seen when its first event happened)."""
    return Q(created_at__lt=as_of) | Q(first_seen_at__lt=as_of)


@dataclass
class _LeadFold:
    """One lead's identify history folded up to `as_of`, and what any message ever set."""

    fields: dict[str, str] = field(default_factory=dict)
    traits: dict[str, Any] = field(default_factory=dict)
    email: str | None = None
    is_unsubscribed: bool = False
    ever_fields: set[str] = field(default_factory=set)
    ever_traits: set[str] = field(default_factory=set)
    ever_email: bool = False
    ever_unsubscribed: bool = False

    def add(self, *, kind: str, name: str, traits: Any, context_traits: Any, is_before: bool) -> None:
        identify = lead_traits_parse(traits) if kind == EventType.IDENTIFY else None
        context = lead_traits_parse(context_traits) if isinstance(context_traits, dict) and context_traits else None
        is_unsubscribe = kind == EventType.TRACK and name == UNSUBSCRIBED_EVENT
        for parsed in filter(None, (identify, context)):
            self.ever_fields.update(parsed.fields)
            self.ever_traits.update(parsed.extra)
            self.ever_email = self.ever_email or parsed.email is not None
        self.ever_unsubscribed = self.ever_unsubscribed or is_unsubscribe
        if not is_before:
            return
        # The order and the overwrite rules of identity resolution (leads/identity/engine.py).
        if identify is not None:
            self.fields.update(identify.fields)
            self.traits.update(identify.extra)
        if context is not None:
            blanks = {key: value for key, value in context.fields.items() if not self.fields.get(key)}
            self.fields.update(blanks)
            self.traits = {**context.extra, **self.traits}
        for parsed in filter(None, (identify, context)):
            self.email = self.email or parsed.email
        self.is_unsubscribed = self.is_unsubscribed or is_unsubscribe


def _stage_as_of(changes: list[tuple], *, current: str, as_of: datetime) -> str:
    """`changes`: (changed_at, from_stage, to_stage) in the order they happened."""
    before = [to_stage for changed_at, _, to_stage in changes if changed_at < as_of]
    if before:
        return before[-1]
    return changes[0][1] if changes else current


def _row_traits(row: Lead | Account) -> dict[str, Any]:
    return {key: value for key, value in (row.traits or {}).items() if isinstance(key, str)}


def leads_as_of(*, leads: Iterable[Lead], as_of: datetime) -> dict[int, LeadAsOf]:
    """What was known of each lead just before `as_of`, in two queries (identity history, stage history)."""
    leads = list(leads)
    ids = [lead.id for lead in leads]
    folds: dict[int, _LeadFold] = defaultdict(_LeadFold)
    history = (
        Event.objects.filter(lead_id__in=ids)
        .filter(
            Q(type=EventType.IDENTIFY)
            | Q(context__has_key="traits")
            | Q(type=EventType.TRACK, event=UNSUBSCRIBED_EVENT)
        )
        .order_by("timestamp", "id")
        .values_list("lead_id", "timestamp", "type", "event", "traits", "context__traits")
    )
    history = values_rows(history)
    for lead_id, timestamp, kind, name, traits, context_traits in history:
        folds[lead_id].add(
            kind=kind, name=name, traits=traits, context_traits=context_traits, is_before=timestamp < as_of
        )
    changes: dict[int, list[tuple]] = defaultdict(list)
    stage_history = (
        StageChange.objects.filter(lead_id__in=ids)
        .order_by("changed_at", "id")
        .values_list("lead_id", "changed_at", "from_stage", "to_stage")
    )
    for lead_id, *change in stage_history:
        changes[lead_id].append(tuple(change))

    known: dict[int, LeadAsOf] = {}
    for lead in leads:
        fold = folds.get(lead.id) or _LeadFold()
        row_known = lead.created_at < as_of
        fields = {
            name: fold.fields.get(name, "") if name in fold.ever_fields else (getattr(lead, name) if row_known else "")
            for name in LEAD_HISTORY_FIELDS
        }
        row_traits = _row_traits(lead) if row_known else {}
        traits = {key: value for key, value in row_traits.items() if key not in fold.ever_traits}
        traits.update(fold.traits)
        email = fold.email if fold.ever_email else (lead.email if row_known else None)
        # Unsubscribing is an event; a row unsubscribed with none (an import) counts once it existed.
        is_unsubscribed = fold.is_unsubscribed if fold.ever_unsubscribed else (lead.is_unsubscribed and row_known)
        seen = [moment for moment in (lead.first_seen_at, lead.created_at) if moment is not None and moment < as_of]
        known[lead.id] = LeadAsOf(
            email=email,
            fields=fields,
            traits=traits,
            stage=_stage_as_of(changes.get(lead.id, []), current=lead.stage, as_of=as_of),
            is_unsubscribed=is_unsubscribed,
            first_seen_at=min(seen, default=None),
        )
    return known


def accounts_as_of(*, accounts: Iterable[Account], as_of: datetime) -> dict[int, AccountAsOf]:
    """What was known of each account just before `as_of`: its group calls folded, in one query."""
    accounts = list(accounts)
    before: dict[int, dict[str, Any]] = defaultdict(dict)
    traits_before: dict[int, dict[str, Any]] = defaultdict(dict)
    ever: dict[int, set[str]] = defaultdict(set)
    history = (
        Event.objects.filter(account_id__in=[account.id for account in accounts], type=EventType.GROUP)
        .order_by("timestamp", "id")
        .values_list("account_id", "timestamp", "traits")
    )
    history = values_rows(history)
    for account_id, timestamp, traits in history:
        parsed = account_traits_parse(traits)
        ever[account_id].update(parsed.fields)
        ever[account_id].update(f"traits.{key}" for key in parsed.extra)
        if timestamp < as_of:
            before[account_id].update(parsed.fields)
            traits_before[account_id].update(parsed.extra)
    known: dict[int, AccountAsOf] = {}
    for account in accounts:
        row_known = account.created_at < as_of
        set_ever = ever.get(account.id, set())
        fields = {
            name: before[account.id].get(name) if name in set_ever else (getattr(account, name) if row_known else None)
            for name in ACCOUNT_HISTORY_FIELDS
        }
        row_traits = _row_traits(account) if row_known else {}
        traits = {key: value for key, value in row_traits.items() if f"traits.{key}" not in set_ever}
        traits.update(traits_before.get(account.id, {}))
        known[account.id] = AccountAsOf(fields=fields, traits=traits)
    return known
