"""Redis really down, for tests: Celery and the cache pointed at a port nobody listens on.

Nothing is mocked: publishing fails the way it fails in production (kombu gives
up after CELERY_BROKER_TRANSPORT_OPTIONS' retries), and so does the cache.
"""

import contextlib
import socket

from django.test import override_settings

from qualify_site.celery import app as celery_app


def closed_port() -> int:
    """A local TCP port nobody listens on (bound then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def celery_publishing_to(broker_url: str):
    """Make the real Celery app publish to `broker_url` (eager mode off), then restore it."""
    saved = (celery_app.conf.task_always_eager, celery_app.conf.broker_url)

    def reset_pools():
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = broker_url
    reset_pools()
    try:
        yield
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.broker_url = saved
        reset_pools()


@contextlib.contextmanager
def redis_unreachable():
    """A Redis outage: the broker and the cache (rate limits, drain coalescing) both unreachable.
    Leaving the block is Redis coming back (tasks run in-process again, as in the rest of the suite)."""
    url = f"redis://127.0.0.1:{closed_port()}/0"
    cache = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    with celery_publishing_to(url), override_settings(CACHES=cache):
        yield
