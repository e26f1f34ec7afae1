"""The facts the engine scores, read in bulk: events, seats, who the leads and accounts are.

Live (`now`) from the current rows; as of a past moment (`as_of`) from history, nothing at or
after that moment read (scoring/engine/README.md, "Point in time"). `scoring.selectors`
re-exports the public names.
"""

import operator
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce

from django.db import connection
from django.db.models import Case, F, JSONField, Q, Value, When

from conditions.language import condition_fields
from leads.facts import ACCOUNT_COLUMNS, LEAD_COLUMNS, AccountAsOf, lead_facts, with_fact_columns
from leads.facts import account_facts as account_fields
from leads.models import Account, Event, EventType, Lead
from leads.selectors_as_of import accounts_as_of, leads_as_of
from qualify_site.bulk_sql import values_rows
from scoring.engine import AccountFacts, CompiledVersion, EventFacts, LeadFacts, LeadPart, PqlMatch, ScoringFacts
from scoring.engine.horizons import EventHorizons, event_horizons

# The rule sections of a compiled version's document.
_SECTIONS = ("fit_rules", "engagement_rules", "negative_rules", "pql_paths")

# --- Facts --------------------------------------------------------------------------------

# Row layout of the event query below (kept as tuples: a full rescore reads
# millions of rows and model instances would cost more than the scoring).
_ID, _TYPE, _EVENT, _NAME, _TIMESTAMP, _PROPERTIES, _LEAD, _ACCOUNT, _USER, _ANONYMOUS, _CONTEXT = range(11)
_EVENT_COLUMNS = ("id", "type", "event", "name", "timestamp", "properties", "lead_id", "account_id", "user_id")
_EVENT_COLUMNS += ("anonymous_id",)


@dataclass(frozen=True)
class AccountSignals:
    """Which events can change the score of the *other* leads of their account.

    Incremental scoring rescores a whole account only for these; any other
    event changes just its own lead's score.
    """

    any_event: bool
    event_names: frozenset[str]
    event_types: frozenset[str]
    uses_context: bool

    def affects_account(self, *, kind: str, name: str) -> bool:
        # A group call changes account attributes (industry, size, seats) that fit rules read.
        return self.any_event or kind == EventType.GROUP or name in self.event_names or kind in self.event_types


_SIGNALS_CACHE: dict[str, AccountSignals] = {}


def account_signals(compiled: CompiledVersion) -> AccountSignals:
    """Cached by content hash: a version's rules never change once published."""
    signals = _SIGNALS_CACHE.get(compiled.content_hash)
    if signals is None:
        signals = _SIGNALS_CACHE[compiled.content_hash] = _account_signals(compiled)
    return signals


def _account_signals(compiled: CompiledVersion) -> AccountSignals:
    # The events a colleague's scoring reads are what the account-level horizons
    # name (seat growth reads group calls, which always move the account).
    colleagues = event_horizons(compiled, account_level=True)
    rules = [rule for section in _SECTIONS for rule in compiled.document.get(section, [])]
    fields = [field for rule in rules for field in condition_fields(rule.get("when"))]
    uses_context = any(field.startswith(("context", "event.context")) for field in fields)
    return AccountSignals(
        any_event=colleagues.any_event_days is not None,
        event_names=frozenset(colleagues.names),
        event_types=frozenset(colleagues.types),
        uses_context=uses_context,
    )


def leads_for_scoring():
    """Unmerged leads with just what scoring reads: the columns the facts builder (leads/facts.py)
    reads, the account's, and the source's and campaign's as annotations. A full rescore loads
    every lead, and the columns and model instances nothing reads cost more than the ones it does."""
    return with_fact_columns(
        Lead.objects.select_related("account")
        .only(*LEAD_COLUMNS, *(f"account__{name}" for name in ACCOUNT_COLUMNS))
        .filter(merged_into__isnull=True)
    )


