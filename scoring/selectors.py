"""Reads for scoring: the live version, rule documents, and the facts the engine needs."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Q

from leads.emails import email_domain, email_type
from leads.models import Account, Event, EventType, Lead
from scoring.engine import AccountFacts, CompiledVersion, EventFacts, LeadFacts, ScoringFacts, compile_version
from scoring.engine.conditions import condition_fields
from scoring.models import Rule, RuleKind, RuleVersion, VersionStatus

SECTION_FOR_KIND = {
    RuleKind.FIT: "fit_rules",
    RuleKind.ENGAGEMENT: "engagement_rules",
    RuleKind.NEGATIVE: "negative_rules",
    RuleKind.PQL: "pql_paths",
}


def rule_version_live() -> RuleVersion | None:
    return RuleVersion.objects.filter(status=VersionStatus.PUBLISHED).first()


def rule_as_engine_dict(rule: Rule) -> dict:
    """One rule row in the engine's document format (scoring/engine/rules.py)."""
    document = dict(rule.definition or {}) if isinstance(rule.definition, dict) else {}
    document["name"] = rule.name
    if rule.description:
        document["description"] = rule.description
    if rule.kind != RuleKind.PQL:
        document["points"] = rule.points
    return document


def rule_version_document(version: RuleVersion, rules: Iterable[Rule] | None = None) -> dict:
    """The whole version as the engine's JSON document."""
    document: dict = {
        "schema": 1,
        "thresholds": {
            "mql": {
                "fit_min": version.fit_min,
                "engagement_min": version.engagement_min,
                "total_min": version.total_min,
            },
            "hot": {"total_min": version.hot_min},
            "grades": {"A": version.grade_a_min, "B": version.grade_b_min, "C": version.grade_c_min},
        },
        **{section: [] for section in SECTION_FOR_KIND.values()},
    }
    rules = version.rules.order_by("position", "id") if rules is None else rules
    for rule in rules:
        document[SECTION_FOR_KIND[rule.kind]].append(rule_as_engine_dict(rule))
    return document


def rule_version_compiled(version: RuleVersion) -> CompiledVersion:
    """Compiled once per process for a published version (its content cannot change)."""
    return compile_version(rule_version_document(version), version_id=version.pk)


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
    names: set[str] = set()
    types: set[str] = set()
    any_event = False
    for path in compiled.pql_paths:
        if not path.includes_account_events:
            continue
        if path.kind == "seat_growth":
            types.add(EventType.GROUP)
        elif path.events:
            names.update(path.events)
        else:
            any_event = True
    for rule in compiled.event_rules:
        if not rule.includes_account_events:
            continue
        if rule.event_names:
            names.update(rule.event_names)
        elif rule.event_type:
            types.add(rule.event_type)
        else:
            any_event = True
    rules = [rule for section in SECTION_FOR_KIND.values() for rule in compiled.document.get(section, [])]
    uses_context = any(field.startswith("context") for rule in rules for field in condition_fields(rule.get("when")))
    return AccountSignals(any_event, frozenset(names), frozenset(types), uses_context)


def _lead_attributes(lead: Lead) -> dict:
    attributes = {key: value for key, value in (lead.traits or {}).items() if isinstance(key, str)}
    attributes.update(
        email=lead.email or "",
        email_domain=email_domain(lead.email) if lead.email else "",
        email_type=email_type(lead.email),
        title=lead.title,
        department=lead.department,
        seniority=lead.seniority,
        country=lead.country,
        region=lead.region,
        stage=lead.stage,
        is_unsubscribed=lead.is_unsubscribed,
        source=lead.source.name if lead.source_id and lead.source else "",
        campaign_type=lead.campaign.type if lead.campaign_id and lead.campaign else "",
    )
    return attributes


