"""What precedes buying: which behaviours and traits are over-represented among accounts that won.

The buyers are the accounts (or leads) with a closed-won outcome before the cut-off `before`;
the others are every other account with a lead first seen before it. What an entity did is read
in the `window_days` before its win (buyers) or before the cut-off (the others): marketing and
product events (track and page calls) by name, and their low-cardinality property values (a
string or true/false value of a key with at most MAX_VALUES values, such as `path` or
`asset_type`, seen on at least MIN_SEEN entities). What an entity is: the fit attributes of the
account (industry, segment, employee band, country) and of its people (seniority, department,
words of the title, email type), as stored now: attributes have no history, so a trait a buyer
gained after the win still counts.

Constant queries whatever the size: the population, the event traits aggregated in SQL (one
statement, PostgreSQL's and a SQLite twin for the embedded default: only the JSON expansion and
the date arithmetic differ), the accounts and the leads.
"""

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

from insights.engine.precedes import MIN_WITH, VERDICTS, Trait, traits_measured
from leads.emails import email_domain, is_free_mail_domain, is_student_domain
from leads.models import Account, Event, Lead, Outcome, OutcomeKind, Segment

UNITS = ("lead", "account")
POSITIVE_KINDS = {
    "won": (OutcomeKind.CLOSED_WON,),
    "opportunity": (OutcomeKind.OPPORTUNITY, OutcomeKind.CLOSED_WON, OutcomeKind.CLOSED_LOST),
}
DEFAULT_WINDOW_DAYS = 30
MAX_WINDOW_DAYS = 365
MAX_VALUES = 20
MIN_SEEN = MIN_WITH
# Page calls repeat their path as url and title; the referrer is where they came from, not what they did.
SKIPPED_KEYS = ("url", "title", "referrer", "search")
EMPLOYEE_BANDS = ((10, "1-10"), (50, "11-50"), (200, "51-200"), (500, "201-500"), (1000, "501-1,000"))
TITLE_STOP_WORDS = frozenset({"of", "and", "the", "for", "at", "in", "to", "a", "an"})

_TABLES = {
    "account": Account._meta.db_table,
    "lead": Lead._meta.db_table,
    "event": Event._meta.db_table,
    "outcome": Outcome._meta.db_table,
}

