"""Publishing follow-up work: a broker outage is logged and reported, never raised; a
programming error still is. The broker is real Redis, or a port nobody listens on."""

import base64
import json
import logging

import pytest
import redis
from django.conf import settings
from kombu.exceptions import EncodeError

from qualify_site.enqueue import enqueue_now, enqueue_on_commit
from routing.tasks import notice_send_task
from tests.broker_utils import celery_publishing_to, redis_unreachable


def _drained(client: redis.Redis) -> list[tuple[str, list]]:
    """The tasks queued on Celery's default queue (task name, positional args), now removed."""
    queued = client.lrange("celery", 0, -1)
    client.delete("celery")
    return [
        (message["headers"]["task"], json.loads(base64.b64decode(message["body"]))[0])
        for message in map(json.loads, queued)
    ]


@pytest.fixture
def broker():
    """This run's own Redis database as the broker, its default queue empty before and after."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("celery")
    with celery_publishing_to(settings.CELERY_BROKER_URL):
        yield client
    client.delete("celery")


@pytest.mark.redis
def test_it_publishes_the_task_with_its_arguments_and_says_so(broker):
    # when
    published = enqueue_now(notice_send_task, "assigned", 42, recovered_by="the SLA sweep")

    # then
    assert published is True
    assert _drained(broker) == [("routing.tasks.notice_send_task", ["assigned", 42])]


def test_with_redis_down_it_returns_false_and_logs_one_line_naming_the_task_and_who_catches_up(caplog):
    # when
    with redis_unreachable(), caplog.at_level(logging.WARNING, logger="qualify_site.enqueue"):
        published = enqueue_now(notice_send_task, "breached", 7, recovered_by="the SLA sweep")

    # then
    assert published is False
    [record] = [r for r in caplog.records if r.name == "qualify_site.enqueue"]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert "routing.tasks.notice_send_task('breached', 7)" in message
    assert "the SLA sweep will catch it up" in message
    assert "\n" not in message and record.exc_info is None


@pytest.mark.redis
def test_a_programming_error_is_not_mistaken_for_an_outage(broker):
    # when / then: an argument JSON cannot carry fails loudly, and nothing is queued
    with pytest.raises(EncodeError):
        enqueue_now(notice_send_task, "assigned", object(), recovered_by="the SLA sweep")
    assert _drained(broker) == []


@pytest.mark.django_db
@pytest.mark.redis
def test_on_commit_it_publishes_only_once_the_transaction_commits(broker, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks() as callbacks:
        enqueue_on_commit(notice_send_task, "at_risk", 3, recovered_by="the SLA sweep")
        queued_before_commit = _drained(broker)
    for callback in callbacks:
        callback()

    # then
    assert queued_before_commit == []
    assert _drained(broker) == [("routing.tasks.notice_send_task", ["at_risk", 3])]


@pytest.mark.django_db
def test_on_commit_with_redis_down_the_commit_succeeds_and_nothing_is_raised(django_capture_on_commit_callbacks):
    # when
    with redis_unreachable(), django_capture_on_commit_callbacks(execute=True) as callbacks:
        enqueue_on_commit(notice_send_task, "at_risk", 3, recovered_by="the SLA sweep")

    # then
    assert len(callbacks) == 1
