"""Writes for queues that routing needs to exist."""

from django.db import IntegrityError, transaction

from routing.engine import CompiledPolicy
from routing.models import Queue
from routing.selectors.policy import fallback_queue_id, routing_policy_compiled


def fallback_queue_ensure() -> int:
    """The fallback queue's id, recreating the queue if someone deleted it: nothing is ever
    unroutable. Migration 0002 creates it; this is the guard for a deleted row."""
    queue_id = fallback_queue_id()
    if queue_id is not None:
        return queue_id
    try:
        with transaction.atomic():
            name = "Fallback" if not Queue.objects.filter(name="Fallback").exists() else "Fallback (recreated)"
            return Queue.objects.create(name=name, is_fallback=True).id
    except IntegrityError:  # another worker recreated it first (one_fallback_queue)
        return Queue.objects.filter(is_fallback=True).values_list("id", flat=True).get()


def routing_policy_for_routing() -> CompiledPolicy:
    """The live policy to route (or preview routing) with, its fallback queue guaranteed
    (recreated if deleted). Reads that need no decision use the selectors instead."""
    return routing_policy_compiled(fallback_id=fallback_queue_ensure())
