"""Rescoring: score leads with a version, persist scores, history and the stage moves a score
supports; the incremental path (mark, drain) and the full rescore's slices after a publish."""

import operator
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from leads.models import Event, Lead, Stage
from leads.services.stages import (
    QUALIFIED_STAGES,
    StageTransition,
    leads_stage_transition_bulk,
    scoring_target_stage,
)
from qualify_site.bulk_sql import bulk_insert, fetch_value, is_postgresql
from scoring.engine import ScoreResult, evaluate
from scoring.engine.horizons import event_horizons
from scoring.models import LeadScore, PendingRescore, RuleVersion, ScoreChange, VersionStatus
from scoring.selectors import (
    account_signals,
    leads_for_scoring,
    rule_version_compiled,
    rule_version_live,
    scoring_facts_for_leads,
)
from scoring.services.accounts import accounts_rescore

RESCORE_CHUNK_SIZE = 1000
SCORING_ACTOR = "scoring"


@dataclass(frozen=True)
class RescoreResult:
    scored: int
    changed: int
    qualified_lead_ids: tuple[int, ...] = ()
    hot_lead_ids: tuple[int, ...] = ()


def lead_score_preview(
    *, lead: Lead, version: RuleVersion, now: datetime | None = None, as_of: datetime | None = None
) -> ScoreResult:
    """What `version` would score for `lead` now, or as of a past moment (`as_of`: only what
    was known strictly before it), without saving anything."""
    compiled = rule_version_compiled(version)
    clock = as_of or now or timezone.now()
    lead = leads_for_scoring().get(id=lead.id)
    facts = scoring_facts_for_leads(
        leads=[lead],
        now=None if as_of else clock,
        as_of=as_of,
        since=clock - timedelta(days=compiled.max_window_days),
        horizons=event_horizons(compiled),
        account_horizons=event_horizons(compiled, account_level=True),
    )[lead.id]
    return evaluate(compiled, facts)


# What a stored score says, in this order: equal summaries mean nothing to write
# but the time it was checked.
_SUMMARY_FIELDS = ("version_id", "fit", "engagement", "total", "grade", "is_mql", "is_hot", "pql_path", "why")
_SUMMARY_FIELDS += ("is_below_threshold_since_qualification",)


# What a score change records: the summary without the hot flag, the one-line why
# and the below-threshold flag.
_CHANGE_FIELDS = ("version_id", "fit", "engagement", "total", "grade", "is_mql", "pql_path")
_change_key = operator.itemgetter(*(_SUMMARY_FIELDS.index(name) for name in _CHANGE_FIELDS))


def _supports(stage: str, result: ScoreResult) -> bool:
    if stage == Stage.PQL:
        return result.pql is not None
    if stage == Stage.MQL:
        return result.pql is not None or result.is_mql
    return True


def _evidence(version: RuleVersion, result: ScoreResult) -> dict:
    return {
        "rule_version": version.number,
        "rule_version_id": version.id,
        "pql_path": result.pql_path,
        "pql": result.pql.to_dict() if result.pql else None,
        "fit": result.fit,
        "engagement": result.engagement,
        "total": result.total,
        "rules": [{"name": hit.name, "points": hit.points, "count": hit.count} for hit in result.hits],
        "why": result.why,
    }


def _nurtured_with_new_evidence(leads: list[Lead]) -> set[int]:
    """The nurtured leads with an event newer than their move to nurture: the only ones that may qualify again."""
    moved_at = {lead.id: lead.stage_changed_at for lead in leads if lead.stage == Stage.NURTURE}
    if not moved_at:
        return set()
    latest = Event.objects.filter(lead_id__in=moved_at).values("lead_id").annotate(latest=Max("timestamp"))
    return {row["lead_id"] for row in latest if row["latest"] > moved_at[row["lead_id"]]}


