"""Write keys are credentials: ingestion never stores them, and guessing them is throttled."""

import base64
import json
import uuid

import pytest
from django.core.cache import cache
from django.forms.models import model_to_dict

from leads.models import Event, RejectedMessage

pytestmark = [pytest.mark.django_db]


def post(client, path, body, write_key=None, **headers):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    if write_key is not None:
        headers["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
    return client.post(path, data=data, content_type="application/json", **headers)


@pytest.fixture(autouse=True)
def empty_counters():
    # Failure and rate counters live in this run's own Redis database.
    cache.clear()
    yield
    cache.clear()


def track(**fields):
    return {"type": "track", "userId": "u1", "event": "Signed Up", "messageId": str(uuid.uuid4())} | fields


def stored_text(row) -> str:
    return json.dumps(model_to_dict(row), default=str)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/track", track()),
        ("/v1/batch", {"batch": [track()]}),
        ("/v1/batch", {"batch": [track(context={"ip": "1.2.3.4"})], "context": {"library": {"name": "x"}}}),
    ],
    ids=["single-message", "each-message-of-a-batch", "message-with-envelope-context"],
)
def test_a_write_key_sent_in_the_body_is_not_stored_with_the_event(client, source_with_key, path, body):
    # given: analytics.js style, the key in the body of the request and of each message
    source, write_key = source_with_key
    body = {**body, "writeKey": write_key}
    for message in body.get("batch", []):
        message["writeKey"] = write_key

    # when
    response = post(client, path, body)

    # then
    assert response.status_code == 200
    event = Event.objects.get(source=source)
    assert write_key not in stored_text(event)
    assert "writeKey" not in stored_text(event)


@pytest.mark.parametrize(
    "rejected",
    [
        {"type": "track", "event": "No user id"},
        {"type": "track", "event": "No user id", "context": {"writeKey": "<key>", "library": {"writeKey": "<key>"}}},
        {"type": "track", "event": "No user id", "traits": [{"write_key": "<key>"}]},
    ],
    ids=["top-level", "nested-in-context", "inside-a-list"],
)
def test_a_write_key_is_stripped_from_a_rejected_message_before_it_is_kept(client, source_with_key, rejected):
    # given
    source, write_key = source_with_key
    message = json.loads(json.dumps(rejected).replace("<key>", write_key)) | {"writeKey": write_key}

    # when
    response = post(client, "/v1/batch", {"batch": [message, track()], "writeKey": write_key})

    # then: the message is kept, with everything but the key
    assert response.status_code == 200
    kept = RejectedMessage.objects.get(source=source)
    assert write_key not in stored_text(kept)
    assert kept.payload["event"] == "No user id"


def test_a_write_key_is_stripped_from_a_rejected_single_message(client, source_with_key):
    # given
    source, write_key = source_with_key

    # when
    response = post(client, "/v1/track", {"userId": "u1", "writeKey": write_key})

    # then
    assert response.status_code == 400
    kept = RejectedMessage.objects.get(source=source)
    assert kept.payload == {"userId": "u1"}


def test_a_write_key_is_stripped_from_a_rejected_message_jsonb_cannot_hold(client, source_with_key):
    # given: a NUL character makes the payload unstorable, so it is kept as text
    source, write_key = source_with_key
    body = json.dumps({"batch": [{"type": "identify", "userId": "u\u0000", "writeKey": write_key}]}).encode()

    # when
    response = post(client, "/v1/batch", body, write_key)

    # then
    assert response.status_code == 200
    kept = RejectedMessage.objects.get(source=source)
    assert "unstorable" in kept.payload
    assert write_key not in stored_text(kept)


@pytest.fixture
def three_failures_allowed(settings):
    settings.INGEST_AUTH_FAILURE_LIMIT = 3
    settings.INGEST_AUTH_FAILURE_WINDOW_SECONDS = 300
    settings.TRUSTED_PROXY_COUNT = 0


def guess(client, **headers):
    return post(client, "/v1/batch", {"batch": [track()]}, "guessed-key", **headers)


def test_past_the_failure_limit_an_address_gets_429_without_its_key_being_checked(
    client, source_with_key, three_failures_allowed
):
    # given: three wrong keys from one address
    _, write_key = source_with_key
    failures = [guess(client).status_code for _ in range(3)]

    # when: the right key comes next, from the same address
    response = post(client, "/v1/batch", {"batch": [track()]}, write_key)

    # then
    assert failures == [401, 401, 401]
    assert response.status_code == 429
    assert response.json()["code"] == "too_many_failures"
    assert 0 < int(response["Retry-After"]) <= 300
    assert not Event.objects.exists()


def test_a_missing_write_key_counts_as_a_failure(client, source_with_key, three_failures_allowed):
    # given
    for _ in range(3):
        post(client, "/v1/batch", {"batch": [track()]})

    # when
    response = guess(client)

    # then
    assert response.status_code == 429


def test_accepted_requests_do_not_count_as_failures(client, source_with_key, three_failures_allowed):
    # given
    _, write_key = source_with_key
    for _ in range(5):
        post(client, "/v1/batch", {"batch": [track()]}, write_key)

    # when
    response = guess(client)

    # then
    assert response.status_code == 401


def test_another_address_is_not_throttled_by_one_guessing(client, source_with_key, three_failures_allowed):
    # given
    _, write_key = source_with_key
    for _ in range(3):
        guess(client, REMOTE_ADDR="203.0.113.9")

    # when
    response = post(client, "/v1/batch", {"batch": [track()]}, write_key, REMOTE_ADDR="198.51.100.7")

    # then
    assert response.status_code == 200


def test_a_forged_forwarded_for_header_does_not_dodge_the_throttle(client, source_with_key, three_failures_allowed):
    # given: no proxy is trusted, and the guesser makes up a new address each time
    for number in range(3):
        guess(client, HTTP_X_FORWARDED_FOR=f"192.0.2.{number}")

    # when
    response = guess(client, HTTP_X_FORWARDED_FOR="192.0.2.200")

    # then
    assert response.status_code == 429


def test_behind_a_trusted_proxy_each_forwarded_client_is_throttled_on_its_own(
    client, source_with_key, three_failures_allowed, settings
):
    # given: one load balancer in front, which appends the address it saw
    settings.TRUSTED_PROXY_COUNT = 1
    _, write_key = source_with_key
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for number in range(3):
        guess(client, HTTP_X_FORWARDED_FOR=f"192.0.2.{number}, 203.0.113.9", **proxy)

    # when
    guesser = guess(client, HTTP_X_FORWARDED_FOR="192.0.2.99, 203.0.113.9", **proxy)
    other = post(client, "/v1/batch", {"batch": [track()]}, write_key, HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy)

    # then
    assert guesser.status_code == 429
    assert other.status_code == 200
