"""Loads the demo world into the database through the real ingestion path.

The bridge between the pure generator (world.py) and the app: sources and
campaigns are created with the services, every message goes through
`batch_ingest` in client-sized batches (so the demo exercises exactly what
production runs), processing runs as the app runs it, and the CRM's outcomes
are handed back as the CRM would send them (demo_outcome_fields), to be recorded
once the leads they belong to exist: recording moves stages, which is routing's
(seed_demo records them with routing.services.outcomes).
"""

import logging
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from leads.demo import data
from leads.demo.world import (
    MARKETING,
    PRODUCT,
    DemoAccount,
    DemoOutcome,
    WorldSpec,
    message_batches,
    world_units,
)
from leads.models import Account, Campaign, Event, Lead, Segment, Source, segment_for_employees
from leads.services.ingest import batch_ingest
from leads.services.roles import roles_sync
from leads.services.sources import source_create
from qualify_site.roles import Role

SOURCE_NAMES = {MARKETING: "Pipewise website (demo)", PRODUCT: "Pipewise app (demo)"}


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str | None  # None when the user already existed: its password was left alone
    role: str
    full_name: str


@dataclass
class LoadReport:
    messages: int = 0
    stored: int = 0
    rejected: int = 0
    batches: int = 0
    outcomes: int = 0  # recorded (by the caller, from demo_outcomes)
    demo_outcomes: list[DemoOutcome] = field(default_factory=list)  # the CRM's, in the order drawn
    owned: int = 0  # named accounts given an owner before their traffic arrived
    unprocessed: int = 0  # events stored but not processed when the load ended
    seconds: float = 0.0
    write_keys: dict[str, str] = field(default_factory=dict)  # source name -> key, for sources created now


# (username, first name, last name, role). Reps are the people whose queues
# the demo fills; the manager and marketing ops are staff so they reach the admin.
DEMO_USERS = (
    ("alice", "Alice", "Moreau", Role.REP),
    ("bob", "Bob", "Okafor", Role.REP),
    ("carmen", "Carmen", "Ruiz", Role.REP),
    ("dev", "Dev", "Patel", Role.REP),
    ("charlie", "Charlie", "Nguyen", Role.MANAGER),
    ("olivia", "Olivia", "Hart", Role.MARKETING_OPS),
    ("admin", "Ada", "Admin", Role.ADMIN),
)


def demo_is_loaded() -> bool:
    return Event.objects.exists() or Lead.objects.exists()


def demo_users_create() -> list[DemoLogin]:
    """One login per role (several reps), idempotent. Passwords are for a demo only."""
    roles_sync()  # the role groups and their permissions
    user_model = get_user_model()
    logins = []
    for username, first_name, last_name, role in DEMO_USERS:
        password = f"{username}-demo"
        user = user_model.objects.filter(username=username).first()
        created = user is None
        if created:
            extra = {"first_name": first_name, "last_name": last_name, "email": f"{username}@pipewise.example"}
            if role == Role.ADMIN:
                user = user_model.objects.create_superuser(username=username, password=password, **extra)
            else:
                is_staff = role in (Role.MANAGER, Role.MARKETING_OPS)
                user = user_model.objects.create_user(username=username, password=password, is_staff=is_staff, **extra)
        group, _ = Group.objects.get_or_create(name=role.value)
        user.groups.add(group)
        logins.append(DemoLogin(username, password if created else None, role.value, f"{first_name} {last_name}"))
    return logins


