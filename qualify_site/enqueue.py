"""Publishing follow-up work to the broker without letting a broker outage undo a committed action.

What a request or a task commits (an event, an accepted lead, a published rule
version, a breach) stays committed when Redis is down: the publish that follows
it is caught, logged, and left to the periodic job that finds the same work
from the database (`recovered_by` names it, in the code and in the log line).
Only broker and connection errors are caught: a programming error (a task
argument that is not JSON, a typo) still fails loudly.

A lower layer hands work to a task of a layer above it (ingestion starts the
pipeline, a publish starts its rescore) or of its own tasks module (a service
publishes a notice) by the task's *name*, the way the broker knows it, never by
importing it: tasks import services, so services importing tasks would be an
import cycle, and leads importing the pipeline would break the layers
(pipeline/README.md). The name is the contract, as it is for queued messages.
"""

import logging
import reprlib

import redis.exceptions
from celery import Task
from celery.exceptions import NotRegistered
from django.db import transaction
from kombu.exceptions import OperationalError

from qualify_site.celery import app

logger = logging.getLogger(__name__)

# What publishing raises when the broker cannot be reached: kombu wraps the
# transport's connection errors in OperationalError once its retries are spent
# (CELERY_BROKER_TRANSPORT_OPTIONS keeps that under a second); redis-py's own
# errors can escape from a pooled connection that breaks mid-publish.
BROKER_ERRORS = (OperationalError, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def task_named(name: str) -> Task:
    """The registered task of that name. A web process imports no tasks module of its
    own accord (a worker autodiscovers them at start): the first lookup there runs the
    same autodiscovery. An unknown name is a programming error and raises NotRegistered."""
    try:
        return app.tasks[name]
    except NotRegistered:
        app.loader.import_default_modules()
        return app.tasks[name]


def enqueue_now(task: Task | str, *args, recovered_by: str) -> bool:
    """Publish `task(*args)`; False (and one warning) when the broker is unreachable.

    `task` is a task or a task's name (see the module docstring). Call it after the
    work it follows is committed (`enqueue_on_commit` does).
    """
    if isinstance(task, str):
        task = task_named(task)
    try:
        task.delay(*args)
    except BROKER_ERRORS as error:
        logger.warning(
            "Could not enqueue %s%s (broker unreachable: %s); %s will catch it up",
            task.name,
            reprlib.repr(args),  # a chunk of 200 lead ids is not worth a 2 KB log line
            error,
            recovered_by,
            extra={"enqueue_task": task.name, "enqueue_args": reprlib.repr(args), "recovered_by": recovered_by},
        )
        return False
    return True


def enqueue_on_commit(task: Task | str, *args, recovered_by: str) -> None:
    """Publish `task(*args)` once the current transaction commits (now, outside one); never raises
    for the broker, so a committed action is never answered with a 500."""
    transaction.on_commit(lambda: enqueue_now(task, *args, recovered_by=recovered_by))
