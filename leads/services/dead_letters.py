"""Poison batches: set aside what processing cannot get through, sweep up what was lost, replay after a fix.

A batch whose processing fails with an error retrying cannot fix (bad data an
older version let in, a bug) is set aside as a DeadLetter, with the error and
where it was raised, instead of failing forever; its events stay stored. The
beat sweeper re-enqueues batches left unprocessed (task lost, worker killed,
broker down) but skips set-aside ones, waits longer before each new sweep of
the same batch, and sets a batch aside after `MAX_SWEEPS` of them, so that no
batch is re-enqueued without bound and none takes the place of others.

A batch that kills its worker outright (out of memory, hard time limit, a
crash) raises nothing to catch, and the broker redelivers it at once
(acks_late, reject_on_worker_lost). So each start is counted, committed,
before processing (BatchAttempt), and a batch started `MAX_WORKER_DEATHS`
times without ever ending is set aside on its next start instead of run.
"""

import logging
import traceback
import uuid
from datetime import datetime, timedelta

import psycopg
from celery.exceptions import SoftTimeLimitExceeded
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from leads.models import BatchAttempt, BatchSweep, DeadLetter, Event
from leads.selectors_identity import unprocessed_batch_id_list
from leads.services.identity import events_process_batch
from leads.services.ingest import batch_processing_enqueue
from qualify_site.roles import Role, user_has_role

logger = logging.getLogger(__name__)

# Worth retrying: the database was unreachable, restarting, or refused this
# attempt only (deadlock, serialization failure, statement timeout are all
# OperationalError). psycopg's own classes too: the bulk paths read through
# psycopg cursors that Django does not wrap. The task retries these itself.
RETRYABLE_DATABASE_ERRORS = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)
# Not a reason to set a batch aside either: a soft time limit may be load. The
# task does not retry it at once (that would hold a worker for each retry); the
# sweeper tries again later, and its bound stops it recurring forever.
TRANSIENT_ERRORS = (*RETRYABLE_DATABASE_ERRORS, SoftTimeLimitExceeded)

# Batches (re-)enqueued per sweep. A poison batch takes a slot at most once
# before it is set aside, so it can only delay the recovery of others when more
# than this many batches, never swept before, were lost at once.
SWEEP_MAX_BATCHES = 1000
# Sweeps of one batch before it is set aside. Waits double from
# INGEST_SWEEP_AFTER_SECONDS up to SWEEP_MAX_WAIT: with the defaults, about six
# hours of sweeps, longer than a worker outage should last.
MAX_SWEEPS = 10
SWEEP_MAX_WAIT = timedelta(hours=1)
# Sweep records of batches long done (or set aside) are dropped after this.
SWEEP_RECORD_KEPT = timedelta(days=7)
# Starts of one batch that never ended before it is set aside instead of
# started again. One death is often not the batch's fault (a deploy's SIGKILL,
# the OOM killer choosing this process for others' memory, a lost machine);
# the same batch three times is. Each death costs a worker restart, and up to
# the hard time limit of a worker's time, for every batch behind it.
MAX_WORKER_DEATHS = 3
_TRACEBACK_CHARACTERS = 4000


def is_transient_error(error: BaseException) -> bool:
    return isinstance(error, TRANSIENT_ERRORS)


def batch_process_or_set_aside(*, batch_id: str) -> int:
    """Process the batch; set it aside if that fails for good. Returns how many events were processed.

    Transient errors propagate, for the task to retry. A batch whose earlier
    starts killed their worker `MAX_WORKER_DEATHS` times is set aside unstarted.
    """
    starts = batch_attempt_start(batch_id=batch_id)
    if starts > MAX_WORKER_DEATHS:
        _set_aside_after_worker_deaths(batch_id=batch_id, deaths=starts - 1)
        return 0
    try:
        processed = events_process_batch(batch_id=batch_id)
    except Exception as error:
        batch_attempt_end(batch_id=batch_id)
        if is_transient_error(error):
            raise
        logger.exception("batch %s cannot be processed; setting it aside", batch_id)
        dead_letter_record(batch_id=batch_id, error=f"{type(error).__name__}: {error}", traceback_text=_summary(error))
        return 0
    if not processed:
        # Done already, or another delivery holds its events: this start ended.
        # A start that processed the batch needs no second statement: with
        # nothing left unprocessed, its count no longer matters.
        batch_attempt_end(batch_id=batch_id)
    return processed