# Who won and when (the first positive outcome before the cut-off), by entity.
_WON = {
    "account": """
        SELECT COALESCE(o.account_id, l.account_id) AS entity_id, MIN(o.occurred_at) AS won_at
        FROM {outcome} o LEFT JOIN {lead} l ON l.id = o.lead_id
        WHERE o.kind IN ({kinds}) AND o.occurred_at < %s
        GROUP BY COALESCE(o.account_id, l.account_id)""",
    "lead": """
        SELECT entity_id, MIN(won_at) AS won_at FROM (
            SELECT COALESCE(l.merged_into_id, l.id) AS entity_id, o.occurred_at AS won_at
            FROM {outcome} o JOIN {lead} l ON l.id = o.lead_id
            WHERE o.kind IN ({kinds}) AND o.occurred_at < %s
            UNION ALL
            SELECT l.id, o.occurred_at FROM {outcome} o JOIN {lead} l ON l.account_id = o.account_id
            WHERE o.lead_id IS NULL AND l.merged_into_id IS NULL AND o.kind IN ({kinds}) AND o.occurred_at < %s
        ) AS wins GROUP BY entity_id""",
}
_POPULATION = {
    "account": """
        SELECT a.id AS entity_id, CASE WHEN w.won_at IS NULL THEN 0 ELSE 1 END AS is_winner,
               COALESCE(w.won_at, %s) AS until
        FROM {account} a LEFT JOIN won w ON w.entity_id = a.id
        WHERE w.won_at IS NOT NULL OR EXISTS (
            SELECT 1 FROM {lead} l WHERE l.account_id = a.id AND l.merged_into_id IS NULL
            AND COALESCE(l.first_seen_at, l.created_at) < %s)""",
    "lead": """
        SELECT l.id AS entity_id, CASE WHEN w.won_at IS NULL THEN 0 ELSE 1 END AS is_winner,
               COALESCE(w.won_at, %s) AS until
        FROM {lead} l LEFT JOIN won w ON w.entity_id = l.id
        WHERE l.merged_into_id IS NULL
        AND (w.won_at IS NOT NULL OR COALESCE(l.first_seen_at, l.created_at) < %s)""",
}
# Each (entity, event, property value) once, then counted among buyers and others; property
# values only for keys with few values, seen often enough. An entity's repeats of the same event
# with the same properties are expanded once (a page viewed twenty times is one set of values):
# on the bench world (2.3M events) that took the statement from 17 s to 11 s.
_EVENT_TRAITS = """
    WITH won AS ({won}), population AS ({population}),
    windowed AS MATERIALIZED (
        SELECT n.entity_id, n.is_winner, e.type, e.event, e.properties
        FROM population n JOIN {event} e ON e.{entity_column} = n.entity_id
        WHERE e.type IN ('track', 'page') AND e.timestamp < n.until AND e.timestamp >= {window_start}
    ),
    traits AS (
        SELECT entity_id, is_winner, type, event, '' AS key, '' AS value
        FROM windowed GROUP BY entity_id, is_winner, type, event
        UNION ALL
        SELECT w.entity_id, w.is_winner, w.type, w.event, p.key, {property_value} AS value
        FROM (SELECT DISTINCT entity_id, is_winner, type, event, properties FROM windowed) AS w {properties}
        GROUP BY w.entity_id, w.is_winner, w.type, w.event, p.key, {property_value}
    ),
    counted AS (
        SELECT type, event, key, value, SUM(is_winner) AS winners, COUNT(*) - SUM(is_winner) AS others,
               COUNT(*) OVER (PARTITION BY type, event, key) AS values_of_key
        FROM traits GROUP BY type, event, key, value
    )
    SELECT type, event, key, value, winners, others FROM counted
    WHERE key = '' OR (values_of_key <= %s AND winners + others >= %s)
"""
# Grouping a million (account, property value) pairs wants memory, not disk, and JIT compiling
# the statement cost more than it saved (measured on the 2.3M-event bench world).
_POSTGRESQL_SETTINGS = "SELECT set_config('work_mem', '128MB', true), set_config('jit', 'off', true)"
_DIALECTS = {
    "postgresql": {
        "window_start": "n.until - %s * INTERVAL '1 day'",
        "properties": "CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(w.properties) = 'object' "
        "THEN w.properties ELSE '{{}}'::jsonb END) AS p "
        "WHERE jsonb_typeof(p.value) IN ('string', 'boolean') AND p.key NOT IN ({skipped})",
        "property_value": "p.value #>> '{}'",
    },
    "sqlite": {
        "window_start": "datetime(n.until, '-' || %s || ' days')",
        "properties": ", json_each(CASE WHEN json_type(w.properties) = 'object' THEN w.properties ELSE '{{}}' END) "
        "AS p WHERE p.type IN ('text', 'true', 'false') AND p.key NOT IN ({skipped})",
        "property_value": "CASE p.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE p.value END",
    },
}


@dataclass(frozen=True)
class Population:
    winners: set[int]
    others: set[int]


def _placeholders(values: Sequence) -> str:
    return ", ".join(["%s"] * len(values))


def _with_clauses(unit: str, before: datetime, kinds: Sequence[str]) -> tuple[str, str, list]:
    cut_off = connection.ops.adapt_datetimefield_value(before)
    kinds_sql = _placeholders(kinds)
    won = _WON[unit].format(kinds=kinds_sql, **_TABLES)
    won_params = [*kinds, cut_off] if unit == "account" else [*kinds, cut_off, *kinds, cut_off]
    population = _POPULATION[unit].format(**_TABLES)
    return won, population, [*won_params, cut_off, cut_off]


def _population(unit: str, before: datetime, kinds: Sequence[str]) -> Population:
    won, population, params = _with_clauses(unit, before, kinds)
    with connection.cursor() as cursor:
        cursor.execute(f"WITH won AS ({won}) SELECT entity_id, is_winner FROM ({population}) AS n", params)  # noqa: S608 - our own SQL, values as parameters
        rows = cursor.fetchall()
    return Population(winners={row[0] for row in rows if row[1]}, others={row[0] for row in rows if not row[1]})


def _event_name(event_type: str, name: str) -> str:
    return name if event_type == "track" else "Page viewed"


