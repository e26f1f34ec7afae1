"""Which events a rule version can read, and how far back.

A rule or PQL path only ever looks at events of certain names or types, within its
window. Loading just those is what makes a full rescore affordable: with the
default rules, product usage events matter for two weeks at most and page views
for a month, while the widest window (90 days) applies to a few marketing events.

`event_horizons(compiled)` answers "is an event of this type and name, this old,
readable by any rule of the version?". Services turn the answer into a query
filter; `needs()` is the same test in Python. It errs on the side of loading: a
rule that names both events and a type is taken as naming the events.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from scoring.engine.rules import DAY, CompiledVersion


@dataclass(frozen=True)
class HorizonGroup:
    """Events read back to `days` ago: those named in `names`, of a type in `types`, or all of them."""

    days: float
    names: frozenset[str]
    types: frozenset[str]
    any_event: bool = False


@dataclass(frozen=True)
class EventHorizons:
    any_event_days: float | None
    names: dict[str, float]  # event name (track) or page/screen name -> days
    types: dict[str, float]  # event type, whatever the name -> days
    # Events whose properties and context some condition reads (the rest need neither).
    detail_names: frozenset[str] = frozenset()
    detail_types: frozenset[str] = frozenset()
    detail_any: bool = False

    @property
    def max_days(self) -> float:
        return max([*self.names.values(), *self.types.values(), self.any_event_days or 0.0], default=0.0)

    def needs(self, *, type: str, name: str | None, age_days: float) -> bool:  # noqa: A002 - the event's field
        if self.any_event_days is not None and age_days <= self.any_event_days:
            return True
        if name is not None and age_days <= self.names.get(name, -1.0):
            return True
        return age_days <= self.types.get(type, -1.0)

    def needs_details(self, *, type: str, name: str | None) -> bool:  # noqa: A002 - the event's field
        return self.detail_any or type in self.detail_types or name in self.detail_names

    def groups(self) -> list[HorizonGroup]:
        """One group per distinct horizon, widest first. An event is needed when any group takes it."""
        names: dict[float, set[str]] = defaultdict(set)
        types: dict[float, set[str]] = defaultdict(set)
        for name, days in self.names.items():
            if self.any_event_days is None or days > self.any_event_days:
                names[days].add(name)
        for kind, days in self.types.items():
            if self.any_event_days is None or days > self.any_event_days:
                types[days].add(kind)
        groups = [
            HorizonGroup(days=days, names=frozenset(names.get(days, ())), types=frozenset(types.get(days, ())))
            for days in set(names) | set(types)
        ]
        if self.any_event_days is not None:
            groups.append(HorizonGroup(days=self.any_event_days, names=frozenset(), types=frozenset(), any_event=True))
        return sorted(groups, key=lambda group: -group.days)


def event_horizons(compiled: CompiledVersion, *, account_level: bool = False) -> EventHorizons:
    """What the version reads of a lead's own events, or with `account_level` of its
    colleagues' (only rules and paths with scope "account" count those)."""
    names: dict[str, float] = {}
    types: dict[str, float] = {}
    any_event: float | None = None
    detail_names: set[str] = set()
    detail_types: set[str] = set()
    detail_any = False

    def widen(table: dict[str, float], key: str, days: float) -> None:
        table[key] = max(days, table.get(key, 0.0))

    for rule in compiled.event_rules:
        if account_level and not rule.includes_account_events:
            continue
        days = rule.window_seconds / DAY
        if rule.event_names:
            for name in rule.event_names:
                widen(names, name, days)
            if rule.predicate is not None:
                detail_names.update(rule.event_names)
        elif rule.event_type:
            widen(types, rule.event_type, days)
            if rule.predicate is not None:
                detail_types.add(rule.event_type)
        else:
            any_event = max(days, any_event or 0.0)
            detail_any = detail_any or rule.predicate is not None
    for path in compiled.pql_paths:
        if path.kind == "seat_growth":
            continue  # reads the account's seat history, loaded on its own
        if account_level and not path.includes_account_events:
            continue
        days = path.lookback_seconds / DAY if path.kind == "activation" else path.within_days
        if path.events:
            for name in path.events:
                widen(names, name, days)
            if path.predicate is not None:
                detail_names.update(path.events)
        else:
            any_event = max(days, any_event or 0.0)
            detail_any = detail_any or path.predicate is not None
    return EventHorizons(
        any_event_days=any_event,
        names=names,
        types=types,
        detail_names=frozenset(detail_names),
        detail_types=frozenset(detail_types),
        detail_any=detail_any,
    )
