"""Overlapping batches sent at the same moment, in different message orders, never deadlock."""

import random
import threading

import pytest
import requests
from django.db import connection

from leads.models import Event, Lead
from tests.worker_utils import ingest

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.slow]

CLIENTS = 8
ROUNDS = 20
PEOPLE = 30


@pytest.fixture(autouse=True)
def live_server_sessions_ended():
    """The live server's request threads may keep a database session a moment
    after the test; one left open makes dropping the test database fail."""
    yield
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def messages_of_round(round_number: int) -> list[dict]:
    """Each person identifies, joins the company and acts: the same messageIds for every client."""
    messages = []
    for person in range(PEOPLE):
        user_id, prefix = f"u-{round_number}-{person}", f"r{round_number}-p{person}"
        traits = {"email": f"{user_id}@acme{person % 3}.com"}
        messages += [
            {"type": "identify", "userId": user_id, "traits": traits, "messageId": f"{prefix}-i"},
            {"type": "group", "userId": user_id, "groupId": f"g-{person % 3}", "messageId": f"{prefix}-g"},
            {"type": "track", "userId": user_id, "event": "Job Run", "messageId": f"{prefix}-t"},
        ]
    return messages


def post_batch(url: str, write_key: str, messages: list[dict]) -> int:
    # A new connection per request: the live server's thread (and its database session) ends with it.
    response = requests.post(f"{url}/v1/batch", json={"batch": messages}, auth=(write_key, ""), timeout=60)
    return response.status_code


def test_eight_clients_sending_the_same_messages_in_different_orders_never_get_a_503(
    live_server, source_with_key, caplog
):
    # given: eight clients, each holding the same messages in its own order
    source, write_key = source_with_key
    source.rate_limit_per_minute = 1_000_000
    source.save()
    statuses: list[int] = []

    # when: every round, all eight post at the same moment (ingestion and, eagerly, processing)
    for round_number in range(ROUNDS):
        messages = messages_of_round(round_number)
        start = threading.Barrier(CLIENTS)

        def client(seed: int, messages=messages, start=start) -> None:
            shuffled = random.Random(seed).sample(messages, len(messages))
            start.wait()
            statuses.append(post_batch(live_server.url, write_key, shuffled))

        threads = [threading.Thread(target=client, args=(round_number * CLIENTS + n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    # then: no client was told to retry, nothing deadlocked, every message stored once and resolved
    assert statuses.count(503) == 0, f"{statuses.count(503)} of {len(statuses)} requests answered 503"
    assert statuses == [200] * CLIENTS * ROUNDS
    assert "deadlock detected" not in caplog.text
    assert Event.objects.count() == ROUNDS * PEOPLE * 3
    assert Event.objects.filter(lead__isnull=True).count() == 0
    assert Lead.objects.count() == ROUNDS * PEOPLE


def test_messages_keep_the_order_sent_although_rows_are_inserted_in_message_id_order(source_with_key):
    # given: messageIds whose sorted order is not the order sent
    source, _ = source_with_key
    message_ids = ["m-3", "m-1", "m-2", "m-0"]

    # when
    ingest(source, [{"type": "track", "userId": "u-1", "event": "Job Run", "messageId": m} for m in message_ids])

    # then: processing breaks timestamp ties by id, so ids follow the order sent
    assert list(Event.objects.order_by("id").values_list("message_id", flat=True)) == message_ids
