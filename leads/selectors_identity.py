"""Reads about identity resolution: unmatched identities and unprocessed batches."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Exists, Max, Min, OuterRef
from django.utils import timezone

from leads.models import UNMATCHED_EVENT, BatchSweep, DeadLetter, Event


@dataclass(frozen=True)
class UnmatchedIdentity:
    kind: str  # "user_id" or "anonymous_id"
    value: str
    source: str
    event_count: int
    first_seen_at: datetime
    last_seen_at: datetime


def unmatched_identity_list(*, limit: int = 200) -> list[UnmatchedIdentity]:
    """Ids whose processed events no lead claims yet, most recently seen first.

    An event with a userId is listed under its userId (the stronger id), else
    under its anonymousId. They attach by themselves once an identify or alias
    links the id to a lead.
    """
    rows = (
        Event.objects.filter(UNMATCHED_EVENT)
        .values("user_id", "anonymous_id", "source__name")
        .annotate(event_count=Count("id"), first_seen_at=Min("timestamp"), last_seen_at=Max("timestamp"))
        .order_by()
    )
    grouped: dict[tuple[str, str, str], list] = {}
    for row in rows:
        kind, value = ("user_id", row["user_id"]) if row["user_id"] else ("anonymous_id", row["anonymous_id"])
        entry = grouped.setdefault((kind, value, row["source__name"]), [0, row["first_seen_at"], row["last_seen_at"]])
        entry[0] += row["event_count"]
        entry[1] = min(entry[1], row["first_seen_at"])
        entry[2] = max(entry[2], row["last_seen_at"])
    items = [
        UnmatchedIdentity(kind=kind, value=value, source=source, event_count=c, first_seen_at=f, last_seen_at=la)
        for (kind, value, source), (c, f, la) in grouped.items()
    ]
    items.sort(key=lambda item: item.last_seen_at, reverse=True)
    return items[:limit]


def unmatched_event_count() -> int:
    return Event.objects.filter(UNMATCHED_EVENT).count()


def unprocessed_batch_id_list(*, older_than_seconds: int, limit: int = 500, now: datetime | None = None) -> list[str]:
    """Batches with events still unprocessed after `older_than_seconds`: their task was lost or failed.

    Set-aside batches (DeadLetter) are left out, and so are batches the
    sweeper re-enqueued that are not due for another sweep yet (BatchSweep).
    Batches never swept come first, then the least swept, oldest first: a
    batch that keeps failing never takes the place of one not tried yet.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=older_than_seconds)
    left_unprocessed = Event.objects.filter(processed_at__isnull=True, received_at__lte=cutoff)
    set_aside = DeadLetter.objects.filter(is_set_aside=True).values("batch_id")
    never_swept = (
        left_unprocessed.exclude(batch_id__in=set_aside)
        .exclude(batch_id__in=BatchSweep.objects.values("batch_id"))
        .values("batch_id")
        .annotate(first_received_at=Min("received_at"))
        .order_by("first_received_at", "batch_id")
        .values_list("batch_id", flat=True)[:limit]
    )
    batch_ids = [str(batch_id) for batch_id in never_swept]
    if len(batch_ids) < limit:
        # From the sweep records, a small table: only batches that were lost.
        due_again = (
            BatchSweep.objects.filter(next_sweep_at__lte=now)
            .filter(Exists(left_unprocessed.filter(batch_id=OuterRef("batch_id"))))
            .exclude(batch_id__in=set_aside)
            .order_by("sweep_count", "last_swept_at", "batch_id")
            .values_list("batch_id", flat=True)[: limit - len(batch_ids)]
        )
        batch_ids += [str(batch_id) for batch_id in due_again]
    return batch_ids