def _rescore_chunk(*, lead_ids: list[int], version: RuleVersion, now: datetime) -> RescoreResult:
    compiled = rule_version_compiled(version)
    since = now - timedelta(days=compiled.max_window_days)
    with_context = account_signals(compiled).uses_context
    with transaction.atomic():
        # Row locks in id order: a stage move decided here is still valid when
        # written, and two workers rescoring overlapping leads cannot deadlock.
        leads = list(leads_for_scoring().select_for_update(of=("self",)).filter(id__in=lead_ids).order_by("id"))
        if not leads:
            return RescoreResult(0, 0, ())
        facts = scoring_facts_for_leads(
            leads=leads,
            now=now,
            since=since,
            with_context=with_context,
            horizons=event_horizons(compiled),
            account_horizons=event_horizons(compiled, account_level=True),
        )
        # Stored summaries as tuples (_SUMMARY_FIELDS): a full rescore compares
        # thousands of them and model instances would cost more than the comparing.
        existing = {
            row[0]: row[1:]
            for row in LeadScore.objects.filter(lead_id__in=[lead.id for lead in leads]).values_list(
                "lead_id", *_SUMMARY_FIELDS
            )
        }
        scores, changes, transitions, unchanged, hot = [], [], [], [], []
        with_new_evidence = _nurtured_with_new_evidence(leads)
        for lead in leads:
            result = evaluate(compiled, facts[lead.id])
            target = scoring_target_stage(
                current=lead.stage, supported=result.stage, has_new_evidence=lead.id in with_new_evidence
            )
            stage_after = target or lead.stage
            if target:
                transitions.append(
                    StageTransition(
                        lead_id=lead.id,
                        from_stage=lead.stage,
                        to_stage=target,
                        at=now,
                        actor_label=SCORING_ACTOR,
                        reason=f"Rule version {version.number}: {result.why or target.upper()}",
                        evidence=_evidence(version, result),
                    )
                )
            summary = (
                version.id,
                result.fit,
                result.engagement,
                result.total,
                result.grade,
                result.is_mql,
                result.is_hot,
                result.pql_path or "",
                result.why[:300],
                # Qualification is not silently undone when a score decays:
                # the lead keeps its stage and managers see this flag.
                stage_after in QUALIFIED_STAGES and not _supports(stage_after, result),
            )
            previous = existing.get(lead.id)
            if previous == summary:
                # Same numbers, same one-line why: only the time it was checked moves.
                unchanged.append(lead.id)
            else:
                scores.append((lead.id, *summary, result.to_dict(), now))
            if result.is_hot and (previous is None or not previous[6]):
                hot.append(lead.id)
            if previous is None or _change_key(previous) != _change_key(summary):
                changes.append((lead.id, *_change_key(summary), now))
        bulk_insert(LeadScore, _SCORE_ROW, scores, upsert_on="lead_id")
        if unchanged:
            LeadScore.objects.filter(lead_id__in=unchanged).update(computed_at=now)
        bulk_insert(ScoreChange, _CHANGE_ROW, changes)
        leads_stage_transition_bulk(transitions=transitions)
        # The accounts roll up from their leads as they now stand (scores and stages).
        accounts_rescore(account_ids={lead.account_id for lead in leads if lead.account_id}, version=version, now=now)
    return RescoreResult(
        scored=len(leads),
        changed=len(changes),
        qualified_lead_ids=tuple(t.lead_id for t in transitions),
        hot_lead_ids=tuple(hot),
    )


_SCORE_ROW = ("lead_id", *_SUMMARY_FIELDS, "explanation", "computed_at")
_CHANGE_ROW = ("lead_id", *_CHANGE_FIELDS, "changed_at")


def leads_rescore(
    *, lead_ids: Iterable[int], version: RuleVersion | None = None, now: datetime | None = None
) -> RescoreResult:
    """Score the given leads with `version` (default: the live one) and persist
    scores, history and stage moves. Bounded chunks, each in its own transaction."""
    version = version or rule_version_live()
    if version is None:
        return RescoreResult(0, 0, ())
    now = now or timezone.now()
    ids = sorted(set(lead_ids))
    scored = changed = 0
    qualified: list[int] = []
    hot: list[int] = []
    for start in range(0, len(ids), RESCORE_CHUNK_SIZE):
        result = _rescore_chunk(lead_ids=ids[start : start + RESCORE_CHUNK_SIZE], version=version, now=now)
        scored += result.scored
        changed += result.changed
        qualified.extend(result.qualified_lead_ids)
        hot.extend(result.hot_lead_ids)
    return RescoreResult(scored, changed, tuple(qualified), tuple(hot))


