"""A small hand-built history for insights tests: leads, accounts, events and outcomes at chosen times."""

import itertools
from datetime import UTC, datetime, timedelta

from leads.models import Account, Event, Lead, Outcome, Source, SourceKind
from leads.services.sources import source_create
from scoring.services.versions import rule_version_create_from_document

AS_OF = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
_messages = itertools.count(1)

# One rule, no decay: a demo request is worth 40 points and qualifies (MQL at 30 total).
DEMO_ONLY = {
    "schema": 1,
    "thresholds": {
        "mql": {"fit_min": 0, "engagement_min": 30, "total_min": 30},
        "hot": {"total_min": 100},
        "grades": {"A": 60, "B": 40, "C": 20},
    },
    "fit_rules": [],
    "engagement_rules": [
        {"name": "Demo requested", "points": 40, "event": "Demo Requested", "max_count": 1, "window_days": 60}
    ],
    "negative_rules": [],
    "pql_paths": [],
}


def demo_only_version(name: str = "Demo only"):
    return rule_version_create_from_document(name=name, document=DEMO_ONLY)


def source() -> Source:
    existing = Source.objects.filter(name="History").first()
    return existing or source_create(name="History", kind=SourceKind.MARKETING)[0]


def account(domain: str) -> Account:
    return Account.objects.create(name=domain.split(".")[0].title(), domain=domain)


def lead(email: str, *, seen: datetime, company: Account | None = None) -> Lead:
    return Lead.objects.create(email=email, account=company, first_seen_at=seen)


def track(person: Lead, name: str, at: datetime) -> Event:
    return Event.objects.create(
        source=source(),
        message_id=f"m{next(_messages)}",
        type="track",
        event=name,
        user_id=person.email,
        received_at=at,
        timestamp=at,
        processed_at=at,
        lead=person,
        account=person.account,
    )


def outcome(kind: str, at: datetime, *, person: Lead | None = None, company: Account | None = None) -> Outcome:
    return Outcome.objects.create(kind=kind, occurred_at=at, lead=person, account=company)


def days(n: float) -> timedelta:
    return timedelta(days=n)
