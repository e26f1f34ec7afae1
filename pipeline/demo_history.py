"""The demo world's stage history, dated when it would have happened.

`seed_demo` sends months of simulated events through ingestion and scores them at the wall clock,
so scoring's stage changes are all dated at the seed's moment, and the outcomes' moves, which never
precede the lead's current stage (routing.services.outcomes), are dated then too: every MQL would
sit in one cohort, each step taking no time. Production history is dated as it happens; this is for
the demo only, run once the world is loaded, scored and its outcomes recorded:

- a lead's first move to MQL or PQL by scoring is dated at the first moment the live rule version
  would have qualified it, replayed with `scores_as_of` once a day over the world's history (the
  lead's last event before that moment, when one came since the day before: what tipped it), never
  later than the lead's first outcome or first assignment; scoring's later moves (MQL to PQL) at the
  first replayed moment, from the move before them on, when the version gave that stage;
- a move an outcome made (the evidence names it) is dated when the outcome happened (a closed deal's
  opportunity step when it was opened);
- a rep's move keeps its time;
- each move is then kept between the one before it and `now`, and `Lead.stage_changed_at` follows
  the latest. Nothing else is written: assignments (the SLA demo's ages) keep their times.

A handful of queries whatever the size of the world, plus the replay's (a few per day replayed).
"""

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Min

from leads.models import Event, Lead, Outcome, OutcomeKind, Stage, StageChange
from routing.models import Assignment
from routing.services.outcomes import ACTOR_LABEL as OUTCOME_ACTOR
from scoring.selectors import rule_version_live
from scoring.services.point_in_time import scores_as_of
from scoring.services.rescoring import SCORING_ACTOR

QUALIFIED_STAGES = (Stage.MQL, Stage.PQL)
REPLAY_STEP = timedelta(days=1)
BULK_BATCH = 1000
CLOSED_KINDS = (OutcomeKind.CLOSED_WON, OutcomeKind.CLOSED_LOST)


@dataclass(frozen=True)
class _Change:
    id: int
    lead_id: int
    to_stage: str
    changed_at: datetime
    actor_label: str
    outcome_id: int | None
    opening: bool  # the opportunity step of a closed deal, dated when it was opened


def demo_history_redate(*, source_ids: Iterable[int], start: datetime, now: datetime) -> int:
    """Re-date the stage history of the leads of the demo sources `source_ids`, whose world runs
    from `start` to `now` (see the module). Returns how many stage changes moved."""
    changes = _changes(Lead.objects.filter(source_id__in=list(source_ids)))
    if not changes:
        return 0
    by_lead: dict[int, list[_Change]] = defaultdict(list)
    for change in changes:
        by_lead[change.lead_id].append(change)
    outcomes = {
        row[0]: row[1:]
        for row in Outcome.objects.filter(id__in={c.outcome_id for c in changes if c.outcome_id}).values_list(
            "id", "occurred_at", "opened_at"
        )
    }
    wanted: dict[int, set[str]] = defaultdict(set)
    for change in changes:
        if change.actor_label == SCORING_ACTOR:
            wanted[change.lead_id].add(change.to_stage)
    replay = _Replay.run(wanted=wanted, start=start, now=now)
    first_assigned = dict(
        Assignment.objects.filter(lead_id__in=list(wanted), assigned_at__isnull=False)
        .values("lead_id")
        .annotate(first=Min("assigned_at"))
        .values_list("lead_id", "first")
    )
    moved, last_at = [], {}
    for lead_id, history in by_lead.items():
        dated = _history_date(
            history, replay=replay, outcomes=outcomes, first_assigned=first_assigned.get(lead_id), now=now
        )
        moved += [StageChange(id=change.id, changed_at=at) for change, at in dated if at != change.changed_at]
        last_at[lead_id] = dated[-1][1]
    stored = Lead.objects.filter(id__in=list(last_at)).values_list("id", "stage_changed_at")
    leads = [Lead(id=lead_id, stage_changed_at=last_at[lead_id]) for lead_id, at in stored if at != last_at[lead_id]]
    with transaction.atomic():
        StageChange.objects.bulk_update(moved, ["changed_at"], batch_size=BULK_BATCH)
        Lead.objects.bulk_update(leads, ["stage_changed_at"], batch_size=BULK_BATCH)
    return len(moved)


