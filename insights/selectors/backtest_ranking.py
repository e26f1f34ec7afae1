"""Where each candidate of a snapshot stood as of its moment: the stage a ranking CSV shows."""

from datetime import datetime

from insights.selectors.snapshot import Snapshot
from leads.models import Stage, StageChange

# For an account, the furthest any of its candidate leads had got.
STAGE_ORDER = [Stage.NEW, Stage.NURTURE, Stage.MQL, Stage.PQL, Stage.ACCEPTED, Stage.SQL, Stage.OPPORTUNITY]


def lead_stages_as_of(*, lead_ids: list[int], as_of: datetime) -> dict[int, str]:
    """Each lead's stage just before `as_of`, from its stage history (New when it had not moved)."""
    stages = dict.fromkeys(lead_ids, Stage.NEW.value)
    for start in range(0, len(lead_ids), 5000):
        moves = StageChange.objects.filter(lead_id__in=lead_ids[start : start + 5000], changed_at__lt=as_of)
        # Oldest first: the last move written wins.
        for lead_id, stage in moves.order_by("changed_at", "id").values_list("lead_id", "to_stage"):
            stages[lead_id] = stage
    return stages


def candidate_stages(*, snapshot: Snapshot, as_of: datetime) -> dict[int, str]:
    """Candidate id -> its stage as of the moment (an account: its furthest lead's)."""
    if snapshot.unit == "lead":
        return lead_stages_as_of(lead_ids=[candidate.id for candidate in snapshot.candidates], as_of=as_of)
    lead_ids = [lead_id for candidate in snapshot.candidates for lead_id in candidate.lead_ids]
    by_lead = lead_stages_as_of(lead_ids=lead_ids, as_of=as_of)

    def rank(stage: str) -> int:
        return STAGE_ORDER.index(stage) if stage in STAGE_ORDER else -1

    return {
        candidate.id: max((by_lead[lead_id] for lead_id in candidate.lead_ids), key=rank, default=Stage.NEW.value)
        for candidate in snapshot.candidates
    }
