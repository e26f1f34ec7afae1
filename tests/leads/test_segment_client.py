"""End to end with Segment's official Python library pointed at our server.

Proves wire compatibility: the library sends everything to /v1/batch with
Basic auth, a batch-level sentAt and (optionally) a gzip body; it drops a
batch on most 4xx, so any mismatch shows up as missing events.
"""

import time
import uuid

import pytest
from django.db import connection
from segment.analytics import Client
from segment.analytics import request as segment_request
from segment.analytics.request import APIError

from leads.models import Event

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def live_server_sessions_closed():
    """Close the library's keep-alive HTTP session so the live server's request
    threads end and close their database sessions; end any that linger. One
    left open makes dropping the test database fail at the end of the run.
    """
    yield
    segment_request._session.close()
    others = "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    deadline = time.monotonic() + 2
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(f"SELECT count(*) {others}")  # noqa: S608 - constant text
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.05)
        # Only the live server's threads use this test database besides us.
        cursor.execute(f"SELECT pg_terminate_backend(pid) {others}")  # noqa: S608 - constant text


@pytest.mark.parametrize("use_gzip", [False, True], ids=["plain", "gzip"])
def test_the_segment_python_library_delivers_every_call_unmodified(live_server, source_with_key, use_gzip):
    # given
    source, write_key = source_with_key
    errors = []
    client = Client(
        write_key,
        host=live_server.url,
        gzip=use_gzip,
        on_error=lambda error, batch: errors.append(error),
        max_retries=1,
    )
    anonymous_id = f"anon-{uuid.uuid4()}"

    # when
    client.page(anonymous_id=anonymous_id, name="Pricing", properties={"path": "/pricing"}, message_id="m-page")
    client.identify(
        user_id="user-1",
        traits={"email": "Ann@Acme.com", "title": "CTO"},
        anonymous_id=anonymous_id,
        message_id="m-identify",
    )
    client.track(user_id="user-1", event="Trial Started", properties={"plan": "pro"}, message_id="m-track")
    client.group(user_id="user-1", group_id="acme", traits={"name": "Acme", "employees": 250}, message_id="m-group")
    client.alias(previous_id=anonymous_id, user_id="user-1", message_id="m-alias")
    client.screen(user_id="user-1", name="Dashboard", message_id="m-screen")
    client.flush()
    client.join()

    # then
    assert errors == []
    events = {e.message_id: e for e in Event.objects.filter(source=source)}
    assert set(events) == {"m-page", "m-identify", "m-track", "m-group", "m-alias", "m-screen"}
    assert events["m-identify"].traits == {"email": "Ann@Acme.com", "title": "CTO"}
    assert events["m-identify"].anonymous_id == anonymous_id
    assert (events["m-track"].event, events["m-track"].properties) == ("Trial Started", {"plan": "pro"})
    assert events["m-group"].group_id == "acme"
    assert events["m-alias"].previous_id == anonymous_id
    assert events["m-page"].name == "Pricing"
    assert events["m-track"].context["library"]["name"] == "analytics-python"
    # The library stamps a batch-level sentAt, so skew correction applied.
    assert all(e.sent_at is not None and e.original_timestamp is not None for e in events.values())
    assert all(e.timestamp <= e.received_at for e in events.values())


def test_the_segment_library_retrying_a_batch_stores_it_once(live_server, source_with_key):
    # given
    source, write_key = source_with_key
    client = Client(write_key, host=live_server.url, sync_mode=True)

    # when: the same messageIds sent again, as the library does after a timeout
    for _ in range(2):
        client.track(user_id="user-1", event="Seats Added", message_id="m-1")
        client.identify(user_id="user-1", traits={"plan": "team"}, message_id="m-2")

    # then
    assert sorted(Event.objects.filter(source=source).values_list("message_id", flat=True)) == ["m-1", "m-2"]


def test_the_segment_library_reports_a_bad_write_key_as_a_final_error(live_server, source_with_key):
    # given
    client = Client("not-a-key", host=live_server.url, sync_mode=True)

    # when
    with pytest.raises(APIError) as error:
        client.track(user_id="user-1", event="Clicked")

    # then
    assert (error.value.status, error.value.code) == (401, "invalid_write_key")
    assert not Event.objects.exists()
