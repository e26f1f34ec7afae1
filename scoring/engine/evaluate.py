"""Score one lead: fit, engagement, PQL paths, thresholds and the explanation.

`evaluate(compiled_version, facts)` is pure and deterministic: the same facts and version
give the same result, and time only enters through `facts.now` (so windows and decay are
honoured by rescoring later with a later `now`, without new events).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conditions.language import MISSING
from scoring.engine.facts import EventFacts, PqlMatch, RuleHit, ScoreResult, ScoringFacts
from scoring.engine.rules import DAY, CompiledVersion, EventRule, PqlPath

MAX_EVIDENCE_IDS = 20
MAX_WHY_PARTS = 4


def _round(value: float) -> float:
    # + 0.0 turns -0.0 into 0.0 so stored explanations do not show "-0".
    return round(value, 1) + 0.0


def _times(count: int) -> str:
    return {1: "", 2: " twice"}.get(count, f" {count} times")


def _period(days: float) -> str:
    named = {1: "today", 7: "this week", 14: "in two weeks", 30: "this month"}
    if days in named:
        return named[days]
    return f"in {days:g} days"


# --- fit and engagement -------------------------------------------------------------------


def _score_event_rule(rule: EventRule, matched: list[tuple[float, EventFacts]]) -> RuleHit:
    # Most recent first: with a count cap and decay, the freshest events are worth most.
    matched.sort(key=lambda item: item[0])
    counted = matched[: rule.max_count] if rule.max_count else matched
    half_life = rule.half_life_seconds
    if half_life:
        points = sum(rule.points * 0.5 ** (max(age, 0.0) / half_life) for age, _ in counted)
    else:
        points = rule.points * len(counted)
    if rule.max_points is not None and abs(points) > rule.max_points:
        points = rule.max_points if points > 0 else -rule.max_points
    evidence: dict[str, Any] = {
        "event_ids": [event.id for _, event in counted[:MAX_EVIDENCE_IDS]],
        "matched": len(matched),
        "last_days_ago": _round(max(counted[0][0], 0.0) / DAY),
    }
    if half_life:
        evidence["decayed_from"] = _round(rule.points * len(counted))
    return RuleHit(
        kind=rule.kind,
        name=rule.name,
        points=_round(points),
        count=len(counted),
        bucket=rule.bucket,
        evidence=evidence,
        label=rule.label,
    )


def _match_events(compiled: CompiledVersion, events: Sequence[EventFacts], now: float) -> dict[str, list]:
    rules_for = compiled.rules_for
    matches: dict[str, list[tuple[float, EventFacts]]] = {}
    for event in events:
        rules = rules_for(event.type, event.name)
        if not rules:
            continue
        age = now - event.epoch
        for rule in rules:
            if event.is_account_level and not rule.includes_account_events:
                continue
            if age > rule.window_seconds:
                continue
            if rule.predicate is not None and not rule.predicate(event.condition_context):
                continue
            matches.setdefault(rule.name, []).append((age, event))
    return matches


# --- PQL paths ----------------------------------------------------------------------------


def _activation(path: PqlPath, events: Sequence[EventFacts], now: float) -> dict | None:
    steps = {name: index for index, name in enumerate(path.events)}
    occurrences = sorted(
        (event.epoch, steps[event.name], event.id)
        for event in events
        if event.name in steps and now - event.epoch <= path.lookback_seconds
    )
    if not occurrences:
        return None
    step_count = len(path.events)
    if path.ordered:
        # chains[i]: the latest-starting chain that completes steps 0..i in order so far.
        chains: list[tuple[float, tuple] | None] = [None] * step_count
        for epoch, step, event_id in occurrences:
            if step == 0:
                chains[0] = (epoch, (event_id,))
            elif chains[step - 1] is not None:
                start, ids = chains[step - 1]
                chains[step] = (start, (*ids, event_id))
            if step == step_count - 1 and chains[step] is not None:
                start, ids = chains[step]
                if epoch - start <= path.within_seconds:
                    return {"event_ids": list(ids), "span_days": _round((epoch - start) / DAY)}
        return None
    # Unordered: slide over time keeping the latest occurrence of each step; the window
    # ending at each event is then as short as it can be.
    latest: dict[int, tuple[float, Any]] = {}
    for epoch, step, event_id in occurrences:
        latest[step] = (epoch, event_id)
        if len(latest) == step_count:
            start = min(item[0] for item in latest.values())
            if epoch - start <= path.within_seconds:
                ordered_ids = [latest[index][1] for index in range(step_count)]
                return {"event_ids": ordered_ids, "span_days": _round((epoch - start) / DAY)}
    return None


def _usage_depth(path: PqlPath, events: Sequence[EventFacts], now: float) -> dict | None:
    names = set(path.events) if path.events else None
    users: set[str] = set()
    ids: list[Any] = []
    for event in events:
        if now - event.epoch > path.within_seconds:
            continue
        if names is not None and event.name not in names:
            continue
        if path.predicate is not None and not path.predicate(event.condition_context):
            continue
        ids.append(event.id)
        if event.user_key is not None:
            users.add(event.user_key)
    if path.min_active_users is not None:
        if len(users) >= path.min_active_users:
            return {"active_users": len(users), "users": sorted(users)[:MAX_EVIDENCE_IDS]}
        return None
    if len(ids) >= (path.min_events or 0):
        return {"events": len(ids), "event_ids": ids[-MAX_EVIDENCE_IDS:]}
    return None


def _seat_growth(path: PqlPath, history: Sequence[tuple[Any, int]], now: float) -> dict | None:
    points = sorted(
        (moment.timestamp(), seats) for moment, seats in history if type(seats) is int and moment.timestamp() <= now
    )
    start = now - path.within_seconds
    baseline = [seats for epoch, seats in points if epoch < start][-1:]
    values = baseline + [seats for epoch, seats in points if epoch >= start]
    best, low, high = 0, None, None
    lowest = None
    for seats in values:
        if lowest is not None and seats - lowest > best:
            best, low, high = seats - lowest, lowest, seats
        lowest = seats if lowest is None else min(lowest, seats)
    if best >= (path.min_increase or 1):
        return {"seats_from": low, "seats_to": high, "increase": best}
    return None


def _plan_limit(path: PqlPath, events: Sequence[EventFacts], now: float) -> dict | None:
    name = path.events[0]
    hits = [event for event in events if event.name == name and now - event.epoch <= path.within_seconds]
    if not hits:
        return None
    latest = max(hits, key=lambda event: event.epoch)
    return {
        "event_ids": [event.id for event in hits][-MAX_EVIDENCE_IDS:],
        "days_ago": _round((now - latest.epoch) / DAY),
    }


def _path_summary(path: PqlPath, evidence: dict) -> str:
    if path.label:
        return path.label
    if path.kind == "plan_limit":
        return "Hit plan limit"
    if path.kind == "usage_depth":
        if path.min_active_users is not None:
            return f"{evidence['active_users']} active users {_period(path.within_days)}"
        return f"{', '.join(path.events)} {evidence['events']} times {_period(path.within_days)}"
    if path.kind == "seat_growth":
        return f"+{evidence['increase']} seats {_period(path.within_days)}"
    return f"{path.name} in {evidence['span_days']:g} days"


def _evaluate_paths(
    compiled: CompiledVersion, facts: ScoringFacts, own_events: Sequence[EventFacts], fit: float, now: float
) -> tuple[PqlMatch, ...]:
    account = facts.account
    segment = account.attributes.get("segment") if account is not None else None
    matches: list[PqlMatch] = []
    for path in compiled.pql_paths:
        if path.segments is not None and segment not in path.segments:
            continue
        if path.fit_min is not None and fit < path.fit_min:
            continue
        events = facts.events if path.includes_account_events else own_events
        if path.kind == "activation":
            evidence = _activation(path, events, now)
        elif path.kind == "usage_depth":
            evidence = _usage_depth(path, events, now)
        elif path.kind == "seat_growth":
            evidence = _seat_growth(path, account.seats_history, now) if account is not None else None
        else:
            evidence = _plan_limit(path, events, now)
        if evidence is not None:
            matches.append(
                PqlMatch(name=path.name, kind=path.kind, summary=_path_summary(path, evidence), evidence=evidence)
            )
    return tuple(matches)


def evaluate_account_paths(compiled: CompiledVersion, facts: ScoringFacts, *, fit: float) -> tuple[PqlMatch, ...]:
    """The PQL paths an account satisfies on its own, with no person: those with scope "account"
    over `facts.events` (its events) and its seat history; a path with scope "lead" needs a
    person to do it. A path's `fit_min` is compared with the account's `fit`."""
    return _evaluate_paths(compiled, facts, (), fit, facts.now.timestamp())


# --- the one-line why ---------------------------------------------------------------------


def _why(pql_matches: Sequence[PqlMatch], hits: Sequence[RuleHit]) -> str:
    parts = [match.summary for match in pql_matches]
    engagement = sorted(
        (hit for hit in hits if hit.bucket == "engagement" and hit.points > 0 and hit.kind == "engagement"),
        key=lambda hit: -hit.points,
    )
    for hit in engagement:
        if len(parts) >= MAX_WHY_PARTS:
            break
        parts.append(f"{hit.label or hit.name}{_times(hit.count)}")
    negatives = [hit for hit in hits if hit.points < 0]
    if negatives and len(parts) < MAX_WHY_PARTS + 1:
        worst = min(negatives, key=lambda hit: hit.points)
        parts.append(worst.label or worst.name)
    if not parts:
        fit_hits = sorted((hit for hit in hits if hit.points > 0), key=lambda hit: -hit.points)[:2]
        parts = [hit.label or hit.name for hit in fit_hits] or ["No scoring activity yet"]
    return " · ".join(parts)


# --- entry point --------------------------------------------------------------------------


def evaluate(compiled: CompiledVersion, facts: ScoringFacts) -> ScoreResult:
    """Score one lead with a compiled rule version. Never raises on odd attribute values."""
    now = facts.now.timestamp()
    account_attributes = facts.account.attributes if facts.account is not None else {}
    context = {"lead": facts.lead.attributes, "account": account_attributes}
    hits: list[RuleHit] = []
    fit = 0.0
    engagement = 0.0

    for rule in compiled.attribute_rules:
        if not rule.predicate(context):
            continue
        # Only the attributes that are present: they are what made the rule fire.
        values = {}
        for field, get in zip(rule.fields, rule.getters, strict=True):
            value = get(context)
            if value is not MISSING:
                values[field] = value
        hits.append(
            RuleHit(
                kind=rule.kind,
                name=rule.name,
                points=_round(rule.points),
                count=1,
                bucket=rule.bucket,
                evidence={"values": values},
                label=rule.label,
            )
        )
        if rule.bucket == "fit":
            fit += rule.points
        else:
            engagement += rule.points

    own_events = [event for event in facts.events if not event.is_account_level]
    matches = _match_events(compiled, facts.events if compiled.event_rules_read_account else own_events, now)
    for rule in compiled.event_rules:
        matched = matches.get(rule.name)
        if not matched:
            continue
        hit = _score_event_rule(rule, matched)
        hits.append(hit)
        if rule.bucket == "fit":
            fit += hit.points
        else:
            engagement += hit.points

    fit, engagement = _round(fit), _round(engagement)
    total = _round(fit + engagement)
    thresholds = compiled.thresholds
    pql_matches = _evaluate_paths(compiled, facts, own_events, fit, now)
    return ScoreResult(
        fit=fit,
        engagement=engagement,
        total=total,
        grade=thresholds.grade(fit),
        is_mql=fit >= thresholds.fit_min and engagement >= thresholds.engagement_min and total >= thresholds.total_min,
        is_hot=thresholds.hot_total_min is not None and total >= thresholds.hot_total_min,
        pql=pql_matches[0] if pql_matches else None,
        pql_matches=pql_matches,
        hits=tuple(hits),
        why=_why(pql_matches, hits),
    )
