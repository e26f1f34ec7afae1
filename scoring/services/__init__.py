"""Scoring writes: drafts, publishing, rescoring, and the stage moves a score supports.

Services are the only bridge between rows and the pure engine: load rows,
build facts (selectors), call the engine, persist the result and its audit.
`versions` owns rule versions (drafts, validation, publishing); `rescoring`
owns scores (a lead's, a batch's stale leads, a whole publish's slices).
"""

from scoring.services.accounts import accounts_roll_up_again, accounts_with_stage_moves
from scoring.services.rescoring import (
    RESCORE_CHUNK_SIZE,
    SCORING_ACTOR,
    RescoreResult,
    lead_score_preview,
    leads_mark_for_rescore,
    leads_rescore,
    leads_rescore_for_batch,
    pending_rescore_count,
    pending_rescore_drain,
    rescore_progress_update,
    rescore_range,
    rescore_ranges,
    rescore_stalled_claim,
    stale_score_lead_ids,
)
from scoring.services.versions import (
    DEFAULT_VERSION_NAME,
    rule_check,
    rule_version_check,
    rule_version_clone,
    rule_version_create_from_document,
    rule_version_install_default,
    rule_version_publish,
)

__all__ = [
    "DEFAULT_VERSION_NAME",
    "RESCORE_CHUNK_SIZE",
    "SCORING_ACTOR",
    "RescoreResult",
    "accounts_roll_up_again",
    "accounts_with_stage_moves",
    "lead_score_preview",
    "leads_mark_for_rescore",
    "leads_rescore",
    "leads_rescore_for_batch",
    "pending_rescore_count",
    "pending_rescore_drain",
    "rescore_progress_update",
    "rescore_range",
    "rescore_ranges",
    "rescore_stalled_claim",
    "rule_check",
    "rule_version_check",
    "rule_version_clone",
    "rule_version_create_from_document",
    "rule_version_install_default",
    "rule_version_publish",
    "stale_score_lead_ids",
]