def leads_rescore_for_batch(*, batch_id: str) -> RescoreResult:
    """Score now what a batch touched (tests, the demo loader): mark, then drain."""
    leads_mark_for_rescore(batch_id=batch_id)
    return pending_rescore_drain(limit=None)


def _lead_ids_touched_by_batch(*, batch_id: str) -> set[int]:
    """Each lead the batch's events belong to, plus every lead of an account
    that received an event account-level rules read."""
    version = rule_version_live()
    if version is None:
        return set()
    signals = account_signals(rule_version_compiled(version))
    touched = Event.objects.filter(batch_id=batch_id).values_list("lead_id", "account_id", "type", "event").distinct()
    lead_ids, account_ids = set(), set()
    for lead_id, account_id, kind, name in touched:
        if lead_id:
            lead_ids.add(lead_id)
        # Only events that account-level rules read move the account's other leads.
        if account_id and signals.affects_account(kind=kind, name=name):
            account_ids.add(account_id)
    if account_ids:
        lead_ids.update(
            Lead.objects.filter(account_id__in=account_ids, merged_into__isnull=True).values_list("id", flat=True)
        )
    return lead_ids


def leads_mark_for_rescore(*, batch_id: str) -> int:
    """Incremental scoring, step one: note which leads a processed batch made stale.

    Returns how many leads the batch touched (already pending ones included)."""
    if not is_postgresql():
        lead_ids = _lead_ids_touched_by_batch(batch_id=batch_id)
        now = timezone.now()
        PendingRescore.objects.bulk_create(
            [PendingRescore(lead_id=lead_id, marked_at=now) for lead_id in lead_ids], ignore_conflicts=True
        )
        return len(lead_ids)
    version = rule_version_live()
    if version is None:
        return 0
    signals = account_signals(rule_version_compiled(version))
    # What _lead_ids_touched_by_batch does, in one statement: this runs once per
    # processed batch, and the ORM round trips cost a tenth of processing it.
    return fetch_value(
        f"""
        WITH touched AS (
            SELECT DISTINCT lead_id, account_id, type, event FROM {Event._meta.db_table} WHERE batch_id = %s
        ), stale AS (
            SELECT lead_id AS id FROM touched WHERE lead_id IS NOT NULL
            UNION
            -- = ANY(ARRAY(...)): the account index whatever the planner's statistics say.
            SELECT id FROM {Lead._meta.db_table} WHERE merged_into_id IS NULL AND account_id = ANY(ARRAY(
                SELECT account_id FROM touched WHERE account_id IS NOT NULL
                AND (%s OR type = 'group' OR type = ANY(%s) OR event = ANY(%s))
            ))
        ), marked AS (
            INSERT INTO {PendingRescore._meta.db_table} (lead_id, marked_at) SELECT id, %s FROM stale
            ON CONFLICT DO NOTHING
        )
        SELECT count(*) FROM stale
        """,  # noqa: S608 - table names are ours
        [batch_id, signals.any_event, list(signals.event_types), list(signals.event_names), timezone.now()],
    )


def pending_rescore_drain(*, limit: int | None = RESCORE_CHUNK_SIZE) -> RescoreResult:
    """Incremental scoring, step two: rescore up to `limit` stale leads (None: all).

    Rows are claimed with SKIP LOCKED, so concurrent drains share the work, and
    deleted in the transaction that writes the scores.
    """
    scored = changed = 0
    qualified: list[int] = []
    hot: list[int] = []
    while True:
        chunk = RESCORE_CHUNK_SIZE if limit is None else min(RESCORE_CHUNK_SIZE, limit - scored)
        if chunk <= 0:
            break
        with transaction.atomic():
            claimed = list(
                PendingRescore.objects.select_for_update(skip_locked=True)
                .order_by("marked_at")
                .values_list("lead_id", flat=True)[:chunk]
            )
            if not claimed:
                break
            result = leads_rescore(lead_ids=claimed)
            PendingRescore.objects.filter(lead_id__in=claimed).delete()
        scored += len(claimed)
        changed += result.changed
        qualified.extend(result.qualified_lead_ids)
        hot.extend(result.hot_lead_ids)
    return RescoreResult(scored, changed, tuple(qualified), tuple(hot))


