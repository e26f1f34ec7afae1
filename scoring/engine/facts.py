"""The facts the engine scores and the result it returns.

Plain frozen dataclasses, no Django: services build them from rows, the engine
reads them, and `ScoreResult.to_dict()` is what gets stored as JSON.

The attribute dicts inside the facts are treated as read-only by the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class _Derived:
    """Like functools.cached_property without its per-access lock (Python 3.11 takes one).

    A non-data descriptor: the first read stores the value in the instance dict (bypassing
    the frozen dataclass's __setattr__), and later reads never reach the descriptor again.
    """

    def __init__(self, function):
        self.function = function
        self.name = function.__name__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = self.function(instance)
        instance.__dict__[self.name] = value
        return value


@dataclass(frozen=True)
class LeadFacts:
    """Who the lead is.

    `attributes` holds the identify traits and derived values that fit rules read as
    `lead.<key>`: title, seniority, department, country, email_domain, and by convention
    `email_type` (business, free, student or unknown) and `is_unsubscribed` (bool).
    """

    id: Any
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountFacts:
    """The lead's account (company), read by fit rules as `account.<key>`.

    `attributes` holds group traits (name, domain, industry, employee_count, country,
    segment, plan, seats...). `seats_history` is a list of (timestamp, seats) points in any
    order, used by the seat-growth PQL path; `plan` is the current plan name, if known.
    """

    id: Any
    attributes: dict[str, Any] = field(default_factory=dict)
    seats_history: tuple[tuple[datetime, int], ...] = ()
    plan: str | None = None

    @property
    def segment(self) -> Any:
        return self.attributes.get("segment")


@dataclass(frozen=True)
class EventFacts:
    """One event in the scoring window.

    `type` is the Segment call type (track, page, screen, identify, group); `name` is the
    track event name or the page name. `user_key` identifies the person who did it, for
    counting distinct active users on the account. `is_account_level` is True for events
    that reach this lead only through its account (done by a colleague, or a `group`-level
    event with no person): those count for PQL paths and account-scoped rules only.

    Conditions on events read `event.name`, `event.type`, `event.properties.<key>`,
    `event.context.<key>`, `event.user` and `event.account_level` (older ones the same
    without `event.`).
    """

    id: Any
    type: str
    name: str | None
    timestamp: datetime
    properties: dict[str, Any] = field(default_factory=dict)
    user_key: str | None = None
    is_account_level: bool = False
    context: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def fast(
        cls,
        id: Any,  # noqa: A002 - the field's name
        type: str,  # noqa: A002 - the field's name
        name: str | None,
        timestamp: datetime,
        properties: dict[str, Any],
        user_key: str | None,
        is_account_level: bool,
        context: dict[str, Any],
    ) -> EventFacts:
        """The constructor for services building facts by the hundred thousand: the same
        instance, about three times faster (a frozen dataclass's __init__ sets each field
        through object.__setattr__), with `epoch` computed up front. No defaults, no checks."""
        event = object.__new__(cls)
        event.__dict__.update(
            id=id,
            type=type,
            name=name,
            timestamp=timestamp,
            properties=properties,
            user_key=user_key,
            is_account_level=is_account_level,
            context=context,
            epoch=timestamp.timestamp(),
        )
        return event

    # Derived lazily and once per event (a full rescore reads an account's events for every
    # lead), and only for events that some rule looks at.
    @_Derived
    def epoch(self) -> float:
        return self.timestamp.timestamp()

    @_Derived
    def condition_context(self) -> dict[str, Any]:
        """The event fields of the catalogue (conditions/catalogue.py), under `event.` and, for
        conditions stored before the catalogue, also at the top (`properties.path`)."""
        fields = {
            "name": self.name,
            "type": self.type,
            "properties": self.properties,
            "context": self.context,
            "user": self.user_key,
            "account_level": self.is_account_level,
        }
        # One dict for both spellings (`event` points back at it): built for every event a
        # rule looks at, so a second copy would cost a full rescore time for nothing.
        fields["event"] = fields
        return fields


@dataclass(frozen=True)
class ScoringFacts:
    """Everything the engine needs for one lead.

    `events` are the lead's own events plus its account's events (flagged
    `is_account_level`), at least as far back as `CompiledVersion.max_window_days`.
    """

    lead: LeadFacts
    now: datetime
    account: AccountFacts | None = None
    events: tuple[EventFacts, ...] = ()


@dataclass(frozen=True)
class RuleHit:
    """One rule that fired: its points after caps and decay, how often, and the evidence."""

    kind: str  # fit, engagement, negative
    name: str
    points: float
    count: int
    bucket: str  # which score it counted in: fit or engagement
    evidence: dict[str, Any]
    label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "points": self.points,
            "count": self.count,
            "bucket": self.bucket,
            "evidence": self.evidence,
            "label": self.label,
        }


@dataclass(frozen=True)
class PqlMatch:
    """A PQL path that is satisfied, with the evidence (event ids, counts, seats)."""

    name: str
    kind: str
    summary: str
    evidence: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "summary": self.summary, "evidence": self.evidence}


@dataclass(frozen=True)
class ScoreResult:
    fit: float
    engagement: float
    total: float
    grade: str
    is_mql: bool
    is_hot: bool
    pql: PqlMatch | None
    pql_matches: tuple[PqlMatch, ...]
    hits: tuple[RuleHit, ...]
    why: str

    @property
    def pql_path(self) -> str | None:
        return self.pql.name if self.pql else None

    @property
    def stage(self) -> str | None:
        """The qualification the score supports: PQL outranks MQL."""
        if self.pql is not None:
            return "pql"
        if self.is_mql:
            return "mql"
        return None

    def to_dict(self) -> dict[str, Any]:
        """The explanation as JSON-ready data (datetimes are not included anywhere)."""
        return {
            "fit": self.fit,
            "engagement": self.engagement,
            "total": self.total,
            "grade": self.grade,
            "is_mql": self.is_mql,
            "is_hot": self.is_hot,
            "pql": self.pql.to_dict() if self.pql else None,
            "pql_matches": [match.to_dict() for match in self.pql_matches],
            "hits": [hit.to_dict() for hit in self.hits],
            "why": self.why,
        }
