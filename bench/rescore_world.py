"""The demo world at rescoring scale, written straight into the tables.

The full-rescore figure needs at least 100k leads and 2M events. Building that
through HTTP ingestion and processing takes about ten minutes here, and would
measure ingestion again; this phase measures *rescoring*. So the world is
written as it would be once processed: accounts, leads (attributes from their
identify traits, account from their business domain or a group call) and
events with `lead_id`, `account_id` and `processed_at` already set, no scores.

Speed comes from stamping copies of a pool of simulated units (companies and
lone visitors from `leads.demo.world`, so names, titles, properties, the
marketing and product mix and the 90-day timelines are the generator's): each
copy gets its own account (group id and domain suffixed with the copy round),
its own addresses and message ids, and its timeline shifted by up to a week
(events that would land in the future are dropped, as the generator does).
Leads and accounts go in with `bulk_create` (so model defaults of fields added
later still apply), events with PostgreSQL COPY, the table's secondary indexes
dropped during the COPY and rebuilt after (a bulk load, as a restore does).
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from leads.demo.world import MARKETING, PRODUCT, WorldSpec, world_units

# Copies start again with a fresh pool this often: enough variety that no
# account's behaviour repeats more than a few dozen times at 100k leads.
POOL_ACCOUNTS = 400
SHIFT_DAYS = 7
COPY_CHUNK_ROWS = 20_000
EVENT_COLUMNS = (
    "source_id, message_id, batch_id, type, event, name, user_id, anonymous_id, group_id, previous_id, "
    "properties, traits, context, extra, original_timestamp, sent_at, received_at, timestamp, "
    "lead_id, account_id, processed_at"
)


@dataclass
class _TemplatePerson:
    email: str | None  # None: never identified (an anonymous visitor is still a lead)
    first_name: str = ""
    last_name: str = ""
    title: str = ""
    department: str = ""
    seniority: str = ""
    country: str = ""
    email_type: str = "business"
    in_account: bool = False  # a business address or a group call ties the person to the company
    is_unsubscribed: bool = False
    first_seen: float | None = None
    last_seen: float = 0.0


@dataclass
class _TemplateMessage:
    offset: float  # seconds after the world's start
    source: str
    person: int
    type: str
    event: str
    name: str
    user_id: str
    anonymous_id: str
    group_id: str
    properties: str  # JSON, escaped for COPY text format
    traits: str
    context: str


@dataclass(frozen=True)
class _TemplateOutcome:
    kind: str
    person: int  # index into the unit's people
    offset: float  # seconds after the world's start
    amount: object  # Decimal or None


@dataclass
class _TemplateUnit:
    account: dict | None
    people: list[_TemplatePerson]
    messages: list[_TemplateMessage] = field(default_factory=list)
    outcomes: list[_TemplateOutcome] = field(default_factory=list)


@dataclass(frozen=True)
class BuildReport:
    accounts: int
    leads: int
    events: int
    outcomes: int = 0


def _copy_text(value: dict) -> str:
    # COPY text format: backslash is the escape character (JSON's own escapes
    # must survive), and tab/newline never occur in json.dumps output.
    return json.dumps(value, separators=(",", ":")).replace("\\", "\\\\")


def _template(unit, spec: WorldSpec) -> _TemplateUnit:
    people = [_TemplatePerson(email=None, email_type=person.email_type) for person in unit.people]
    by_key: dict[str, int] = {}
    for index, person in enumerate(unit.people):
        by_key[person.anonymous_id] = index
        by_key[person.user_id] = index
    demo = unit.account
    account = None
    if demo is not None:
        account = {
            "name": demo.name,
            "domain": demo.domain,
            "group_id": None,
            "industry": demo.industry,
            "employee_count": demo.employees,
            "country": demo.country,
            "region": demo.region,
            "plan": "",
            "seats": None,
        }
    template = _TemplateUnit(account=account, people=people)
    start = spec.start
    emails = {person.email: index for index, person in enumerate(unit.people)}
    template.outcomes = [
        _TemplateOutcome(o.kind, emails[o.email], (o.occurred_at - start).total_seconds(), o.amount)
        for o in unit.outcomes
        if o.email in emails
    ]
    for source, message in unit.messages:
        index = by_key[message.get("userId") or message["anonymousId"]]
        person, demo_person = people[index], unit.people[index]
        offset = (datetime.fromisoformat(message["timestamp"]) - start).total_seconds()
        # Messages come in time order: the first one seen is the earliest.
        person.first_seen = offset if person.first_seen is None else person.first_seen
        person.last_seen = max(person.last_seen, offset)
        kind = message["type"]
        traits = message.get("traits") or {}
        group_id = message.get("groupId") or message.get("context", {}).get("groupId") or ""
        if kind == "identify" and person.email is None:
            person.email = demo_person.email
            person.first_name, person.last_name = demo_person.first_name, demo_person.last_name
            person.title, person.department = demo_person.title, demo_person.department
            person.seniority, person.country = demo_person.seniority, demo_person.country
            person.in_account |= demo is not None and demo_person.email_type == "business"
        if group_id and account is not None:
            person.in_account = True
            account["group_id"] = group_id
            if kind == "group":
                account["plan"] = traits.get("plan", account["plan"])
                account["seats"] = traits.get("seats", account["seats"])
        if message.get("event") == "Unsubscribed":
            person.is_unsubscribed = True
        template.messages.append(
            _TemplateMessage(
                offset=offset,
                source=source,
                person=index,
                type=kind,
                event=message.get("event", ""),
                name=message.get("name", ""),
                user_id=message.get("userId", ""),
                anonymous_id=message.get("anonymousId", ""),
                group_id=message.get("groupId", ""),
                properties=_copy_text(message.get("properties") or {}),
                traits=_copy_text(traits),
                context=_copy_text(message.get("context") or {}),
            )
        )
    return template


def _templates(seed: int, now: datetime) -> tuple[list[_TemplateUnit], datetime]:
    spec = WorldSpec(seed=seed, accounts=POOL_ACCOUNTS, now=now)
    return [_template(unit, spec) for unit in world_units(spec)], spec.start


def _address_with_round(address: str | None, email_type: str, round_number: int) -> str | None:
    """The same person in another copy of the world: a distinct, still plausible address
    (at the copy's own company domain, or a numbered free-mail or campus address)."""
    if address is None or round_number == 0:
        return address
    local, _, domain = address.partition("@")
    if email_type == "business":
        return f"{local}@{_domain_with_round(domain, round_number)}"
    return f"{local}.{round_number}@{domain}"


def _domain_with_round(domain: str, round_number: int) -> str:
    if round_number == 0:
        return domain
    stem, _, tld = domain.partition(".")
    return f"{stem}-{round_number}.{tld}"


def world_build(
    *, leads: int, events: int, source_ids: dict[str, int], database_url: str, seed: int = 23, now=None
) -> BuildReport:
    """Write a processed world of at least `leads` leads and `events` events (whole units, so a little more)."""
    import psycopg
    from django.db import connection, transaction

    from leads.models import Account, Lead, Outcome, segment_for_employees

    now = now or datetime.now(UTC).replace(microsecond=0)
    pool, start = _templates(seed, now)
    rng = random.Random(f"qualify-rescore:{seed}")
    # Pass one: which copies, with their accounts and leads (ids needed by the events).
    copies: list[tuple[_TemplateUnit, int, float]] = []
    lead_count = event_count = 0
    number = 0
    while lead_count < leads or event_count < events:
        template = pool[number % len(pool)]
        round_number = number // len(pool)
        shift = rng.uniform(-SHIFT_DAYS, SHIFT_DAYS) * 86400.0
        horizon = (now - start).total_seconds() - shift
        kept = sum(1 for message in template.messages if message.offset <= horizon)
        copies.append((template, round_number, shift))
        lead_count += len(template.people)
        event_count += kept
        number += 1

    accounts = []
    for template, round_number, _ in copies:
        if template.account is None:
            accounts.append(None)
            continue
        values = dict(template.account)
        values["domain"] = _domain_with_round(values["domain"], round_number)
        values["name"] = values["name"] if round_number == 0 else f"{values['name']} {round_number}"
        if values["group_id"]:
            values["group_id"] = f"{values['group_id']}_{round_number}"
        accounts.append(Account(**values, segment=segment_for_employees(values["employee_count"]), traits={}))
    with transaction.atomic(), connection.cursor() as cursor:
        # Consistent by construction: no foreign-key triggers (see the COPY below).
        cursor.execute("SET LOCAL session_replication_role = replica")
        Account.objects.bulk_create([account for account in accounts if account is not None], batch_size=2000)
        lead_rows = []
        for (template, round_number, shift), account in zip(copies, accounts, strict=True):
            for person in template.people:
                first_seen = start + timedelta(seconds=(person.first_seen or 0.0) + shift)
                lead_rows.append(
                    Lead(
                        email=_address_with_round(person.email, person.email_type, round_number),
                        first_name=person.first_name,
                        last_name=person.last_name,
                        title=person.title,
                        department=person.department,
                        seniority=person.seniority,
                        country=person.country,
                        region=account.region if account is not None and person.in_account else "",
                        source_id=source_ids[MARKETING],
                        account=account if person.in_account else None,
                        is_unsubscribed=person.is_unsubscribed,
                        traits={},
                        first_seen_at=min(first_seen, now),
                        last_seen_at=min(start + timedelta(seconds=person.last_seen + shift), now),
                    )
                )
        Lead.objects.bulk_create(lead_rows, batch_size=2000)
        outcomes = Outcome.objects.bulk_create(_outcomes(copies, accounts, lead_rows, start, now), batch_size=5000)
    lead_ids = iter([lead.id for lead in lead_rows])
    written = 0
    with psycopg.connect(database_url) as pg:
        indexes = _secondary_indexes(pg, "leads_event")
        with pg.cursor() as cursor:
            # The rows are consistent by construction: skip the foreign-key
            # triggers, as pg_restore --disable-triggers does (superuser only).
            cursor.execute("SET session_replication_role = replica")
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            with cursor.copy(f"COPY leads_event ({EVENT_COLUMNS}) FROM STDIN") as copy:
                for chunk in _event_lines(copies, accounts, lead_ids, source_ids, start, now):
                    copy.write(chunk)
            pg.commit()
            for _, definition in indexes:
                cursor.execute(definition)
            cursor.execute("SELECT count(*) FROM leads_event")
            written = cursor.fetchone()[0]
        pg.commit()
        pg.autocommit = True
        pg.execute("ANALYZE leads_event")
        pg.execute("ANALYZE leads_lead")
        pg.execute("ANALYZE leads_account")
    accounts_written = sum(1 for account in accounts if account is not None)
    return BuildReport(accounts=accounts_written, leads=len(lead_rows), events=written, outcomes=len(outcomes))


def _outcomes(copies, accounts, lead_rows, start: datetime, now: datetime) -> list:
    """Each copy's CRM outcomes (meetings, opportunities, wins and losses), shifted with its timeline;
    those that would land in the future are not written, like its events."""
    from leads.models import Outcome

    rows = []
    people = iter(lead_rows)
    for number, ((template, _, shift), account) in enumerate(zip(copies, accounts, strict=True)):
        leads = [next(people) for _ in template.people]
        for outcome in template.outcomes:
            occurred_at = start + timedelta(seconds=outcome.offset + shift)
            if occurred_at > now:
                continue
            lead = leads[outcome.person]
            rows.append(
                Outcome(
                    kind=outcome.kind,
                    lead=lead,
                    account=account if lead.account_id else None,
                    amount=outcome.amount,
                    occurred_at=occurred_at,
                    external_id=f"bench-{number:07d}-{outcome.kind}",
                )
            )
    return rows


def _secondary_indexes(connection, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the indexes no constraint owns."""
    return connection.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN"
        " (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
        (table, table),
    ).fetchall()


def _event_lines(copies, accounts, lead_ids, source_ids, start: datetime, now: datetime) -> Iterator[str]:
    """COPY text rows of every copy's events, in chunks."""
    epoch_start = start.timestamp()
    epoch_now = now.timestamp()
    sources = {MARKETING: str(source_ids[MARKETING]), PRODUCT: str(source_ids[PRODUCT])}
    lines: list[str] = []
    for number, ((template, round_number, shift), account) in enumerate(zip(copies, accounts, strict=True)):
        person_leads = [str(next(lead_ids)) for _ in template.people]
        person_accounts = [
            str(account.id) if account is not None and person.in_account else "\\N" for person in template.people
        ]
        suffix = "" if round_number == 0 else f"_{round_number}"
        batch = str(uuid.UUID(int=random.Random(number).getrandbits(128), version=4))
        for position, message in enumerate(template.messages):
            moment = epoch_start + message.offset + shift
            if moment > epoch_now:
                continue  # in the future for this copy: not happened yet
            at = datetime.fromtimestamp(moment, UTC).isoformat()
            traits = message.traits
            group_id = message.group_id + suffix if message.group_id else ""
            if suffix and message.type == "identify":
                # The address in the identify traits is this copy's.
                person = template.people[message.person]
                traits = traits.replace(
                    person.email, _address_with_round(person.email, person.email_type, round_number)
                )
            lines.append(
                "\t".join(
                    (
                        sources[message.source],
                        f"bench-{number:07d}-{position:05d}",
                        batch,
                        message.type,
                        message.event,
                        message.name,
                        message.user_id + suffix if message.user_id else "",
                        message.anonymous_id + suffix if message.anonymous_id else "",
                        group_id,
                        "",
                        message.properties,
                        traits,
                        message.context,
                        "{}",
                        at,
                        at,
                        at,
                        at,
                        person_leads[message.person],
                        person_accounts[message.person],
                        at,
                    )
                )
            )
        if len(lines) >= COPY_CHUNK_ROWS:
            yield "\n".join(lines) + "\n"
            lines = []
    if lines:
        yield "\n".join(lines) + "\n"
