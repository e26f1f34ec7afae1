"""Per-source ingestion rate limits: an honest backfill goes through, a flood does not.

The limits are checked on the clock of the request (time-machine moves it) with
the real cache (Redis), through the function /v1/* calls for every request: a
backfill of minutes at thousands of events a second is not something to ingest
for real in a test. The view's 429 itself is tested in test_ingest_api.py.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache

from leads.ingest.views import IngestError, check_rate_limit

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db]

# The start of a wall-clock minute, where the minute window starts too.
START = datetime(2031, 5, 6, 7, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def empty_rate_limit_counters():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def source(source_with_key):
    return source_with_key[0]


def send(source, *, seconds: int, requests_per_second: int, messages: int) -> list[tuple[float, int | None]]:
    """Requests spread evenly over each second: (offset in seconds, Retry-After or None when admitted)."""
    outcomes = []
    with time_machine.travel(START, tick=False) as traveller:
        for second in range(seconds):
            for request in range(requests_per_second):
                offset = second + request / requests_per_second
                traveller.move_to(START + timedelta(seconds=offset))
                try:
                    check_rate_limit(source, messages)
                except IngestError as error:
                    assert (error.status, error.code) == (429, "rate_limited")
                    outcomes.append((offset, error.retry_after))
                else:
                    outcomes.append((offset, None))
    return outcomes


def refused(outcomes) -> list:
    return [outcome for outcome in outcomes if outcome[1] is not None]


def test_an_honest_backfill_at_5000_events_a_second_in_500_message_batches_is_never_throttled(source):
    # when: more than a whole minute window of it
    outcomes = send(source, seconds=70, requests_per_second=10, messages=500)

    # then
    assert refused(outcomes) == []


def test_a_burst_over_20000_messages_in_a_second_is_throttled_for_the_rest_of_that_second(source):
    # when: 100 requests of 500 messages within one second
    outcomes = send(source, seconds=1, requests_per_second=100, messages=500)

    # then: a request is admitted while the second's count is under the limit
    assert len(outcomes) - len(refused(outcomes)) == 40
    assert {retry_after for _, retry_after in refused(outcomes)} == {1}


def test_a_sustained_flood_is_throttled_by_the_minute_limit(source):
    # when: 15,000 messages a second, under the burst limit, for a minute
    outcomes = send(source, seconds=60, requests_per_second=15, messages=1000)

    # then: 600,000 messages a minute (10,000 a second on average) got through, then refused to the minute's end
    admitted = [offset for offset, retry_after in outcomes if retry_after is None]
    assert len(admitted) * 1000 == 600_000
    first_refused_at, retry_after = refused(outcomes)[0]
    assert first_refused_at == 40
    assert retry_after == 20


def test_a_flood_of_small_requests_is_throttled_by_the_request_limit(source):
    # when: 1,200 one-message requests within a second
    outcomes = send(source, seconds=1, requests_per_second=1200, messages=1)

    # then
    assert len(outcomes) - len(refused(outcomes)) == 1000


@pytest.mark.parametrize(
    ("field", "value", "messages", "admitted"),
    [
        ("rate_limit_per_second", 1000, 500, 2),
        ("rate_limit_per_minute", 1000, 500, 2),
        ("rate_limit_requests_per_second", 3, 1, 3),
    ],
)
def test_a_source_setting_overrides_the_default(source, field, value, messages, admitted):
    # given
    setattr(source, field, value)
    source.save()

    # when: ten requests within a second
    outcomes = send(source, seconds=1, requests_per_second=10, messages=messages)

    # then
    assert len(outcomes) - len(refused(outcomes)) == admitted


def test_the_defaults_come_from_settings(source, settings):
    # given
    settings.INGEST_RATE_LIMIT_PER_SECOND = 1000

    # when
    outcomes = send(source, seconds=1, requests_per_second=10, messages=500)

    # then
    assert len(outcomes) - len(refused(outcomes)) == 2