def _event_traits(unit: str, before: datetime, window_days: int, kinds: Sequence[str]) -> list[Trait]:
    dialect = _DIALECTS["postgresql" if connection.vendor == "postgresql" else "sqlite"]
    won, population, params = _with_clauses(unit, before, kinds)
    sql = _EVENT_TRAITS.format(
        won=won,
        population=population,
        entity_column=f"{unit}_id",
        window_start=dialect["window_start"],
        properties=dialect["properties"].format(skipped=_placeholders(SKIPPED_KEYS)),
        property_value=dialect["property_value"],
        **_TABLES,
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_POSTGRESQL_SETTINGS)
        cursor.execute(sql, [*params, window_days, *SKIPPED_KEYS, MAX_VALUES, MIN_SEEN])
        rows = cursor.fetchall()
    traits = []
    for event_type, name, key, value, winners, others in rows:
        label = _event_name(event_type, name)
        group, label = ("event", label) if not key else ("property", f"{label} · {key} = {value}")
        traits.append(Trait(group, label, int(winners), int(others)))
    return traits


def employee_band(count: int | None) -> str | None:
    if count is None:
        return None
    for top, label in EMPLOYEE_BANDS:
        if count <= top:
            return f"Employees {label}"
    return "Employees 1,001+"


def email_type(email: str | None) -> str:
    if not email:
        return "Email: none"
    domain = email_domain(email)
    if is_student_domain(domain):
        return "Email: student"
    return "Email: free mail" if is_free_mail_domain(domain) else "Email: business"


def _account_traits(industry, segment, employees, country) -> set[str]:
    traits = {f"Segment = {Segment(segment).label}"} if segment else set()
    traits |= {f"Industry = {industry}"} if industry else set()
    traits |= {f"Account country = {country}"} if country else set()
    band = employee_band(employees)
    return traits | ({band} if band else set())


def _lead_traits(seniority, department, title, email) -> set[str]:
    traits = {email_type(email)}
    traits |= {f"Seniority = {seniority.lower()}"} if seniority else set()
    traits |= {f"Department = {department.lower()}"} if department else set()
    words = {word for word in re.split(r"[^a-z0-9]+", (title or "").lower()) if word and word not in TITLE_STOP_WORDS}
    return traits | {f"Title word: {word}" for word in words}


def _fit_traits(unit: str, population: Population) -> list[Trait]:
    """Which fit traits each entity has (an account: its own and any of its people's)."""
    members = population.winners | population.others
    has: dict[str, set[int]] = defaultdict(set)
    account_columns = ("industry", "segment", "employee_count", "country")
    if unit == "account":
        for account_id, *fields in Account.objects.values_list("id", *account_columns).iterator(chunk_size=5000):
            if account_id in members:
                for trait in _account_traits(*fields):
                    has[trait].add(account_id)
    lead_columns = ("seniority", "department", "title", "email")
    key = "account_id" if unit == "account" else "id"
    extra = () if unit == "account" else tuple(f"account__{column}" for column in account_columns)
    rows = Lead.objects.filter(merged_into__isnull=True).values_list(key, *lead_columns, *extra)
    for entity_id, *fields in rows.iterator(chunk_size=5000):
        if entity_id not in members:
            continue
        traits = _lead_traits(*fields[:4])
        if unit == "lead":
            traits |= _account_traits(*fields[4:]) if fields[4:] != [None, None, None, None] else set()
        for trait in traits:
            has[trait].add(entity_id)
    return [
        Trait("fit", name, len(ids & population.winners), len(ids & population.others))
        for name, ids in has.items()
        if len(ids) >= MIN_SEEN
    ]


def precedes_report(*, before: datetime, window_days: int = 30, unit: str = "account", positive: str = "won") -> dict:
    """Every behaviour and fit trait with its over-representation among buyers (see the module)."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}")
    kinds = POSITIVE_KINDS[positive]
    population = _population(unit, before, kinds)
    traits = _event_traits(unit, before, window_days, kinds) + _fit_traits(unit, population)
    winners, others = len(population.winners), len(population.others)
    rows = traits_measured(traits, winners=winners, others=others)
    return {
        "before": before.isoformat(),
        "window_days": window_days,
        "unit": unit,
        "positive": positive,
        "winners": winners,
        "others": others,
        "min_with": MIN_WITH,
        "verdicts": {key: sum(row["verdict"] == key for row in rows) for key in VERDICTS},
        "behaviours": [row for row in rows if row["group"] != "fit"],
        "fit": [row for row in rows if row["group"] == "fit"],
    }