def _event_facts(row: tuple, *, is_account_level: bool) -> EventFacts:
    kind = row[_TYPE]
    properties = row[_PROPERTIES]
    context = row[_CONTEXT] if len(row) > _CONTEXT else None
    lead_id = row[_LEAD]
    return EventFacts.fast(
        row[_ID],
        kind,
        row[_EVENT] if kind == EventType.TRACK else row[_NAME],
        row[_TIMESTAMP],
        properties if isinstance(properties, dict) else {},
        str(lead_id) if lead_id else (row[_USER] or row[_ANONYMOUS] or None),
        is_account_level,
        context if isinstance(context, dict) else {},
    )


def _until(*, now: datetime, as_of: datetime | None) -> Q:
    """What has happened: at or before `now` for live scoring; strictly before `as_of` as of a
    past moment (what happened at that very moment was not known yet)."""
    return Q(timestamp__lt=as_of) if as_of is not None else Q(timestamp__lte=now)


def _seats_history(
    *, account_ids: set[int], since: datetime, now: datetime, as_of: datetime | None = None
) -> dict[int, tuple]:
    """Seat counts from `group` calls: those in the window plus the last one before it,
    the baseline seat growth is measured from."""
    if not account_ids:
        return {}
    group_events = Event.objects.filter(account_id__in=account_ids, type=EventType.GROUP)
    rows = list(
        group_events.filter(_until(now=now, as_of=as_of), timestamp__gte=since).values_list(
            "account_id", "timestamp", "traits"
        )
    )
    before = group_events.filter(timestamp__lt=since).order_by("account_id", "-timestamp")
    if connection.vendor == "postgresql":
        rows += before.distinct("account_id").values_list("account_id", "timestamp", "traits")
    else:
        latest: dict[int, tuple] = {}
        for row in before.values_list("account_id", "timestamp", "traits"):
            latest.setdefault(row[0], row)
        rows += latest.values()
    history: dict[int, list] = defaultdict(list)
    for account_id, timestamp, traits in rows:
        seats = traits.get("seats") if isinstance(traits, dict) else None
        if isinstance(seats, int | float) and not isinstance(seats, bool) and seats >= 0:
            history[account_id].append((timestamp, int(seats)))
    return {account_id: tuple(points) for account_id, points in history.items()}


def _horizon_filter(horizons: EventHorizons, now: datetime) -> Q | None:
    """Only events some rule can read: by name or type, back to that rule's window (None: no rule reads any)."""
    taken: list[Q] = []
    for group in horizons.groups():
        recent = Q(timestamp__gte=now - timedelta(days=group.days))
        if group.any_event:
            taken.append(recent)
            continue
        kinds = [Q(type__in=group.types)] if group.types else []
        if group.names:
            kinds += _names_filter(group.names)
        taken.append(recent & reduce(operator.or_, kinds))
    return reduce(operator.or_, taken) if taken else None


def _names_filter(names: Iterable[str]) -> list[Q]:
    # The engine's event name: `event` for a track call, `name` for a page or screen.
    return [Q(type=EventType.TRACK, event__in=names), ~Q(type=EventType.TRACK) & Q(name__in=names)]


def _details_filter(horizons: EventHorizons) -> Q | None:
    """Events whose properties and context some condition reads (None: none)."""
    wanted = [Q(type__in=horizons.detail_types)] if horizons.detail_types else []
    if horizons.detail_names:
        wanted += _names_filter(horizons.detail_names)
    return reduce(operator.or_, wanted) if wanted else None


def _event_rows(
    *,
    whose: Q,
    now: datetime,
    since: datetime,
    with_context: bool,
    horizons: EventHorizons | None,
    as_of: datetime | None = None,
) -> Iterable[tuple]:
    """Events (`whose`: of which leads or accounts), as rows laid out like `_EVENT_COLUMNS` (+ context)."""
    events = Event.objects.filter(whose, _until(now=now, as_of=as_of), timestamp__gte=since)
    columns = (*_EVENT_COLUMNS, "context") if with_context else _EVENT_COLUMNS
    if horizons is None:
        return values_rows(events.values_list(*columns))
    taken = _horizon_filter(horizons, now)
    if taken is None:
        return []
    events = events.filter(taken)
    if not horizons.detail_any:
        # Properties and context only where a condition reads them: decoding
        # JSON nobody looks at is a good part of a full rescore's time.
        details = _details_filter(horizons)
        json_fields = ("properties", "context")
        events = events.annotate(
            **{
                f"read_{name}": (
                    Case(When(details, then=F(name)), default=Value(None), output_field=JSONField())
                    if details is not None
                    else Value(None, output_field=JSONField())
                )
                for name in json_fields
            }
        )
        columns = tuple(f"read_{name}" if name in json_fields else name for name in columns)
    return values_rows(events.values_list(*columns))


