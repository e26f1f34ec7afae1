"""Drains coalesce: while one is queued, more processed batches enqueue no other."""

import json

import pytest
import redis
from django.conf import settings
from django.core.cache import cache

from pipeline.tasks import DRAIN_SCHEDULED_KEY, pending_rescore_drain_soon, pending_rescore_drain_task
from qualify_site.celery import app

pytestmark = [pytest.mark.redis]


@pytest.fixture
def broker():
    """The real Redis broker with eager mode off, on a queue of this test's own."""
    previous = app.conf.task_always_eager, app.conf.task_default_queue
    app.conf.task_always_eager = False
    app.conf.task_default_queue = "test-drain-coalescing"
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("test-drain-coalescing")
    cache.delete(DRAIN_SCHEDULED_KEY)
    yield client
    client.delete("test-drain-coalescing")
    cache.delete(DRAIN_SCHEDULED_KEY)
    app.conf.task_always_eager, app.conf.task_default_queue = previous


def _queued_tasks(client) -> list[str]:
    return [json.loads(raw)["headers"]["task"] for raw in client.lrange("test-drain-coalescing", 0, -1)]


def test_a_queued_drain_absorbs_the_batches_processed_while_it_waits(broker):
    # when three batches are processed before the first drain runs
    for _ in range(3):
        pending_rescore_drain_soon()

    # then one drain is queued
    assert _queued_tasks(broker) == ["pipeline.tasks.pending_rescore_drain_task"]


@pytest.mark.django_db
def test_once_the_drain_has_run_a_new_batch_gets_a_drain_of_its_own(broker):
    pending_rescore_drain_soon()
    pending_rescore_drain_task.apply()  # the worker runs the queued drain

    pending_rescore_drain_soon()

    assert len(_queued_tasks(broker)) == 2
