"""A finished backtest's figures, summed from its steps' rows (read point by point: bounded memory).

For the version and the one it was compared with, at the same points and with the same rules:
- per point: candidates, converted, qualified and newly qualified, precision/recall/lift at
  capacity (the `capacity` best-scored, what the team could have worked) and at the threshold;
- pooled over the points whose horizon has passed: the same counts summed, and conversion by
  score band (band 1 is the best tenth at each point);
- who would have qualified and when (the first point), how many of them later reached SQL,
  opportunity or won (stage history and outcomes after that date);
- the candidates whose status would change (qualified by one and not the other), listed with
  both scores, and for leads the routing queue each would land in (routing's rule matching,
  which decides a queue without assigning anyone): the change in routed volume per queue.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from types import SimpleNamespace

from django.utils import timezone

from insights.engine.measures import Scored, at_capacity, at_threshold, score_bands
from insights.engine.stats import Rate, lift
from insights.models import BacktestRun, BacktestUnit
from insights.selectors.backtest import backtest_run_points, is_positive
from leads.facts import score_facts, with_fact_columns
from leads.models import Lead, Outcome, OutcomeKind, Stage, StageChange
from routing.engine import RoutingPolicyError, match_rule
from routing.models import Queue
from routing.selectors.policy import routing_facts, routing_policy_compiled

CHANGES_LISTED = 500
QUALIFIED_LISTED = 500
READ_CHUNK = 5000  # ids per IN list
BANDS = 10
SIDES = ("version", "compared")


def _rows_by_point(run: BacktestRun, point: int) -> Iterable[list]:
    for rows in run.parts.filter(point=point).order_by("step").values_list("rows", flat=True).iterator():
        yield from rows


class _Side:
    """Running sums for one version over the points."""

    def __init__(self):
        self.first: dict[int, int] = {}  # candidate id -> index of the first point it qualified at
        self.capacity = [0, 0]  # hits, selected
        self.threshold = [0, 0]
        self.bands: dict[int, list] = {}  # band -> [converted, total, low score, high score]

    def add_point(self, rows: list[Scored], capacity: int) -> dict:
        top, qualified, bands = at_capacity(rows, capacity), at_threshold(rows), score_bands(rows, BANDS)
        return {
            "at_capacity": top.to_dict(),
            "at_threshold": qualified.to_dict(),
            "bands": [b.to_dict() for b in bands],
        }

    def pool(self, point: dict) -> None:
        for name, sums in (("at_capacity", self.capacity), ("at_threshold", self.threshold)):
            sums[0] += point[name]["precision"]["count"]
            sums[1] += point[name]["selected"]
        for band in point["bands"]:
            sums = self.bands.setdefault(band["band"], [0, 0, band["low_score"], band["high_score"]])
            sums[0] += band["converted"]["count"]
            sums[1] += band["converted"]["total"]
            sums[2], sums[3] = min(sums[2], band["low_score"]), max(sums[3], band["high_score"])

    def pooled(self, positives: int, candidates: int) -> dict:
        base = Rate(positives, candidates)

        def selection(hits: int, selected: int) -> dict:
            precision = Rate(hits, selected)
            return {
                "selected": selected,
                "precision": precision.to_dict(),
                "recall": Rate(hits, positives).to_dict(),
                "base_rate": base.to_dict(),
                "lift": lift(precision, base),
            }

        bands = []
        for number, (converted, total, low, high) in sorted(self.bands.items()):
            rate = Rate(converted, total)
            bands.append(
                {
                    "band": number,
                    "low_score": low,
                    "high_score": high,
                    "converted": rate.to_dict(),
                    "lift": lift(rate, base),
                }
            )
        return {
            "at_capacity": selection(*self.capacity),
            "at_threshold": selection(*self.threshold),
            "bands": bands,
        }


def backtest_results(*, run: BacktestRun, now: datetime | None = None) -> dict:
    """The run's figures from its parts (see the module docstring); JSON-ready."""
    now = now or timezone.now()
    points = backtest_run_points(run)
    has_compared = run.compared_version_id is not None
    sides = {name: _Side() for name in SIDES}
    details: dict[int, tuple[int, dict]] = {}  # where the versions disagreed first
    keys: dict[int, str] = {}  # the address of everyone either version qualified
    per_point, pooled_positives, pooled_candidates, complete_points = [], 0, 0, 0
    for index, as_of in enumerate(points):
        rows = list(_rows_by_point(run, index))
        labels_complete = as_of + timedelta(days=run.horizon_days) <= now
        entry = {"as_of": as_of.date().isoformat(), "labels_complete": labels_complete, "candidates": len(rows)}
        entry["positives"] = sum(is_positive(row[5], run.positive) for row in rows)
        for name, (score_at, qualified_at) in zip(SIDES, ((1, 2), (3, 4)), strict=True):
            if name == "compared" and not has_compared:
                continue
            side = sides[name]
            scored = [
                Scored(
                    id=row[0],
                    score=row[score_at],
                    is_qualified=bool(row[qualified_at]),
                    is_positive=is_positive(row[5], run.positive),
                )
                for row in rows
            ]
            figures = side.add_point(scored, run.capacity)
            figures["qualified"] = sum(1 for row in scored if row.is_qualified)
            figures["newly_qualified"] = 0
            for row in scored:
                if row.is_qualified and row.id not in side.first:
                    side.first[row.id] = index
                    figures["newly_qualified"] += 1
            if labels_complete:
                side.pool(figures)
            entry[name] = figures
        for row in rows:
            if len(row) > 6:
                keys.setdefault(row[0], row[6]["key"])
                if "version" in row[6] and row[0] not in details:
                    details[row[0]] = (index, row[6])
        if labels_complete:
            complete_points += 1
            pooled_positives += entry["positives"]
            pooled_candidates += len(rows)
        per_point.append(entry)
    results = {
        "points": [point.date().isoformat() for point in points],
        "positive": run.positive,
        "capacity": run.capacity,
        "complete_points": complete_points,
        "per_point": per_point,
    }
    for name in SIDES:
        if name == "compared" and not has_compared:
            results[name] = None
            continue
        side = sides[name]
        summary = side.pooled(pooled_positives, pooled_candidates)
        summary["qualified"] = len(side.first)
        summary["reached"] = _reached_after(run.unit, {cid: points[index] for cid, index in side.first.items()})
        results[name] = summary
    results["qualified_listed"] = _qualified(points, sides, keys)
    if has_compared:
        results["changes"] = _changes(run, points, sides, details)
    return results


