"""Persist first, then acknowledge: what ingestion does when PostgreSQL or Redis fail.

Failures here are real: a connection pointed at a closed port, a table lock
held by another session, a Celery app pointed at a closed Redis port. Nothing
is mocked.
"""

import base64
import contextlib
import json
import time
import uuid

import psycopg
import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection

from leads.models import Event
from tests.broker_utils import celery_publishing_to, closed_port

pytestmark = [pytest.mark.postgres]


def post_batch(client, write_key, messages, **headers):
    auth = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
    return client.post(
        "/v1/batch",
        data=json.dumps({"batch": messages}),
        content_type="application/json",
        HTTP_AUTHORIZATION=auth,
        **headers,
    )


def tracks(count):
    return [{"type": "track", "userId": "u1", "event": "Clicked", "messageId": str(uuid.uuid4())} for _ in range(count)]


@contextlib.contextmanager
def database_unreachable():
    """Point Django's connection at a closed port, for real, and restore it after."""
    saved_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = closed_port()
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["PORT"] = saved_port


@pytest.mark.django_db(transaction=True)
def test_it_answers_503_with_retry_after_when_the_database_is_unreachable(client, source_with_key):
    # given
    _, write_key = source_with_key

    # when
    with database_unreachable():
        response = post_batch(client, write_key, tracks(3))

    # then
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert response.json()["code"] == "unavailable"
    assert not Event.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_client_retry_after_the_database_is_back_stores_the_batch_once(client, source_with_key):
    # given
    source, write_key = source_with_key
    messages = tracks(5)
    with database_unreachable():
        failed = post_batch(client, write_key, messages)

    # when
    retried = [post_batch(client, write_key, messages) for _ in range(2)]

    # then
    assert failed.status_code == 503
    assert [r.status_code for r in retried] == [200, 200]
    assert Event.objects.filter(source=source).count() == 5


@pytest.mark.django_db
def test_it_answers_503_when_the_write_times_out_behind_a_lock(client, source_with_key, settings):
    # given: another session holds an exclusive lock on the events table
    _, write_key = source_with_key
    settings.INGEST_STATEMENT_TIMEOUT_MS = 300
    params = connection.get_connection_params()
    with psycopg.connect(
        host=params.get("host"),
        port=params.get("port"),
        user=params.get("user"),
        dbname=connection.settings_dict["NAME"],
        autocommit=False,
    ) as other:
        other.execute(f"LOCK TABLE {Event._meta.db_table} IN ACCESS EXCLUSIVE MODE")

        # when
        started = time.monotonic()
        response = post_batch(client, write_key, tracks(3))
        elapsed = time.monotonic() - started
        other.rollback()

    # then
    assert response.status_code == 503
    assert "Retry-After" in response
    assert elapsed < 5


@pytest.mark.django_db
def test_it_enqueues_one_task_per_request_not_per_event(client, source_with_key, django_capture_on_commit_callbacks):
    # given
    _, write_key = source_with_key

    # when
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_batch(client, write_key, tracks(50))

    # then
    assert response.status_code == 200
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_a_batch_of_only_duplicates_enqueues_nothing(client, source_with_key, django_capture_on_commit_callbacks):
    # given
    _, write_key = source_with_key
    messages = tracks(3)
    post_batch(client, write_key, messages)

    # when
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_batch(client, write_key, messages)

    # then
    assert response.status_code == 200
    assert callbacks == []


@pytest.mark.redis
@pytest.mark.django_db
def test_on_commit_it_publishes_one_processing_task_for_the_batch_to_redis(
    client, source_with_key, django_capture_on_commit_callbacks
):
    # given: the real broker (this run's own Redis database), nothing queued
    broker = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    broker.delete("celery")
    _, write_key = source_with_key

    # when
    with celery_publishing_to(django_settings.CELERY_BROKER_URL), django_capture_on_commit_callbacks(execute=True):
        response = post_batch(client, write_key, tracks(20))

    # then
    assert response.status_code == 200
    queued = broker.lrange("celery", 0, -1)
    broker.delete("celery")
    assert len(queued) == 1
    message = json.loads(queued[0])
    assert message["headers"]["task"] == "pipeline.tasks.events_process_task"
    batch_ids = {str(b) for b in Event.objects.values_list("batch_id", flat=True)}
    assert json.loads(base64.b64decode(message["body"]))[0] == [batch_ids.pop()]


@pytest.mark.django_db
def test_with_the_broker_down_the_client_still_gets_200_and_events_wait_for_the_sweeper(
    client, source_with_key, django_capture_on_commit_callbacks, caplog
):
    # given: Celery publishing to a Redis port nobody listens on
    source, write_key = source_with_key

    # when
    with celery_publishing_to(f"redis://127.0.0.1:{closed_port()}/0"):
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = post_batch(client, write_key, tracks(10))
        elapsed = time.monotonic() - started

    # then
    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert len(callbacks) == 1
    assert "Could not enqueue pipeline.tasks.events_process_task" in caplog.text
    events = Event.objects.filter(source=source)
    assert events.count() == 10
    assert not events.filter(processed_at__isnull=False).exists()
    # Publishing fails fast instead of hanging the request (broker timeouts in settings).
    assert elapsed < 15
