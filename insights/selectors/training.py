"""What each candidate looked like at a cut-off, as features a suggested version is fitted on.

One row per lead (or account) that was a candidate at the cut-off (the same candidates and the
same outcome labels as `snapshot_scored`), with:
- `rules`: how much each fit, engagement and negative rule of the version fired, in units of the
  rule's own points (1 for a fit rule; the decayed, capped count for an engagement rule), so a
  rule given new points contributes exactly new points x this;
- `paths`: the PQL paths that held;
- `behaviours`: what the lead did in the `BEHAVIOUR_WINDOW_DAYS` before the cut-off, whether or
  not a rule reads it (events by name, pages by the first part of their path, notable property
  values) and who it is (a few fit attributes), each a candidate for a rule the version lacks.

Only what was known at the cut-off is read: events at or before it, outcomes after it.
"""

import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count

from insights.selectors.snapshot import UNITS, candidate_leads, outcomes_within
from leads.models import Event, EventType
from scoring.engine import CompiledVersion, evaluate
from scoring.engine.horizons import event_horizons
from scoring.selectors import scoring_facts_for_leads

CHUNK_SIZE = 1000
BEHAVIOUR_WINDOW_DAYS = 30
BEHAVIOUR_CAP = 3  # counts are capped like an engagement rule's max_count: the fourth visit adds nothing
# Property values worth a rule of their own (PRODUCT.md: `path` of pages, `asset_type` of downloads).
NOTABLE_PROPERTIES = ("asset_type", "form_id", "webinar")
# Fit attributes a rule can name with `eq`, those with a few values: free-text ones (industry, department)
# have so many that some value always looks over-represented among a few dozen buyers by chance. The
# lead's stage is left out: it is today's, not the cut-off's.
ATTRIBUTE_FIELDS = ("lead.email_type", "lead.seniority", "lead.source_kind", "lead.campaign_type", "account.segment")


@dataclass(frozen=True)
class Behaviour:
    """Something a candidate did or is, that a rule could name."""

    key: str
    kind: str  # event, page, property or attribute
    event: str | None = None  # the track event's name (event, property)
    field: str | None = None  # the property's key (property) or the attribute's field (attribute)
    value: Any = None  # the property's value, the page's path prefix or the attribute's value

    @property
    def words(self) -> str:
        if self.kind == "event":
            return f"'{self.event}'"
        if self.kind == "page":
            return f"a visit to {self.value}"
        if self.kind == "property":
            return f"'{self.event}' with {self.field} {self.value}"
        return f"{self.field} is {self.value}"


@dataclass(frozen=True)
class TrainingRow:
    id: int  # the lead's or the account's
    cutoff: datetime
    total: float
    fit: float
    engagement: float
    rules: dict[str, float]
    paths: frozenset[str]
    behaviours: dict[str, float]
    outcomes: frozenset[str]  # outcome kinds in the horizon after the cut-off
    weight: float = 1.0  # how many candidates this row stands for (negatives are sampled on big worlds)
    lead_ids: tuple[int, ...] = field(default=())

    def reached(self, kinds: Sequence[str]) -> bool:
        return bool(self.outcomes.intersection(kinds))


def _path_prefix(path: Any) -> str | None:
    if not isinstance(path, str) or not path.startswith("/"):
        return None
    first = path.split("?")[0].split("#")[0].split("/")[1:2]
    return "/" + first[0] if first and first[0] else "/"


def _event_behaviours(lead_ids: list[int], cutoff: datetime) -> dict[int, dict[str, Behaviour | int]]:
    """Per lead: behaviour key -> (behaviour, count) in the window before the cut-off, counted in SQL."""
    since = cutoff - timedelta(days=BEHAVIOUR_WINDOW_DAYS)
    columns = ("lead_id", "type", "event", *(f"properties__{key}" for key in ("path", *NOTABLE_PROPERTIES)))
    rows = (
        Event.objects.filter(lead_id__in=lead_ids, timestamp__gt=since, timestamp__lt=cutoff)
        .filter(type__in=(EventType.TRACK, EventType.PAGE))
        .values_list(*columns)
        .annotate(count=Count("id"))
        .order_by()
    )
    found: dict[int, dict[str, list]] = defaultdict(dict)
    for lead_id, kind, event, path, *values, count in rows:
        behaviours = []
        if kind == EventType.TRACK and event:
            behaviours.append(Behaviour(f"event:{event}", "event", event=event))
            for key, value in zip(NOTABLE_PROPERTIES, values, strict=True):
                if isinstance(value, str | int | bool) and str(value).strip() and len(str(value)) <= 100:
                    behaviours.append(
                        Behaviour(f"property:{event}|{key}={value}", "property", event=event, field=key, value=value)
                    )
        elif kind == EventType.PAGE and (prefix := _path_prefix(path)) is not None:
            behaviours.append(Behaviour(f"page:{prefix}", "page", value=prefix))
        for behaviour in behaviours:
            entry = found[lead_id].setdefault(behaviour.key, [behaviour, 0])
            entry[1] += count
    return found


def _attribute_behaviours(facts) -> list[Behaviour]:
    roots = {"lead": facts.lead.attributes, "account": facts.account.attributes if facts.account else {}}
    found = []
    for name in ATTRIBUTE_FIELDS:
        root, key = name.split(".")
        value = roots[root].get(key)
        if isinstance(value, str) and value.strip() and len(value) <= 100:
            found.append(Behaviour(f"attribute:{name}={value}", "attribute", field=name, value=value))
    return found


