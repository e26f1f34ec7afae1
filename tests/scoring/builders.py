"""Small builders for engine facts, so each test states only what matters to it."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from scoring.engine import AccountFacts, EventFacts, LeadFacts, ScoringFacts

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
_ids = itertools.count(1)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def event(
    name: str | None,
    *,
    days: float = 1,
    type: str = "track",  # noqa: A002 - mirrors the Segment field
    user: str | None = "u1",
    account_level: bool = False,
    **properties: Any,
) -> EventFacts:
    return EventFacts(
        id=next(_ids),
        type=type,
        name=name,
        timestamp=days_ago(days),
        properties=properties,
        user_key=user,
        is_account_level=account_level,
    )


def page(path: str, *, days: float = 1, **kwargs: Any) -> EventFacts:
    return event(None, type="page", days=days, path=path, **kwargs)


def facts(
    *events: EventFacts,
    lead: dict | None = None,
    account: dict | None = None,
    seats: tuple = (),
    now: datetime = NOW,
) -> ScoringFacts:
    return ScoringFacts(
        lead=LeadFacts(id=1, attributes=lead or {}),
        account=AccountFacts(id=1, attributes=account, seats_history=seats) if account is not None else None,
        events=tuple(events),
        now=now,
    )


# A decision maker at a company the default rules were written for.
BUYER = {"title": "VP Data", "department": "Data", "email_type": "business", "country": "US"}
FITTING_ACCOUNT = {"industry": "Software", "employee_count": 400, "country": "US", "segment": "mid_market"}
STUDENT = {"title": "Student", "email_type": "student", "country": "US"}