def _history_date(
    history: list[_Change],
    *,
    replay: "_Replay",
    outcomes: dict[int, tuple[datetime, datetime | None]],
    first_assigned: datetime | None,
    now: datetime,
) -> list[tuple[_Change, datetime]]:
    """Each of a lead's stage changes (in the order made) with the moment it would have happened."""
    lead_id = history[0].lead_id
    # Qualified by the first of its outcomes or its first assignment at the latest.
    caps = [_outcome_time(change, outcomes) for change in history if change.outcome_id in outcomes]
    cap = min([now, *caps, *([first_assigned] if first_assigned else [])])
    dated, latest, qualified = [], None, False
    for change in history:
        at = change.changed_at  # a rep's move keeps its time
        if change.outcome_id in outcomes:
            at = _outcome_time(change, outcomes)
        elif change.actor_label == SCORING_ACTOR:
            if change.to_stage in QUALIFIED_STAGES and not qualified:
                at = min(replay.first(lead_id, QUALIFIED_STAGES, after=None) or cap, cap)
            else:
                at = replay.first(lead_id, (change.to_stage,), after=latest) or latest or now
        qualified |= change.to_stage in QUALIFIED_STAGES
        # Never before the move before it, never after the world's end.
        latest = min(max(at, latest) if latest else at, now)
        dated.append((change, latest))
    return dated


def _changes(leads) -> list[_Change]:
    rows = (
        StageChange.objects.filter(lead__in=leads)
        .order_by("lead_id", "id")
        .values_list("id", "lead_id", "to_stage", "changed_at", "actor_label", "evidence")
    )
    changes = []
    for change_id, lead_id, to_stage, changed_at, actor_label, evidence in rows:
        by_outcome = actor_label == OUTCOME_ACTOR and isinstance(evidence, dict)
        outcome_id = evidence.get("outcome_id") if by_outcome else None
        opening = by_outcome and to_stage == Stage.OPPORTUNITY and evidence.get("kind") in CLOSED_KINDS
        changes.append(_Change(change_id, lead_id, to_stage, changed_at, actor_label, outcome_id, opening))
    return changes


def _outcome_time(change: _Change, outcomes: dict[int, tuple[datetime, datetime | None]]) -> datetime:
    occurred_at, opened_at = outcomes[change.outcome_id]
    return opened_at if change.opening and opened_at is not None else occurred_at


@dataclass
class _Replay:
    """The stage the live version gave each lead at each moment replayed, and the lead's events'
    times, to say when it would have reached a stage."""

    moments: list[datetime]
    stages: dict[int, list[str]]  # lead id -> the stage at each moment
    events: dict[int, list[datetime]]  # lead id -> its events' times, in order

    @classmethod
    def run(cls, *, wanted: dict[int, set[str]], start: datetime, now: datetime) -> "_Replay":
        """Replay each lead of `wanted` (lead id -> the stages scoring moved it to) once a day from
        `start` to `now`, until it has had each of them: the rest of the replay is not needed."""
        version = rule_version_live()
        moments, stages = [], defaultdict(list)
        if version is None or not wanted:
            return cls(moments, stages, {})
        pending = {lead_id: set(wanted_stages) for lead_id, wanted_stages in wanted.items()}
        moment = start + REPLAY_STEP
        while pending and moment < now + REPLAY_STEP:
            moment = min(moment, now)
            known = dict.fromkeys(pending, Stage.NEW)
            scores = scores_as_of(version=version, as_of=moment, lead_ids=list(pending))
            known.update((lead_id, result.stage) for lead_id, result in scores)
            for lead_id, stage in known.items():
                stages[lead_id].append(stage)
                # Qualified as either: the first qualification is dated by whichever came first.
                pending[lead_id] -= set(QUALIFIED_STAGES) if stage in QUALIFIED_STAGES else {stage}
                if not pending[lead_id]:
                    del pending[lead_id]
            moments.append(moment)
            moment += REPLAY_STEP
        events = defaultdict(list)
        rows = Event.objects.filter(lead_id__in=list(wanted), timestamp__lte=now).order_by("lead_id", "timestamp")
        for lead_id, timestamp in rows.values_list("lead_id", "timestamp"):
            events[lead_id].append(timestamp)
        return cls(moments, stages, events)

    def first(self, lead_id: int, stages: tuple[str, ...], *, after: datetime | None) -> datetime | None:
        """When the lead first had one of `stages` at or after `after`: the first replayed moment
        giving it, or the lead's last event before that moment if one came since the moment before."""
        for index, stage in enumerate(self.stages.get(lead_id, [])):
            moment = self.moments[index]
            if after is not None and moment < after:
                continue
            if stage in stages:
                previous = self.moments[index - 1] if index else moment - REPLAY_STEP
                times = self.events.get(lead_id, [])
                position = bisect_left(times, moment)
                tipped = times[position - 1] if position else None
                if tipped is not None and tipped > max(previous, after or previous):
                    return tipped
                return moment
        return None
