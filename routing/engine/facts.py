"""The inputs of the routing policy: frozen dataclasses that services build from rows.

Nothing here touches a database. Services load the rules, queues, members and reps, build
these, call `decide` (decision.py) and persist the `Decision` and its `to_dict()` audit.

Instants are aware datetimes (UTC from the database is fine); ids are whatever the models
use (ints in Qualify) and are only compared and echoed back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from routing.engine.sla import WorkingHours

# The rotation strategies, one vocabulary: these are the values routing.models.Strategy stores
# (and the API shows), so a queue row's strategy reaches the engine as it is.
ROUND_ROBIN = "round_robin"
WEIGHTED = "weighted"  # weighted round robin
LEAST_LOADED = "least_loaded"
STRATEGIES = (ROUND_ROBIN, WEIGHTED, LEAST_LOADED)
PRIORITIES = ("high", "normal", "low")
ROOTS = ("lead", "account", "score")


def _upper(values: Iterable[str]) -> frozenset[str]:
    return frozenset(str(value).strip().upper() for value in values if str(value).strip())


def _folded(values: Iterable[str]) -> frozenset[str]:
    return frozenset(str(value).strip().casefold() for value in values if str(value).strip())


@dataclass(frozen=True)
class Territory:
    """Where a rule or a rep applies. Every dimension that is given must match; empty means any.

    countries: ISO codes (compared upper-case); regions: regions or states (compared ignoring
    case); industries (ignoring case); employee_bands: inclusive (min, max) employee counts,
    either end None for open. Build with `Territory.build(...)` to normalise the sets.
    """

    name: str
    countries: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    industries: frozenset[str] = frozenset()
    employee_bands: tuple[tuple[int | None, int | None], ...] = ()

    @classmethod
    def build(
        cls,
        name: str,
        *,
        countries: Iterable[str] = (),
        regions: Iterable[str] = (),
        industries: Iterable[str] = (),
        employee_bands: Iterable[tuple[int | None, int | None]] = (),
    ) -> Territory:
        bands = tuple((low, high) for low, high in employee_bands)
        for low, high in bands:
            if low is not None and high is not None and low > high:
                raise ValueError(f"territory {name}: employee band {low}-{high} ends before it starts")
        return cls(
            name=name,
            countries=_upper(countries),
            regions=_folded(regions),
            industries=_folded(industries),
            employee_bands=bands,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "countries": sorted(self.countries),
            "regions": sorted(self.regions),
            "industries": sorted(self.industries),
            "employee_bands": [list(band) for band in self.employee_bands],
        }


@dataclass(frozen=True)
class RoutingRule:
    """One ordered routing rule: when `condition` (over lead, account, score) holds and the lead
    is in `territory` (if any), the lead goes to `queue_id` with `priority`.

    `condition` is in the scoring condition language; None or {} matches every lead.
    Rules are tried by `position`, then id.
    """

    id: Any
    name: str
    position: int
    queue_id: Any
    condition: dict | None = None
    territory: Territory | None = None
    priority: str = "normal"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "position": self.position,
            "queue_id": self.queue_id,
            "condition": self.condition or None,
            "territory": self.territory.to_dict() if self.territory else None,
            "priority": self.priority,
        }


@dataclass(frozen=True)
class RoutingPolicy:
    """The rule set and the switches that shape a decision.

    respect_working_hours: a rep outside their working hours is skipped (default False: hours
      do not block assignment, the SLA clock simply does not run outside them).
    respect_rep_territories: a queue member whose territories (if any) do not cover the lead
      is skipped.
    overflow_to_fallback: when the matched queue has nobody available, try the fallback queue
      (default False: the lead waits in its matched queue, unassigned and flagged, because the
      rule said who should work it and managers see waiting leads).
    account_routing: send a lead to its account's owner, or to the rep holding another of the
      account's leads, before the rules (default True).
    """

    rules: tuple[RoutingRule, ...]
    fallback_queue_id: Any
    fallback_priority: str = "normal"
    respect_working_hours: bool = False
    respect_rep_territories: bool = True
    overflow_to_fallback: bool = False
    account_routing: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "rules": [rule.to_dict() for rule in self.rules],
            "fallback_queue_id": self.fallback_queue_id,
            "fallback_priority": self.fallback_priority,
            "respect_working_hours": self.respect_working_hours,
            "respect_rep_territories": self.respect_rep_territories,
            "overflow_to_fallback": self.overflow_to_fallback,
            "account_routing": self.account_routing,
        }


@dataclass(frozen=True)
class RoutingFacts:
    """What the policy knows about one lead.

    lead: stage, title, country, region, seniority, department, source, campaign_type, email_type...
    account: industry, employee_count, country, region, segment, plan, has_owner...
    score: total, fit, engagement, grade, is_hot, pql_path...
    account_owner_id: the account's owner rep, if any.
    account_rep_ids: reps holding an open assignment for another lead of the same account,
      most relevant first (e.g. most recent).
    Conditions read these as `lead.<key>`, `account.<key>`, `score.<key>`.
    """

    lead: Mapping[str, Any]
    account: Mapping[str, Any] = field(default_factory=dict)
    score: Mapping[str, Any] = field(default_factory=dict)
    account_owner_id: Any = None
    account_rep_ids: tuple[Any, ...] = ()
    lead_id: Any = None

    def context(self) -> dict[str, Any]:
        # The condition getters walk plain dicts only (type(x) is dict), so copy mappings.
        return {"lead": dict(self.lead), "account": dict(self.account), "score": dict(self.score)}


@dataclass(frozen=True)
class OutOfOffice:
    """A rep is away from `start` (inclusive) to `end` (exclusive); end None = until further notice."""

    start: datetime
    end: datetime | None = None
    note: str = ""


@dataclass(frozen=True)
class RepState:
    """A rep as routing sees them at one moment.

    capacity: the most open assignments they may hold (None = no cap); open_assignments: how
    many they hold now, across queues. working_hours None means no schedule (always working).
    territories: empty means anywhere.
    """

    id: Any
    name: str = ""
    is_active: bool = True
    capacity: int | None = None
    open_assignments: int = 0
    out_of_office: tuple[OutOfOffice, ...] = ()
    time_zone: str = "UTC"
    working_hours: WorkingHours | None = None
    holidays: frozenset[date] = frozenset()
    territories: tuple[Territory, ...] = ()

    @property
    def label(self) -> str:
        return self.name or f"rep {self.id}"


@dataclass(frozen=True)
class QueueMember:
    """A rep's place in one queue's rotation.

    assigned_count: assignments received in this queue (store what `Decision.turn` says);
    weight: share of the queue relative to the others (weighted round robin); a new member's
    starting count comes from `starting_assigned_count`.
    """

    rep_id: Any
    assigned_count: int = 0
    weight: float = 1
    joined_at: datetime | None = None
    last_assigned_at: datetime | None = None


@dataclass(frozen=True)
class Queue:
    id: Any
    name: str
    strategy: str = "round_robin"
    members: tuple[QueueMember, ...] = ()