def batch_attempt_start(*, batch_id: str, now: datetime | None = None) -> int:
    """Count a start of the batch's processing; returns its starts not ended, this one included.

    One upsert, the only statement this adds to a batch that processes. The
    worker runs outside any transaction, so it is committed before processing
    starts: a worker killed meanwhile cannot take it back.
    """
    table = BatchAttempt._meta.db_table
    values = [
        BatchAttempt._meta.pk.get_db_prep_value(uuid.UUID(str(batch_id)), connection),
        BatchAttempt._meta.get_field("last_started_at").get_db_prep_value(now or timezone.now(), connection),
    ]
    row = "VALUES (%s, 1, %s)"
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # Committed without waiting for the WAL flush (0.3 ms instead of 1.1-1.9
        # here). A worker's death cannot undo a commit; only PostgreSQL crashing
        # within a fraction of a second could, losing one death's count at most.
        # Local to this statement's own transaction.
        row = "SELECT %s, 1, %s FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (batch_id, start_count, last_started_at) {row} "  # noqa: S608 - our table
            f"ON CONFLICT (batch_id) DO UPDATE SET start_count = {table}.start_count + 1, "
            "last_started_at = EXCLUDED.last_started_at RETURNING start_count",
            values,
        )
        return cursor.fetchone()[0]


def batch_attempt_end(*, batch_id: str) -> None:
    """Take back a start that ended (it raised, or found nothing to do): it was no worker death."""
    try:
        BatchAttempt.objects.filter(batch_id=batch_id, start_count__gt=0).update(start_count=F("start_count") - 1)
    except (DatabaseError, InterfaceError):
        # The database is what failed (the caller re-raises its error): the
        # start stays counted, which at worst sets a killer batch aside one
        # death early.
        logger.warning("batch %s: could not record the end of a processing attempt", batch_id, exc_info=True)


def _set_aside_after_worker_deaths(*, batch_id: str, deaths: int) -> None:
    if DeadLetter.objects.filter(batch_id=batch_id, is_set_aside=True).exists():
        return  # one more delivery of a batch already set aside
    logger.error("batch %s killed its worker %s times; setting it aside", batch_id, deaths)
    dead_letter_record(
        batch_id=batch_id,
        error=f"The worker processing it died {deaths} times (out of memory, hard time limit, crash): "
        "set aside instead of started again.",
    )


def _summary(error: BaseException) -> str:
    # The innermost frames say where it broke; the outer ones are Celery's.
    return "".join(traceback.format_exception(error))[-_TRACEBACK_CHARACTERS:]


@transaction.atomic
def dead_letter_record(*, batch_id: str, error: str, traceback_text: str = "", now=None) -> DeadLetter | None:
    """Set the batch aside with the error, once per batch (a second failure updates the same row).

    None when nothing of the batch is left unprocessed: there is nothing to set aside.
    """
    now = now or timezone.now()
    unprocessed = Event.objects.filter(batch_id=batch_id, processed_at__isnull=True)
    event_count = unprocessed.count()
    if not event_count:
        return None
    values = {"event_count": event_count, "error": error[:500], "traceback": traceback_text, "set_aside_at": now}
    letter, created = DeadLetter.objects.get_or_create(
        batch_id=batch_id, defaults={**values, "source_id": unprocessed.values_list("source_id", flat=True).first()}
    )
    if not created:
        DeadLetter.objects.filter(id=letter.id).update(
            **values, is_set_aside=True, failure_count=F("failure_count") + 1
        )
        letter.refresh_from_db()
    return letter