def _sampled(units: dict[int, list[int]], labelled: set[int], limit: int | None, seed: int) -> dict[int, float]:
    """Unit id -> weight: every unit with an outcome, and a seeded sample of the rest standing for all of them."""
    if limit is None or len(units) <= limit:
        return dict.fromkeys(units, 1.0)
    rest = sorted(unit for unit in units if unit not in labelled)
    room = max(limit - (len(units) - len(rest)), 1)
    kept = random.Random(seed).sample(rest, min(room, len(rest)))
    weights = {unit: 1.0 for unit in units if unit in labelled}
    weights.update(dict.fromkeys(kept, len(rest) / len(kept)))
    return weights


def _lead_rows(compiled: CompiledVersion, cutoff: datetime, leads, ids: list[int]) -> Iterator[tuple]:
    """(lead, result, behaviours) per candidate lead, read and scored a chunk at a time."""
    since = cutoff - timedelta(days=compiled.max_window_days)
    horizons, account_horizons = event_horizons(compiled), event_horizons(compiled, account_level=True)
    for start in range(0, len(ids), CHUNK_SIZE):
        chunk = list(leads.filter(id__in=ids[start : start + CHUNK_SIZE]).order_by("id"))
        facts = scoring_facts_for_leads(
            leads=chunk, as_of=cutoff, since=since, horizons=horizons, account_horizons=account_horizons
        )
        events = _event_behaviours([lead.id for lead in chunk], cutoff)
        for lead in chunk:
            behaviours = {key: (b, min(n, BEHAVIOUR_CAP)) for key, (b, n) in events.get(lead.id, {}).items()}
            for behaviour in _attribute_behaviours(facts[lead.id]):
                behaviours[behaviour.key] = (behaviour, 1)
            yield lead, evaluate(compiled, facts[lead.id]), behaviours


def training_rows(
    *,
    compiled: CompiledVersion,
    cutoff: datetime,
    horizon_days: int,
    unit: str = "lead",
    sample_limit: int | None = None,
    seed: int = 0,
    catalogue: dict[str, Behaviour] | None = None,
) -> list[TrainingRow]:
    """Every candidate at `cutoff` as a row of features, labelled by the outcomes of the horizon after.

    `sample_limit`: on a big world, keep every candidate with an outcome and a seeded sample of the
    others, weighted to stand for all of them. `catalogue` collects the behaviours seen, by key.
    """
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}")
    leads, ids = candidate_leads(cutoff, None)
    by_lead, account_only, by_account = outcomes_within(cutoff, cutoff + timedelta(days=horizon_days))
    account_of = dict(leads.values_list("id", "account_id"))
    units: dict[int, list[int]] = defaultdict(list)
    for lead_id in ids:
        key = lead_id if unit == "lead" else account_of.get(lead_id)
        if key is not None:
            units[key].append(lead_id)
    labelled = set(by_lead) | {lead_id for lead_id in ids if account_of.get(lead_id) in account_only}
    if unit == "account":
        labelled = set(by_account) | {account_of.get(lead_id) for lead_id in by_lead}
    weights = _sampled(units, labelled, sample_limit, seed)
    wanted = sorted(lead_id for key in weights for lead_id in units[key])
    points = {rule.name: rule.points for rule in (*compiled.attribute_rules, *compiled.event_rules)}
    rows = []
    catalogue = {} if catalogue is None else catalogue
    for lead, result, behaviours in _lead_rows(compiled, cutoff, leads, wanted):
        for key, (behaviour, _) in behaviours.items():
            catalogue.setdefault(key, behaviour)
        kinds = by_lead.get(lead.id, set()) | account_only.get(lead.account_id, set())
        rows.append(
            TrainingRow(
                id=lead.id,
                cutoff=cutoff,
                total=result.total,
                fit=result.fit,
                engagement=result.engagement,
                rules={hit.name: hit.points / points[hit.name] for hit in result.hits if points.get(hit.name)},
                paths=frozenset(match.name for match in result.pql_matches),
                behaviours={key: float(count) for key, (_, count) in behaviours.items()},
                outcomes=frozenset(kinds),
                weight=weights.get(lead.id, 1.0) if unit == "lead" else 1.0,
                lead_ids=(lead.id,),
            )
        )
    if unit == "lead":
        return rows
    return _account_rows(rows, account_of, by_lead, by_account, weights)


def _account_rows(rows: list[TrainingRow], account_of, by_lead, by_account, weights) -> list[TrainingRow]:
    """Accounts rolled up from their leads like snapshot's: the best lead's score, each feature's highest."""
    members: dict[int, list[TrainingRow]] = defaultdict(list)
    for row in rows:
        members[account_of[row.id]].append(row)
    accounts = []
    for account_id, leads in sorted(members.items()):
        best = max(leads, key=lambda row: (row.total, -row.id))
        kinds = set(by_account.get(account_id, set()))
        rules: dict[str, float] = {}
        behaviours: dict[str, float] = {}
        for row in leads:
            kinds |= by_lead.get(row.id, set())
            for name, value in row.rules.items():
                rules[name] = max(rules.get(name, value), value)
            for key, value in row.behaviours.items():
                behaviours[key] = max(behaviours.get(key, value), value)
        accounts.append(
            TrainingRow(
                id=account_id,
                cutoff=best.cutoff,
                total=best.total,
                fit=best.fit,
                engagement=best.engagement,
                rules=rules,
                paths=frozenset().union(*(row.paths for row in leads)),
                behaviours=behaviours,
                outcomes=frozenset(kinds),
                weight=weights.get(account_id, 1.0),
                lead_ids=tuple(row.id for row in leads),
            )
        )
    return accounts