def _qualified(points: list[datetime], sides: dict, keys: dict[int, str]) -> list[dict]:
    """Who the version would have qualified and when, first come first, with when the compared one did."""
    ours, theirs = sides["version"].first, sides["compared"].first
    order = sorted(ours, key=lambda candidate_id: (ours[candidate_id], candidate_id))[:QUALIFIED_LISTED]
    return [
        {
            "id": candidate_id,
            "key": keys.get(candidate_id, ""),
            "version": points[ours[candidate_id]].date().isoformat(),
            "compared": points[theirs[candidate_id]].date().isoformat() if candidate_id in theirs else None,
        }
        for candidate_id in order
    ]


# --- What happened after qualifying ------------------------------------------------------------

REACHED = {
    "sql": (
        {Stage.SQL, Stage.OPPORTUNITY, Stage.WON, Stage.LOST},
        {OutcomeKind.OPPORTUNITY, OutcomeKind.CLOSED_WON, OutcomeKind.CLOSED_LOST},
    ),
    "opportunity": (
        {Stage.OPPORTUNITY, Stage.WON, Stage.LOST},
        {OutcomeKind.OPPORTUNITY, OutcomeKind.CLOSED_WON, OutcomeKind.CLOSED_LOST},
    ),
    "won": ({Stage.WON}, {OutcomeKind.CLOSED_WON}),
}