def demo_world_load(
    *,
    spec: WorldSpec,
    batch_size: int = 500,
    process_inline: bool = True,
    progress: Callable[[LoadReport], None] | None = None,
) -> LoadReport:
    """Generate the world and send it through ingestion; the CRM's outcomes come back in the report.

    With `process_inline` every batch is processed in this process right after
    it commits (Celery eager), whatever the broker settings: the command
    returns with a fully resolved world. Without it, processing goes wherever
    the app sends it (workers on Redis, or eager on the embedded default).
    """
    started = time.monotonic()
    report = LoadReport()
    sources = _sources_get_or_create(report)
    _campaigns_create()
    outcomes: list[DemoOutcome] = []
    owners = _demo_reps()
    named: list[DemoAccount] = []

    def units():
        for unit in world_units(spec):
            outcomes.extend(unit.outcomes)
            if owners and unit.account and segment_for_employees(unit.account.employees) == Segment.ENTERPRISE:
                named.append(unit.account)
            yield unit

    with _celery_eager(process_inline):
        for kind, messages in message_batches(units(), size=batch_size):
            # A batch holds messages of units already generated: their named accounts exist first.
            report.owned += _named_accounts_create(named, owners=owners, first_position=report.owned)
            named.clear()
            result = batch_ingest(source=sources[kind], messages=messages, envelope={}, received_at=timezone.now())
            report.messages += len(messages)
            report.stored += result.stored
            report.rejected += len(result.rejected)
            report.batches += 1
            if progress is not None and report.batches % 20 == 0:
                progress(report)
    report.demo_outcomes = outcomes
    # Processing failures are logged, not raised (ingestion swallows them so a
    # broker outage never fails a request): count what is left instead.
    report.unprocessed = Event.objects.filter(processed_at__isnull=True).count()
    report.seconds = time.monotonic() - started
    return report


def _demo_reps() -> list:
    return list(get_user_model().objects.filter(groups__name=Role.REP.value).order_by("username"))


def _named_accounts_create(accounts: list[DemoAccount], *, owners: list, first_position: int) -> int:
    """The CRM's named accounts (the enterprise ones), each with its owner among the demo reps, created
    before any of their traffic is ingested: routing reads the owner when a lead qualifies, so an owner
    given afterwards would route nothing, and the routing preview would name someone the leads never saw.
    Identity resolution finds them by group id and domain as it would any account."""
    if not accounts:
        return 0
    rows = [
        Account(
            group_id=account.group_id,
            name=account.name,
            domain=account.domain,
            industry=account.industry,
            employee_count=account.employees,
            segment=segment_for_employees(account.employees),
            country=account.country,
            region=account.region,
            owner=owners[(first_position + position) % len(owners)],
        )
        for position, account in enumerate(accounts)
    ]
    Account.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def demo_accounts_assign_owners() -> int:
    """Give the larger accounts not named before the load a named owner among the demo reps (named
    accounts are how real teams split enterprise territory); smaller ones stay unowned and go through
    routing."""
    reps = _demo_reps()
    if not reps:
        return 0
    accounts = Account.objects.filter(owner__isnull=True, segment=Segment.ENTERPRISE).order_by("id")
    updated = []
    for position, account in enumerate(accounts):
        account.owner = reps[position % len(reps)]
        updated.append(account)
    Account.objects.bulk_update(updated, ["owner"], batch_size=500)
    return len(updated)


def demo_outcome_fields(outcomes: list[DemoOutcome]) -> list[dict]:
    """The outcomes as the CRM's webhook would send them (POST /api/outcomes/): the person by email,
    the company by its account's id (found by its group id)."""
    group_ids = {outcome.group_id for outcome in outcomes if outcome.group_id}
    accounts = dict(Account.objects.filter(group_id__in=group_ids).values_list("group_id", "id"))
    return [
        {
            "external_id": outcome.external_id,
            "kind": outcome.kind,
            "occurred_at": outcome.occurred_at,
            "amount": outcome.amount,
            "lead_email": outcome.email,
            "account_id": accounts.get(outcome.group_id),
        }
        for outcome in outcomes
    ]


def _sources_get_or_create(report: LoadReport) -> dict[str, Source]:
    sources = {}
    for kind, name in SOURCE_NAMES.items():
        source = Source.objects.filter(name=name).first()
        if source is None:
            source, write_key = source_create(name=name, kind=kind)
            report.write_keys[name] = write_key
        sources[kind] = source
    return sources


def _campaigns_create() -> None:
    for name, campaign_type in data.CAMPAIGNS:
        Campaign.objects.get_or_create(name=name, defaults={"type": campaign_type})


@contextmanager
def _celery_eager(enabled: bool):
    if not enabled:
        yield
        return
    from qualify_site.celery import app

    # One INFO line per batch from Celery's tracer would drown the progress.
    tracer_log = logging.getLogger("celery.app.trace")
    previous, previous_level = app.conf.task_always_eager, tracer_log.level
    app.conf.task_always_eager = True
    tracer_log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        app.conf.task_always_eager = previous
        tracer_log.setLevel(previous_level)


def default_now() -> datetime:
    return timezone.now().replace(microsecond=0)