def scoring_facts_for_leads(
    *,
    leads: list[Lead],
    since: datetime,
    now: datetime | None = None,
    as_of: datetime | None = None,
    with_context: bool = True,
    horizons: EventHorizons | None = None,
    account_horizons: EventHorizons | None = None,
) -> dict[int, ScoringFacts]:
    """Facts for many leads in a few queries: the leads are given (from
    `leads_for_scoring()`); their own events come in one query, their accounts'
    events in another (one when no horizons are given), seats in a third.

    Live (`now`): events at or before `now`, and who the lead and its account are
    from their rows. Point in time (`as_of`, the engine's `now` then): nothing at
    or after `as_of` is read: events, seats and who the lead and its account were
    (fields, traits, plan, seats, stage) are rebuilt from history strictly before
    it (leads/selectors_as_of.py), which costs two queries more per call that live
    scoring never pays. `now=` a past moment without `as_of` is still live scoring
    at that clock (today's rows): backtests pass `as_of`.

    `with_context=False` skips loading event context when no rule reads it.
    `horizons` and `account_horizons` (the version's `event_horizons`, own and
    account-level) limit the events read to those a rule can look at: a
    colleague's events only matter to the few rules and paths with scope "account"."""
    if as_of is not None:
        if now is not None and now != as_of:
            raise ValueError("as of a past moment the engine's clock is that moment: give `as_of` alone")
        now = as_of
    if now is None:
        raise TypeError("scoring_facts_for_leads() needs `now` (live) or `as_of` (point in time)")
    lead_ids = [lead.id for lead in leads]
    account_ids = {lead.account_id for lead in leads if lead.account_id}
    read = {"now": now, "since": since, "with_context": with_context, "as_of": as_of}
    if horizons is None or account_horizons is None:
        rows = _event_rows(whose=Q(lead_id__in=lead_ids) | Q(account_id__in=account_ids), horizons=None, **read)
        own_rows = account_rows = rows
    else:
        own_rows = _event_rows(whose=Q(lead_id__in=lead_ids), horizons=horizons, **read)
        account_rows = _event_rows(whose=Q(account_id__in=account_ids), horizons=account_horizons, **read)
    wanted = set(lead_ids)
    own: dict[int, list[EventFacts]] = defaultdict(list)
    for row in own_rows:
        if row[_LEAD] in wanted:
            own[row[_LEAD]].append(_event_facts(row, is_account_level=False))
    # [doer's lead id, row, account-level facts]: the facts are built on first
    # use and shared by the account's leads (they are frozen); an event nobody
    # else in the account sees is never built twice.
    by_account: dict[int, list[list]] = defaultdict(list)
    for row in account_rows:
        if row[_ACCOUNT] in account_ids:
            by_account[row[_ACCOUNT]].append([row[_LEAD], row, None])
    seats = _seats_history(account_ids=account_ids, since=since, now=now, as_of=as_of)
    known_leads = known_accounts = None
    if as_of is not None:
        known_leads = leads_as_of(leads=leads, as_of=as_of)
        accounts = {lead.account_id: lead.account for lead in leads if lead.account_id}
        known_accounts = accounts_as_of(accounts=accounts.values(), as_of=as_of)

    account_facts: dict[int, AccountFacts] = {}
    facts: dict[int, ScoringFacts] = {}
    for lead in leads:
        events = own.get(lead.id, [])
        account = None
        if lead.account_id:
            # Colleagues' events (and group-level ones) reach the lead through its account.
            colleagues = []
            for entry in by_account.get(lead.account_id, ()):
                if entry[0] != lead.id:
                    if entry[2] is None:
                        entry[2] = _event_facts(entry[1], is_account_level=True)
                    colleagues.append(entry[2])
            events = events + colleagues
            account = account_facts.get(lead.account_id)
            if account is None:
                account = account_facts[lead.account_id] = _account_facts(
                    lead.account,
                    now=now,
                    seats=seats.get(lead.account_id, ()),
                    known=known_accounts[lead.account_id] if known_accounts is not None else None,
                )
        attributes = lead_facts(lead, as_of=now, known=known_leads[lead.id] if known_leads is not None else None)
        facts[lead.id] = ScoringFacts(
            lead=LeadFacts(id=lead.id, attributes=attributes),
            now=now,
            account=account,
            events=tuple(events),
        )
    return facts


