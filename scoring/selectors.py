"""Reads for scoring: the live version, rule documents, and the facts the engine needs."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db import connection
from django.db.models import Q

from leads.emails import email_domain, email_type
from leads.models import Account, Event, EventType, Lead
from scoring.engine import AccountFacts, CompiledVersion, EventFacts, LeadFacts, ScoringFacts, compile_version
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

_EVENT_COLUMNS = ("id", "type", "event", "name", "timestamp", "properties", "context", "traits")
_EVENT_COLUMNS += ("lead_id", "account_id", "user_id", "anonymous_id")


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
    event_id, kind, event, name, timestamp, properties, context, _traits, lead_id, _account, user_id, anon = row
    return EventFacts(
        id=event_id,
        type=kind,
        name=event if kind == EventType.TRACK else name,
        timestamp=timestamp,
        properties=properties if isinstance(properties, dict) else {},
        user_key=str(lead_id) if lead_id else (user_id or anon or None),
        is_account_level=is_account_level,
        context=context if isinstance(context, dict) else {},
    )


def _seats_history(rows: Iterable[tuple]) -> tuple[tuple[datetime, int], ...]:
    points = []
    for row in rows:
        traits = row[7]
        if row[1] == EventType.GROUP and isinstance(traits, dict):
            seats = traits.get("seats")
            if isinstance(seats, int | float) and not isinstance(seats, bool) and seats >= 0:
                points.append((row[4], int(seats)))
    return tuple(points)


def _last_group_event_before(*, account_ids: set[int], since: datetime) -> list[tuple]:
    if not account_ids:
        return []
    group_events = Event.objects.filter(account_id__in=account_ids, type=EventType.GROUP, timestamp__lt=since)
    if connection.vendor == "postgresql":
        latest = group_events.order_by("account_id", "-timestamp").distinct("account_id")
        return list(latest.values_list(*_EVENT_COLUMNS))
    rows = group_events.order_by("account_id", "-timestamp").values_list(*_EVENT_COLUMNS)
    latest_by_account: dict[int, tuple] = {}
    for row in rows:
        latest_by_account.setdefault(row[9], row)
    return list(latest_by_account.values())


def scoring_facts_for_leads(*, leads: list[Lead], now: datetime, since: datetime) -> dict[int, ScoringFacts]:
    """Facts for many leads in three queries: the leads are given (with account,
    source and campaign selected), their events and their accounts' events in
    one query. No look-ahead: only events at or before `now` count, so a
    backtest at a past `now` sees what was known then."""
    lead_ids = [lead.id for lead in leads]
    account_ids = {lead.account_id for lead in leads if lead.account_id}
    rows = Event.objects.filter(
        Q(lead_id__in=lead_ids) | Q(account_id__in=account_ids), timestamp__gte=since, timestamp__lte=now
    ).values_list(*_EVENT_COLUMNS)
    own: dict[int, list[tuple]] = defaultdict(list)
    by_account: dict[int, list[tuple]] = defaultdict(list)
    for row in rows.iterator(chunk_size=5000):
        if row[8] is not None:
            own[row[8]].append(row)
        if row[9] is not None:
            by_account[row[9]].append(row)

    # The last seat count before the window is the baseline seat growth is measured from.
    baseline = {row[9]: row for row in _last_group_event_before(account_ids=account_ids, since=since)}

    account_facts: dict[int, AccountFacts] = {}
    facts: dict[int, ScoringFacts] = {}
    for lead in leads:
        events = [_event_facts(row, is_account_level=False) for row in own.get(lead.id, ())]
        account = None
        if lead.account_id:
            account_rows = by_account.get(lead.account_id, ())
            # Colleagues' events (and group-level ones) reach the lead through its account.
            events.extend(_event_facts(row, is_account_level=True) for row in account_rows if row[8] != lead.id)
            account = account_facts.get(lead.account_id)
            if account is None:
                account = AccountFacts(
                    id=lead.account_id,
                    attributes=_account_attributes(lead.account),
                    seats_history=_seats_history(
                        [baseline[lead.account_id], *account_rows] if lead.account_id in baseline else account_rows
                    ),
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