def dead_letters_replay(*, dead_letter_ids: list[int], actor) -> int:
    """Process set-aside batches again, after a fix. Admins only. Returns how many were replayed.

    Each is claimed once (a double click or two admins replay it once) and
    enqueued on commit; it starts afresh with the sweeper, and is set aside
    again if it still fails.
    """
    if not user_has_role(actor, Role.ADMIN):
        raise PermissionDenied("Only admins replay set-aside batches.")
    replayed = 0
    for letter in DeadLetter.objects.filter(id__in=dead_letter_ids, is_set_aside=True).only("id", "batch_id"):
        with transaction.atomic():
            claimed = DeadLetter.objects.filter(id=letter.id, is_set_aside=True).update(
                is_set_aside=False, replayed_at=timezone.now(), replayed_by=actor
            )
            if not claimed:
                continue
            BatchSweep.objects.filter(batch_id=letter.batch_id).delete()
            BatchAttempt.objects.filter(batch_id=letter.batch_id).delete()
            batch_id = str(letter.batch_id)
            transaction.on_commit(lambda batch_id=batch_id: batch_processing_enqueue(batch_id))
            replayed += 1
    return replayed


def unprocessed_batches_sweep(*, older_than_seconds: int, now: datetime | None = None) -> list[str]:
    """Re-enqueue batches left unprocessed, within the bounds above; return the ids enqueued.

    The ones swept `MAX_SWEEPS` times already are set aside instead. A batch
    counts as swept only once its task is published: with the broker down,
    nothing is spent.
    """
    now = now or timezone.now()
    batch_ids = unprocessed_batch_id_list(older_than_seconds=older_than_seconds, limit=SWEEP_MAX_BATCHES, now=now)
    sweep_counts = {
        str(batch_id): count
        for batch_id, count in BatchSweep.objects.filter(batch_id__in=batch_ids).values_list("batch_id", "sweep_count")
    }
    enqueued, worn_out = [], []
    for batch_id in batch_ids:
        count = sweep_counts.get(batch_id, 0)
        if count >= MAX_SWEEPS:
            worn_out.append((batch_id, count))
        elif batch_processing_enqueue(str(batch_id)):
            enqueued.append((batch_id, count))
        else:
            # The broker is unreachable: every other publish would wait out its
            # own timeout too (a second or so each, past the task's time limit).
            # The next sweep tries again; nothing was spent.
            break
    for batch_id, count in worn_out:
        dead_letter_record(
            batch_id=str(batch_id),
            error=f"Still unprocessed after {count} sweeps: its processing never finished "
            "(worker killed, time limit, or the database failing it every time).",
            now=now,
        )
    _sweeps_record(enqueued, now=now, first_wait=timedelta(seconds=max(older_than_seconds, 1)))
    BatchSweep.objects.filter(last_swept_at__lt=now - SWEEP_RECORD_KEPT).delete()
    _settled_attempts_drop()
    return [str(batch_id) for batch_id, _ in enqueued]


def _settled_attempts_drop() -> None:
    """Drop the start counts of batches with nothing left unprocessed (about one sweep interval's worth)."""
    unprocessed = Event.objects.filter(batch_id=OuterRef("batch_id"), processed_at__isnull=True)
    BatchAttempt.objects.filter(~Exists(unprocessed)).delete()


def _sweeps_record(swept: list, *, now: datetime, first_wait: timedelta) -> None:
    if not swept:
        return
    rows = []
    for batch_id, count in swept:
        wait = min(first_wait * 2**count, SWEEP_MAX_WAIT)
        rows.append(BatchSweep(batch_id=batch_id, sweep_count=count + 1, last_swept_at=now, next_sweep_at=now + wait))
    BatchSweep.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["batch_id"],
        update_fields=["sweep_count", "last_swept_at", "next_sweep_at"],
    )
