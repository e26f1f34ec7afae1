"""Lead lifecycle: every stage change is recorded with when, who (or what) and why.

Scoring promotes leads in bulk (`leads_stage_transition_bulk`); staff change
stages by hand (`lead_stage_change`). Nothing else writes `Lead.stage`.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from leads.models import Lead, Stage, StageChange
from qualify_site.bulk_sql import bulk_insert

# Stages scoring may promote from. Recycled (nurture) leads can qualify again;
# anything a human has already taken further (accepted, SQL, ...) is theirs.
QUALIFIABLE_STAGES = frozenset({Stage.NEW, Stage.NURTURE, Stage.MQL})
QUALIFIED_STAGES = frozenset({Stage.MQL, Stage.PQL})
# The end of the road: nobody works these leads any more, so no assignment stays open.
TERMINAL_STAGES = frozenset({Stage.WON, Stage.LOST, Stage.DISQUALIFIED})
# Manual moves that must say why: the reason is what a manager reviews later.
STAGES_NEEDING_REASON = frozenset({Stage.NURTURE, Stage.DISQUALIFIED, Stage.LOST})


@dataclass(frozen=True)
class StageTransition:
    lead_id: int
    from_stage: str
    to_stage: str
    at: datetime
    actor_label: str
    reason: str
    evidence: dict = field(default_factory=dict)


def scoring_target_stage(*, current: str, supported: str | None, has_new_evidence: bool = True) -> str | None:
    """The stage scoring moves a lead to, or None to leave it.

    `supported` is what the score supports now ("pql", "mql" or None). PQL
    outranks MQL; a score drop never moves a lead backwards. A nurtured lead
    qualifies again only with `has_new_evidence` (an event newer than its move
    to nurture): a rep rejected it on what was known then, and a new rule
    version reading the same events is no reason to hand it back.
    """
    if supported is None or current not in QUALIFIABLE_STAGES or current == supported:
        return None
    if current == Stage.NURTURE and not has_new_evidence:
        return None
    if current == Stage.MQL and supported != Stage.PQL:
        return None
    return supported


def leads_stage_transition_bulk(*, transitions: list[StageTransition]) -> None:
    """Apply many transitions at once. The caller holds the leads' row locks
    (select_for_update) so `from_stage` is still true when this runs."""
    if not transitions:
        return
    # One UPDATE per (stage, time): scoring moves many leads to the same stage at once.
    groups: dict[tuple[str, datetime], list[int]] = {}
    for transition in transitions:
        groups.setdefault((transition.to_stage, transition.at), []).append(transition.lead_id)
    for (to_stage, at), lead_ids in groups.items():
        Lead.objects.filter(id__in=lead_ids).update(stage=to_stage, stage_changed_at=at, updated_at=at)
    # A publish can qualify thousands of leads at once: one bulk statement, no
    # evidence JSON rendered into SQL text in Python.
    bulk_insert(
        StageChange,
        ("lead_id", "from_stage", "to_stage", "changed_at", "actor_label", "reason", "evidence"),
        [(t.lead_id, t.from_stage, t.to_stage, t.at, t.actor_label, t.reason, t.evidence) for t in transitions],
    )


@transaction.atomic
def lead_stage_change(*, lead_id: int, to_stage: str, actor, reason: str = "", evidence: dict | None = None) -> Lead:
    """A person moves a lead to another stage, on the record."""
    if to_stage not in Stage.values:
        raise ValidationError({"to_stage": f"'{to_stage}' is not a stage; use one of {', '.join(Stage.values)}."})
    lead = Lead.objects.select_for_update().get(id=lead_id)
    if lead.stage == to_stage:
        raise ValidationError({"to_stage": f"The lead is already {lead.get_stage_display()}."})
    if to_stage in STAGES_NEEDING_REASON and not reason.strip():
        raise ValidationError({"reason": f"Say why the lead moves to {Stage(to_stage).label}."})
    now = timezone.now()
    StageChange.objects.create(
        lead=lead,
        from_stage=lead.stage,
        to_stage=to_stage,
        changed_at=now,
        actor=actor,
        reason=reason.strip(),
        evidence=evidence or {},
    )
    lead.stage = to_stage
    lead.stage_changed_at = now
    lead.save(update_fields=["stage", "stage_changed_at", "updated_at"])
    return lead
