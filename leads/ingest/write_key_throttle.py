"""Write-key guessing at /v1/: failures counted per client address in the cache.

Past INGEST_AUTH_FAILURE_LIMIT missing or unknown keys from one address within
a fixed window of INGEST_AUTH_FAILURE_WINDOW_SECONDS, that address is refused
until the window ends, without its key being looked at: a guesser learns
nothing more meanwhile. The address is the one qualify_site/client_address.py
trusts, never a header the client could vary freely. If the cache is down the
request is admitted: keys are 43 random characters, so a while without
throttling costs little, and refusing all data would cost a lot.
"""

import logging
import math
import time

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


def _counter(address: str) -> tuple[str, int]:
    """The cache key of the address's failures in the current window, and when the window ends."""
    window_seconds = settings.INGEST_AUTH_FAILURE_WINDOW_SECONDS
    window = int(time.time() // window_seconds)
    return f"ingest-auth-failures:{address}:{window}", (window + 1) * window_seconds


def write_key_retry_after(address: str) -> int | None:
    """Seconds the address must wait when it is over the failure limit, else None."""
    counter, window_end = _counter(address)
    try:
        failures = cache.get(counter, 0)
    except Exception:
        logger.warning("Write-key failure throttling unavailable (cache error); admitting the request", exc_info=True)
        return None
    if failures < settings.INGEST_AUTH_FAILURE_LIMIT:
        return None
    return max(1, math.ceil(window_end - time.time()))


def write_key_failure_record(address: str) -> None:
    counter, _ = _counter(address)
    try:
        cache.add(counter, 0, timeout=settings.INGEST_AUTH_FAILURE_WINDOW_SECONDS + 5)
        cache.incr(counter)
    except Exception:
        logger.warning("Could not count a write-key failure (cache error)", exc_info=True)
