"""Publishing follow-up work to the broker without letting a broker outage undo a committed action.

What a request or a task commits (an event, an accepted lead, a published rule
version, a breach) stays committed when Redis is down: the publish that follows
it is caught, logged, and left to the periodic job that finds the same work
from the database (`recovered_by` names it, in the code and in the log line).
Only broker and connection errors are caught: a programming error (a task
argument that is not JSON, a typo) still fails loudly.
"""

import logging
import reprlib

import redis.exceptions
from celery import Task
from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

# What publishing raises when the broker cannot be reached: kombu wraps the
# transport's connection errors in OperationalError once its retries are spent
# (CELERY_BROKER_TRANSPORT_OPTIONS keeps that under a second); redis-py's own
# errors can escape from a pooled connection that breaks mid-publish.
BROKER_ERRORS = (OperationalError, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def enqueue_now(task: Task, *args, recovered_by: str) -> bool:
    """Publish `task(*args)`; False (and one warning) when the broker is unreachable.

    Call it after the work it follows is committed (`enqueue_on_commit` does).
    """
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


def enqueue_on_commit(task: Task, *args, recovered_by: str) -> None:
    """Publish `task(*args)` once the current transaction commits (now, outside one); never raises
    for the broker, so a committed action is never answered with a 500."""
    transaction.on_commit(lambda: enqueue_now(task, *args, recovered_by=recovered_by))
