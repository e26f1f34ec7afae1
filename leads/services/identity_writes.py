"""Identity resolution's bulk writes: marking a batch's events processed, and folding one lead into another.

Split from `identity.py` (the resolver); PostgreSQL gets one statement where the
SQLite demo gets portable ORM updates.
"""

import logging
from datetime import datetime

from django.db import IntegrityError, transaction

from leads.models import Event, Lead, LeadMerge
from qualify_site import bulk_sql

logger = logging.getLogger(__name__)


def events_mark_processed(*, ids: list[int], lead_ids: list, account_ids: list, at: datetime) -> None:
    """Set lead, account and processed_at of many events in one statement on PostgreSQL."""
    if bulk_sql.is_postgresql():
        with bulk_sql.server_cursor() as cursor:
            cursor.execute(
                f"UPDATE {Event._meta.db_table} AS e "  # noqa: S608 - the table name is ours
                "SET lead_id = v.lead_id, account_id = v.account_id, processed_at = %s "
                "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS v(id, lead_id, account_id) "
                # The ANY() gives the planner the primary-key path whatever its
                # statistics say; without it a stale estimate means a hash join
                # over a sequential scan of the whole event table.
                "WHERE e.id = v.id AND e.id = ANY(%s::bigint[])",
                [at, ids, lead_ids, account_ids, ids],
            )
        return
    _events_mark_processed_portable(ids=ids, lead_ids=lead_ids, account_ids=account_ids, at=at)


def _events_mark_processed_portable(*, ids: list[int], lead_ids: list, account_ids: list, at: datetime) -> None:
    """Any database (the SQLite demo): one UPDATE per distinct (lead, account) pair."""
    groups: dict[tuple, list[int]] = {}
    for event_id, lead_id, account_id in zip(ids, lead_ids, account_ids, strict=True):
        groups.setdefault((lead_id, account_id), []).append(event_id)
    for (lead_id, account_id), event_ids in groups.items():
        for start in range(0, len(event_ids), 500):  # SQLite caps bound parameters
            Event.objects.filter(id__in=event_ids[start : start + 500]).update(
                lead_id=lead_id, account_id=account_id, processed_at=at
            )


# --- Merge ------------------------------------------------------------------


def _lead_snapshot(lead: Lead) -> dict:
    snapshot = {}
    for model_field in lead._meta.concrete_fields:
        value = getattr(lead, model_field.attname)
        snapshot[model_field.attname] = value.isoformat() if isinstance(value, datetime) else value
    return snapshot


def _relations_move(model, old, new, *, skip: tuple = ()) -> None:
    """Point every foreign key at `old` (from any app) at `new` instead.

    A relation that cannot move (a one-per-row table where `new` already has
    its row) stays where it is, logged: history is kept either way.
    """
    for relation in model._meta.related_objects:
        related = relation.related_model
        if not relation.one_to_many or related in skip:
            continue
        field_name = relation.field.name
        queryset = related._base_manager.filter(**{field_name: old})
        if related is model:
            queryset = queryset.exclude(pk=new.pk)
        try:
            with transaction.atomic():
                queryset.update(**{field_name: new})
        except IntegrityError:
            logger.warning("%s %s -> %s: %s.%s left behind", model.__name__, old.pk, new.pk, related, field_name)


def lead_merge_write(*, survivor: Lead, merged: Lead, reason: str, at: datetime) -> None:
    """Fold `merged` into `survivor`: everything that pointed at it moves, nothing is deleted.

    Every foreign key to Lead moves (identities, events, stage changes,
    outcomes, and whatever other apps add), so history stays whole. A relation
    that cannot move (say a one-per-lead row the survivor already has) stays
    on the merged lead, which is kept and points at its survivor.
    """
    LeadMerge.objects.create(
        survivor=survivor, merged=merged, merged_at=at, reason=reason, snapshot=_lead_snapshot(merged)
    )
    _relations_move(Lead, merged, survivor, skip=(LeadMerge,))
    merged.merged_into = survivor
    merged.updated_at = at