def _account_facts(account: Account, *, now: datetime, seats: tuple, known: AccountAsOf | None) -> AccountFacts:
    attributes = account_fields(account, as_of=now, known=known)
    return AccountFacts(id=account.id, attributes=attributes, seats_history=seats, plan=attributes["plan"] or None)


# --- Accounts -----------------------------------------------------------------------------


def accounts_for_scoring():
    """Accounts with just the columns the facts builder reads."""
    return Account.objects.only(*ACCOUNT_COLUMNS)


def account_lead_parts(*, account_ids: Iterable[int]) -> dict[int, list[LeadPart]]:
    """Each account's unmerged leads with their stage and stored score and PQL match (not scored
    yet: no score)."""
    parts: dict[int, list[LeadPart]] = defaultdict(list)
    rows = Lead.objects.filter(account_id__in=list(account_ids), merged_into__isnull=True).values_list(
        "account_id", "id", "stage", "score__fit", "score__engagement", "score__total", "score__explanation__pql"
    )
    for account_id, lead_id, stage, fit, engagement, total, pql in rows:
        if fit is None:
            parts[account_id].append(LeadPart(lead_id=lead_id, stage=stage, is_scored=False))
            continue
        match = PqlMatch(**pql) if isinstance(pql, dict) else None
        parts[account_id].append(LeadPart(lead_id, stage, fit, engagement, total, pql=match))
    return parts


def scoring_facts_for_accounts(
    *,
    accounts: list[Account],
    compiled: CompiledVersion,
    now: datetime | None = None,
    as_of: datetime | None = None,
) -> dict[int, ScoringFacts]:
    """An account's own facts for its roll-up (scoring/engine/accounts.py): its fields (live, or
    rebuilt as of a past moment like a lead's), seat history and the events the version's PQL
    paths with scope "account" read (`event_horizons(compiled, account_level=True)`): what an
    account with no scored lead is scored on."""
    if as_of is not None:
        now = as_of
    if now is None:
        raise TypeError("scoring_facts_for_accounts() needs `now` (live) or `as_of` (point in time)")
    since = now - timedelta(days=compiled.max_window_days)
    with_context = account_signals(compiled).uses_context
    horizons = event_horizons(compiled, account_level=True)
    account_ids = {account.id for account in accounts}
    rows = _event_rows(
        whose=Q(account_id__in=account_ids),
        now=now,
        since=since,
        with_context=with_context,
        horizons=horizons,
        as_of=as_of,
    )
    events: dict[int, list[EventFacts]] = defaultdict(list)
    for row in rows:
        events[row[_ACCOUNT]].append(_event_facts(row, is_account_level=False))
    seats = _seats_history(account_ids=account_ids, since=since, now=now, as_of=as_of)
    known = accounts_as_of(accounts=accounts, as_of=as_of) if as_of is not None else {}
    return {
        account.id: ScoringFacts(
            lead=LeadFacts(id=None),
            now=now,
            account=_account_facts(account, now=now, seats=seats.get(account.id, ()), known=known.get(account.id)),
            events=tuple(events.get(account.id, ())),
        )
        for account in accounts
    }