def pending_rescore_count() -> int:
    return PendingRescore.objects.count()


def rescore_ranges(*, chunk_size: int = RESCORE_CHUNK_SIZE, version_id: int | None = None) -> list[tuple[int, int]]:
    """Split all scoreable leads into id ranges of about `chunk_size` leads, for fan-out;
    with `version_id`, only the leads it has not scored yet (a resumed rescore does the rest)."""
    leads = Lead.objects.filter(merged_into__isnull=True)
    if version_id is not None:
        leads = leads.exclude(score__version_id=version_id)
    ids = list(leads.order_by("id").values_list("id", flat=True))
    return [(ids[i], ids[min(i + chunk_size, len(ids)) - 1]) for i in range(0, len(ids), chunk_size)]


def rescore_range(*, version_id: int, first_id: int, last_id: int) -> RescoreResult:
    """One bounded slice of the full rescore after publishing. Idempotent."""
    version = RuleVersion.objects.get(id=version_id)
    if version.status != VersionStatus.PUBLISHED:
        return RescoreResult(0, 0)  # superseded while queued: the newer version's rescore covers these leads
    ids = list(
        Lead.objects.filter(id__gte=first_id, id__lte=last_id, merged_into__isnull=True).values_list("id", flat=True)
    )
    result = leads_rescore(lead_ids=ids, version=version)
    rescore_progress_update(version_id=version_id)
    return result


def rescore_progress_update(*, version_id: int, is_complete: bool = False) -> None:
    """Count the leads the version scored; finished at the total, or when `is_complete` (no lead
    is left for it: leads merged since the publish shrink the total it can reach)."""
    # Progress is counted, not incremented: a redelivered slice cannot overcount.
    done = LeadScore.objects.filter(version_id=version_id).count()
    now = timezone.now()
    RuleVersion.objects.filter(id=version_id).update(rescore_done=done, rescore_progress_at=now)
    unfinished = RuleVersion.objects.filter(id=version_id, rescore_finished_at__isnull=True)
    if not is_complete:
        unfinished = unfinished.filter(rescore_total__lte=done)
    unfinished.update(rescore_finished_at=now)


# Slices record progress as they finish, each within the task time limit (5 minutes):
# a rescore that has not moved for longer than this lost its tasks (Redis down when
# they were published, a worker lost with them) or waits behind a long backlog, where
# resuming it costs a little duplicate work and nothing else.
RESCORE_STALLED_AFTER = timedelta(minutes=10)


def rescore_stalled_claim(*, now: datetime | None = None) -> int | None:
    """The live version's id when its full rescore stalled, claimed so that one caller resumes
    it; else None. The claim moves `rescore_progress_at`: a resume that is lost as well is
    claimed again RESCORE_STALLED_AFTER later."""
    now = now or timezone.now()
    version = (
        RuleVersion.objects.filter(
            status=VersionStatus.PUBLISHED, rescore_started_at__isnull=False, rescore_finished_at__isnull=True
        )
        .values("id", "rescore_started_at", "rescore_progress_at")
        .first()
    )
    if (
        version is None
        or (version["rescore_progress_at"] or version["rescore_started_at"]) > now - RESCORE_STALLED_AFTER
    ):
        return None
    claimed = RuleVersion.objects.filter(
        id=version["id"], rescore_finished_at__isnull=True, rescore_progress_at=version["rescore_progress_at"]
    ).update(rescore_progress_at=now)
    return version["id"] if claimed else None


def stale_score_lead_ids(*, older_than: timedelta, limit: int) -> list[int]:
    """Leads whose score can change with time alone (windows and decay), oldest first."""
    cutoff = timezone.now() - older_than
    return list(
        LeadScore.objects.filter(computed_at__lt=cutoff)
        .filter(~Q(engagement=0) | ~Q(pql_path="") | Q(is_mql=True))
        .order_by("computed_at")
        .values_list("lead_id", flat=True)[:limit]
    )