def _account_attributes(account: Account) -> dict:
    attributes = {key: value for key, value in (account.traits or {}).items() if isinstance(key, str)}
    attributes.update(
        name=account.name,
        domain=account.domain or "",
        industry=account.industry,
        employee_count=account.employee_count,
        country=account.country,
        region=account.region,
        segment=account.segment,
        plan=account.plan,
        seats=account.seats,
    )
    return attributes


def _event_facts(row: tuple, *, is_account_level: bool) -> EventFacts:
    kind = row[_TYPE]
    properties = row[_PROPERTIES]
    context = row[_CONTEXT] if len(row) > _CONTEXT else None
    lead_id = row[_LEAD]
    return EventFacts(
        id=row[_ID],
        type=kind,
        name=row[_EVENT] if kind == EventType.TRACK else row[_NAME],
        timestamp=row[_TIMESTAMP],
        properties=properties if isinstance(properties, dict) else {},
        user_key=str(lead_id) if lead_id else (row[_USER] or row[_ANONYMOUS] or None),
        is_account_level=is_account_level,
        context=context if isinstance(context, dict) else {},
    )


def _seats_history(*, account_ids: set[int], since: datetime, now: datetime) -> dict[int, tuple]:
    """Seat counts from `group` calls: those in the window plus the last one before it,
    the baseline seat growth is measured from."""
    if not account_ids:
        return {}
    group_events = Event.objects.filter(account_id__in=account_ids, type=EventType.GROUP)
    rows = list(
        group_events.filter(timestamp__gte=since, timestamp__lte=now).values_list("account_id", "timestamp", "traits")
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


def scoring_facts_for_leads(
    *, leads: list[Lead], now: datetime, since: datetime, with_context: bool = True
) -> dict[int, ScoringFacts]:
    """Facts for many leads in a few queries: the leads are given (with account,
    source and campaign selected); their events and their accounts' events come
    in one query, seats in another. No look-ahead: only events at or before
    `now` count, so a backtest at a past `now` sees what was known then.
    `with_context=False` skips loading event context when no rule reads it."""
    lead_ids = [lead.id for lead in leads]
    account_ids = {lead.account_id for lead in leads if lead.account_id}
    columns = (*_EVENT_COLUMNS, "context") if with_context else _EVENT_COLUMNS
    rows = Event.objects.filter(
        Q(lead_id__in=lead_ids) | Q(account_id__in=account_ids), timestamp__gte=since, timestamp__lte=now
    ).values_list(*columns)
    wanted = set(lead_ids)
    own: dict[int, list[EventFacts]] = defaultdict(list)
    # Built once per account and shared by its leads (the facts are frozen).
    by_account: dict[int, list[tuple[int | None, EventFacts]]] = defaultdict(list)
    for row in rows:
        lead_id, account_id = row[_LEAD], row[_ACCOUNT]
        if lead_id in wanted:
            own[lead_id].append(_event_facts(row, is_account_level=False))
        if account_id in account_ids:
            by_account[account_id].append((lead_id, _event_facts(row, is_account_level=True)))
    seats = _seats_history(account_ids=account_ids, since=since, now=now)

    account_facts: dict[int, AccountFacts] = {}
    facts: dict[int, ScoringFacts] = {}
    for lead in leads:
        events = own.get(lead.id, [])
        account = None
        if lead.account_id:
            # Colleagues' events (and group-level ones) reach the lead through its account.
            colleagues = [event for lead_id, event in by_account.get(lead.account_id, ()) if lead_id != lead.id]
            events = events + colleagues
            account = account_facts.get(lead.account_id)
            if account is None:
                account = AccountFacts(
                    id=lead.account_id,
                    attributes=_account_attributes(lead.account),
                    seats_history=seats.get(lead.account_id, ()),
                    plan=lead.account.plan or None,
                )
                account_facts[lead.account_id] = account
        facts[lead.id] = ScoringFacts(
            lead=LeadFacts(id=lead.id, attributes=_lead_attributes(lead)),
            now=now,
            account=account,
            events=tuple(events),
        )
    return facts