def _reached_after(unit: str, first: dict[int, datetime]) -> dict[str, int]:
    """How many of the qualified later reached SQL, opportunity (or a closed deal) and won:
    from stage history and outcomes at or after the first point they qualified at. An outcome
    naming an account and no lead credits the account's leads, as the snapshot's labels do."""
    stages = set().union(*(stages for stages, _ in REACHED.values()))
    kinds = set().union(*(kinds for _, kinds in REACHED.values()))
    is_account = unit == BacktestUnit.ACCOUNT
    # The leads concerned, with their accounts: the qualified leads, or the qualified accounts' leads.
    account_of: dict[int, int | None] = {}
    ids = list(first)
    for start in range(0, len(ids), READ_CHUNK):
        leads = Lead.objects.filter(**{"account_id__in" if is_account else "id__in": ids[start : start + READ_CHUNK]})
        account_of.update(leads.values_list("id", "account_id"))
    lead_ids = list(account_of)
    members: dict[int, list[int]] = defaultdict(list)
    for lead_id, account_id in account_of.items():
        if account_id is not None:
            members[account_id].append(lead_id)
    # (candidate, stage or kind, when)
    moments: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    for start in range(0, len(lead_ids), READ_CHUNK):
        moves = StageChange.objects.filter(lead_id__in=lead_ids[start : start + READ_CHUNK], to_stage__in=stages)
        for lead_id, stage, at in moves.values_list("lead_id", "to_stage", "changed_at"):
            moments[account_of[lead_id] if is_account else lead_id].append((stage, at))
    outcomes = Outcome.objects.filter(kind__in=kinds).values_list("lead_id", "account_id", "kind", "occurred_at")
    for lead_id, account_id, kind, at in outcomes.iterator():
        if is_account:
            owners = [account_id or account_of.get(lead_id)]
        else:
            owners = [lead_id] if lead_id else members.get(account_id, [])
        for owner in owners:
            if owner in first:
                moments[owner].append((kind, at))
    counts = dict.fromkeys(REACHED, 0)
    for candidate_id, since in first.items():
        later = {what for what, at in moments.get(candidate_id, ()) if at >= since}
        for name, (reached_stages, reached_kinds) in REACHED.items():
            counts[name] += bool(later & (reached_stages | reached_kinds))
    return counts


# --- Status changes and routed volume ----------------------------------------------------------


def _changes(run: BacktestRun, points: list[datetime], sides: dict, details: dict) -> dict:
    ours, theirs = sides["version"].first, sides["compared"].first
    newly = [cid for cid in ours if cid not in theirs]
    dropped = [cid for cid in theirs if cid not in ours]
    both = [cid for cid in ours if cid in theirs]
    listed = []
    for candidate_id in newly + dropped:
        index, detail = details.get(candidate_id, (None, {}))
        listed.append(
            {
                "id": candidate_id,
                "key": detail.get("key", ""),
                "change": "newly qualified" if candidate_id in ours else "no longer qualified",
                "first_qualified": points[ours.get(candidate_id, theirs.get(candidate_id))].date().isoformat(),
                "point": index,
                "version": detail.get("version"),
                "compared": detail.get("compared"),
            }
        )
    listed.sort(key=lambda item: (-max((item[side] or {}).get("total", 0) for side in SIDES), item["id"]))
    queues = _queue_impact(listed, points) if run.unit == BacktestUnit.LEAD else None
    return {
        "newly_qualified": len(newly),
        "no_longer_qualified": len(dropped),
        "earlier": sum(1 for cid in both if ours[cid] < theirs[cid]),
        "later": sum(1 for cid in both if ours[cid] > theirs[cid]),
        "listed": listed[:CHANGES_LISTED],
        "is_truncated": len(listed) > CHANGES_LISTED,
        "queues": queues,
    }


def _queue_impact(changed: list[dict], points: list[datetime]) -> list[dict] | None:
    """Per routing queue: how many more (newly qualified) and fewer (no longer) leads it would get,
    by today's routing rules over each lead's facts, with the score of the version that qualified it."""
    try:
        policy = routing_policy_compiled()
    except RoutingPolicyError:
        return None  # no fallback queue: routing is not set up, nothing would be routed anywhere
    by_queue: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    by_id = {item["id"]: item for item in changed if item["point"] is not None}
    ids = list(by_id)
    for start in range(0, len(ids), 1000):
        leads = Lead.objects.filter(id__in=ids[start : start + 1000]).select_related("account", "score")
        for lead in with_fact_columns(leads):
            item = by_id[lead.id]
            is_new = item["change"] == "newly qualified"
            facts = routing_facts(lead, account_owner_id=None, account_rep_ids=(), as_of=points[item["point"]])
            # The score routing would have read: the one of the version that qualified the lead.
            score = SimpleNamespace(**(item["version"] if is_new else item["compared"]))
            queue_id = match_rule(policy, replace(facts, score=score_facts(score))).queue_id
            item["queue_id"] = queue_id
            by_queue[queue_id][0 if is_new else 1] += 1
    names = dict(Queue.objects.filter(id__in=list(by_queue)).values_list("id", "name"))
    return [
        {
            "queue_id": queue_id,
            "queue": names.get(queue_id, f"queue {queue_id}"),
            "more": more,
            "fewer": fewer,
            "net": more - fewer,
        }
        for queue_id, (more, fewer) in sorted(by_queue.items(), key=lambda pair: -(pair[1][0] + pair[1][1]))
    ]
