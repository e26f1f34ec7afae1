"""The /v1/ Segment HTTP Tracking API: endpoints, errors, idempotency, gzip, limits."""

import base64
import gzip
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache

from leads.models import Event, RejectedMessage
from qualify_site.api.middleware import MAX_URI_LENGTH

pytestmark = [pytest.mark.django_db]


def basic_auth(write_key: str) -> str:
    return "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()


def post(client, path, body, write_key=None, **headers):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    if write_key is not None:
        headers["HTTP_AUTHORIZATION"] = basic_auth(write_key)
    return client.post(path, data=data, content_type="application/json", **headers)


@pytest.fixture(autouse=True)
def empty_rate_limit_counters():
    # The cache is this run's own Redis database: counters from another test must not leak in.
    cache.clear()
    yield
    cache.clear()


def track(message_id=None, **fields):
    return {
        "type": "track",
        "userId": "u1",
        "event": "Signed Up",
        "messageId": message_id or str(uuid.uuid4()),
    } | fields


SINGLE_MESSAGES = {
    "identify": {"userId": "u1", "traits": {"email": "ann@acme.com"}},
    "track": {"userId": "u1", "event": "Trial Started", "properties": {"plan": "pro"}},
    "page": {"anonymousId": "a1", "name": "Pricing"},
    "screen": {"userId": "u1", "name": "Settings"},
    "group": {"userId": "u1", "groupId": "g1", "traits": {"name": "Acme"}},
    "alias": {"userId": "u1", "previousId": "a1"},
}


@pytest.mark.parametrize("message_type", sorted(SINGLE_MESSAGES))
def test_each_single_message_endpoint_stores_its_message(client, source_with_key, message_type):
    # given
    source, write_key = source_with_key
    body = SINGLE_MESSAGES[message_type] | {"messageId": f"m-{message_type}"}

    # when
    response = post(client, f"/v1/{message_type}", body, write_key)

    # then
    assert response.status_code == 200
    assert response.json() == {"success": True}
    event = Event.objects.get(source=source, message_id=f"m-{message_type}")
    assert event.type == message_type
    assert event.processed_at is None


@pytest.mark.parametrize("path", ["/v1/batch", "/v1/import"])
def test_batch_and_import_store_every_message(client, source_with_key, path):
    # given
    source, write_key = source_with_key
    batch = [{"type": t, **fields} for t, fields in SINGLE_MESSAGES.items()]

    # when
    response = post(client, path, {"batch": batch}, write_key)

    # then
    assert response.status_code == 200
    assert response.json() == {"success": True}
    events = Event.objects.filter(source=source)
    assert sorted(events.values_list("type", flat=True)) == sorted(SINGLE_MESSAGES)
    assert len(set(events.values_list("batch_id", flat=True))) == 1


def test_it_stores_the_fields_in_their_columns(client, source_with_key):
    # given
    _, write_key = source_with_key
    message = track(
        "m-1",
        anonymousId="a1",
        properties={"plan": "pro"},
        context={"ip": "1.2.3.4"},
        category="Onboarding",
        timestamp="2025-03-01T10:00:00Z",
    )

    # when
    post(client, "/v1/batch", {"batch": [message]}, write_key)

    # then
    event = Event.objects.get(message_id="m-1")
    assert (event.type, event.event, event.user_id, event.anonymous_id) == ("track", "Signed Up", "u1", "a1")
    assert event.properties == {"plan": "pro"}
    assert event.context == {"ip": "1.2.3.4"}
    assert event.extra == {"category": "Onboarding"}
    assert event.original_timestamp == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)


def test_the_write_key_can_be_sent_in_the_body(client, source_with_key):
    # given
    source, write_key = source_with_key

    # when
    response = post(client, "/v1/batch", {"writeKey": write_key, "batch": [track("m-1")]})

    # then
    assert response.status_code == 200
    assert Event.objects.filter(source=source, message_id="m-1").exists()


def test_it_stores_the_same_message_id_once_however_often_it_is_sent(client, source_with_key):
    # given
    source, write_key = source_with_key
    body = {"batch": [track("m-1"), track("m-2"), track("m-1")]}

    # when
    responses = [post(client, "/v1/batch", body, write_key) for _ in range(3)]
    post(client, "/v1/track", track("m-2"), write_key)

    # then
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert sorted(Event.objects.filter(source=source).values_list("message_id", flat=True)) == ["m-1", "m-2"]


def test_a_message_without_id_retried_verbatim_is_stored_once(client, source_with_key):
    # given
    source, write_key = source_with_key
    message = {"type": "track", "userId": "u1", "event": "Clicked", "timestamp": "2025-03-01T10:00:00Z"}

    # when: retries resend the same batch with a fresh sentAt
    for second in range(3):
        post(client, "/v1/batch", {"batch": [message], "sentAt": f"2025-03-01T10:00:0{second}Z"}, write_key)

    # then
    assert Event.objects.filter(source=source).count() == 1


def test_the_same_message_id_from_two_sources_is_two_events(client, source_with_key, marketing_source_with_key):
    # when
    for _, write_key in (source_with_key, marketing_source_with_key):
        post(client, "/v1/track", track("m-1"), write_key)

    # then
    assert Event.objects.filter(message_id="m-1").count() == 2


def test_the_envelope_context_integrations_and_sent_at_apply_to_each_message(client, source_with_key):
    # given
    _, write_key = source_with_key
    body = {
        "batch": [
            track("m-1", timestamp="2030-01-01T00:00:00Z"),
            track("m-2", context={"ip": "9.9.9.9"}, integrations={"All": True}),
        ],
        "context": {"ip": "1.2.3.4", "library": {"name": "analytics-python"}},
        "integrations": {"All": False},
        # The client's clock is years ahead: its timestamps must be corrected.
        "sentAt": "2030-01-01T00:00:30Z",
    }

    # when
    before = datetime.now(UTC)
    post(client, "/v1/batch", body, write_key)
    after = datetime.now(UTC)

    # then
    first, second = Event.objects.get(message_id="m-1"), Event.objects.get(message_id="m-2")
    assert first.context == {"ip": "1.2.3.4", "library": {"name": "analytics-python"}}
    assert second.context == {"ip": "9.9.9.9", "library": {"name": "analytics-python"}}
    assert first.extra == {"integrations": {"All": False}}
    assert second.extra == {"integrations": {"All": True}}
    assert first.sent_at == datetime(2030, 1, 1, 0, 0, 30, tzinfo=UTC)
    assert first.original_timestamp == datetime(2030, 1, 1, tzinfo=UTC)
    assert before <= first.received_at <= after
    assert first.timestamp == first.received_at - timedelta(seconds=30)
    assert second.timestamp == second.received_at


def test_invalid_messages_in_a_batch_are_kept_with_their_reason_and_the_valid_ones_stored(client, source_with_key):
    # given
    source, write_key = source_with_key
    batch = [
        track("good-1"),
        {"type": "track", "event": "No Ids", "messageId": "bad-1"},
        {"type": "track", "userId": "u1", "messageId": "bad-2"},
        {"type": "shout", "userId": "u1"},
        track("bad-4", timestamp="last tuesday"),
        track("bad-5", properties={"blob": "x" * 40_000}),
        "not even an object",
        track("good-2"),
    ]

    # when
    response = post(client, "/v1/batch", {"batch": batch}, write_key)

    # then
    assert response.status_code == 200
    rejected = response.json()["rejected"]
    assert [(r["index"], r["field"]) for r in rejected] == [
        (1, "userId"),
        (2, "event"),
        (3, "type"),
        (4, "timestamp"),
        (5, ""),
        (6, ""),
    ]
    assert sorted(Event.objects.filter(source=source).values_list("message_id", flat=True)) == ["good-1", "good-2"]
    kept = RejectedMessage.objects.filter(source=source).order_by("index")
    assert [(r.index, r.field) for r in kept] == [(r["index"], r["field"]) for r in rejected]
    assert kept[0].payload == batch[1]
    assert "over the 32768 byte limit" in kept[4].reason
    assert kept[0].batch_id == Event.objects.get(message_id="good-1").batch_id


IMPOSSIBLE_TIMES = [
    ("timestamp", "2025-03-01T10:00:00+16:00"),
    ("originalTimestamp", "2025-03-01T10:00:00-16:00"),
    ("sentAt", "2025-03-01T10:00:00+16:00"),
    ("timestamp", "9999-12-31T23:00:00-05:00"),
    ("sentAt", "0001-01-01T00:00:00+05:00"),
]


def test_an_impossible_time_rejects_its_message_and_the_rest_of_the_batch_is_stored_and_processed(
    client, source_with_key, django_capture_on_commit_callbacks
):
    # given: each impossible time in a message of its own, between good ones
    source, write_key = source_with_key
    poisoned = [track(f"bad-{i}", **{field: value}) for i, (field, value) in enumerate(IMPOSSIBLE_TIMES)]
    batch = [track("good-1"), *poisoned, track("good-2", timestamp="2025-03-01T10:00:00+15:59")]

    # when: the processing task enqueued on commit runs (eagerly)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, "/v1/batch", {"batch": batch}, write_key)

    # then: the impossible ones are kept with their reason, the good ones stored and processed
    assert response.status_code == 200
    rejected = response.json()["rejected"]
    assert [(r["index"], r["field"]) for r in rejected] == [(i + 1, f) for i, (f, _) in enumerate(IMPOSSIBLE_TIMES)]
    kept = RejectedMessage.objects.filter(source=source).order_by("index")
    assert [r.payload["messageId"] for r in kept] == [f"bad-{i}" for i in range(len(IMPOSSIBLE_TIMES))]
    assert all(r.reason.startswith(r.field) for r in kept)
    events = Event.objects.filter(source=source)
    assert sorted(events.values_list("message_id", flat=True)) == ["good-1", "good-2"]
    assert not events.filter(processed_at__isnull=True).exists()
    assert events.get(message_id="good-2").original_timestamp == datetime(2025, 2, 28, 18, 1, tzinfo=UTC)


@pytest.mark.parametrize(("field", "value"), IMPOSSIBLE_TIMES)
def test_an_impossible_time_in_a_single_message_gets_400_naming_the_field(client, source_with_key, field, value):
    # when
    response = post(client, "/v1/track", track(**{field: value}), source_with_key[1])

    # then
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert not Event.objects.exists()


def test_an_impossible_envelope_sent_at_rejects_the_messages_it_applies_to(client, source_with_key):
    # given: one message has its own sentAt, which wins over the envelope's
    _, write_key = source_with_key
    body = {
        "batch": [track("m-1"), track("m-2", sentAt="2025-03-01T10:00:00Z")],
        "sentAt": "2025-03-01T10:00:00+16:00",
    }

    # when
    response = post(client, "/v1/batch", body, write_key)

    # then
    assert response.status_code == 200
    assert [(r["index"], r["field"]) for r in response.json()["rejected"]] == [(0, "sentAt")]
    assert "the batch's sentAt" in response.json()["rejected"][0]["reason"]
    assert list(Event.objects.values_list("message_id", flat=True)) == ["m-2"]


def deep_properties(levels: int) -> bytes:
    return b'{"p": ' + b"[" * levels + b"]" * levels + b"}"


@pytest.mark.parametrize("levels", [100, 900, 100_000])
def test_a_deeply_nested_message_is_rejected_alone_and_the_rest_of_the_batch_is_stored(client, source_with_key, levels):
    # given: 100,000 levels is deeper than Python's json can parse in one go
    source, write_key = source_with_key
    good = [json.dumps(track(f"good-{i}")).encode() for i in range(2)]
    deep = b'{"type": "track", "userId": "u1", "event": "Deep", "messageId": "deep", "properties": '
    deep += deep_properties(levels) + b"}"
    body = b'{"batch": [' + b", ".join([good[0], deep, good[1]]) + b"]}"

    # when
    response = post(client, "/v1/batch", body, write_key)

    # then
    assert response.status_code == 200
    assert [(r["index"], r["field"]) for r in response.json()["rejected"]] == [(1, "properties")]
    assert sorted(Event.objects.filter(source=source).values_list("message_id", flat=True)) == ["good-0", "good-1"]
    kept = RejectedMessage.objects.get(source=source)
    assert "nested more than" in kept.reason
    assert kept.payload["messageId"] == "deep"


def test_a_deeply_nested_single_message_gets_400_naming_the_field(client, source_with_key):
    # given
    body = b'{"userId": "u1", "event": "Deep", "properties": ' + deep_properties(100_000) + b"}"

    # when
    response = post(client, "/v1/track", body, source_with_key[1])

    # then
    assert response.status_code == 400
    assert response.json()["field"] == "properties"
    assert not Event.objects.exists()


def test_a_deeply_nested_envelope_context_rejects_the_messages_it_applies_to(client, source_with_key):
    # given
    body = b'{"batch": [' + json.dumps(track("m-1")).encode() + b'], "context": ' + deep_properties(100_000) + b"}"

    # when
    response = post(client, "/v1/batch", body, source_with_key[1])

    # then
    assert response.status_code == 200
    assert [(r["index"], r["field"]) for r in response.json()["rejected"]] == [(0, "context")]
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "text/html"],
)
def test_a_body_that_is_not_json_by_its_content_type_gets_415(client, source_with_key, content_type):
    # given
    body = json.dumps({"batch": [track("m-1")]})

    # when
    response = client.post(
        "/v1/batch", body, content_type=content_type, HTTP_AUTHORIZATION=basic_auth(source_with_key[1])
    )

    # then
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert content_type.split(";")[0] in response.json()["message"]
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    "content_type",
    # text/plain is what analytics.js sends, to spare the browser a CORS preflight.
    ["application/json", "application/json; charset=utf-8", "text/plain", "text/plain;charset=UTF-8", ""],
)
def test_json_is_read_as_application_json_text_plain_or_without_a_content_type(client, source_with_key, content_type):
    # when
    response = client.post(
        "/v1/batch",
        json.dumps({"batch": [track("m-1")]}),
        content_type=content_type,
        HTTP_AUTHORIZATION=basic_auth(source_with_key[1]),
    )

    # then
    assert response.status_code == 200
    assert Event.objects.filter(message_id="m-1").exists()


def test_a_single_message_over_32_kb_gets_413_as_the_readme_says_and_is_kept(client, source_with_key):
    # when
    response = post(client, "/v1/track", track("big", properties={"blob": "x" * 33_000}), source_with_key[1])

    # then
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert "over the 32768 byte limit" in response.json()["message"]
    assert not Event.objects.exists()
    assert RejectedMessage.objects.get().payload["messageId"] == "big"


def test_a_rejected_message_that_jsonb_cannot_hold_is_still_kept(client, source_with_key):
    # given: a NUL character, which PostgreSQL refuses in jsonb
    _, write_key = source_with_key
    body = b'{"batch": [{"type": "identify", "userId": "u\\u0000"}]}'

    # when
    response = post(client, "/v1/batch", body, write_key)

    # then
    assert response.status_code == 200
    assert "NUL" in RejectedMessage.objects.get().reason
    assert "unstorable" in RejectedMessage.objects.get().payload


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/track", {"userId": "u1"}, "event"),
        ("/v1/identify", {"traits": {"email": "a@b.com"}}, "userId"),
        ("/v1/group", {"userId": "u1"}, "groupId"),
        ("/v1/alias", {"userId": "u1"}, "previousId"),
        ("/v1/page", {"userId": "u1", "timestamp": "soon"}, "timestamp"),
    ],
)
def test_an_invalid_single_message_gets_400_naming_the_field(client, source_with_key, path, body, field):
    # given
    _, write_key = source_with_key

    # when
    response = post(client, path, body, write_key)

    # then
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_message"
    assert response.json()["field"] == field
    assert field in response.json()["message"]
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "bad_request"),
        (b"this is not json", "invalid_json"),
        (b"[1, 2, 3]", "invalid_json"),
        (b'{"batch": [{"type": "identify", "userId": "u", "traits": {"x": NaN}}]}', "invalid_json"),
        (b"\xff\xfe\xfa", "invalid_json"),
        (b"[" * 100_000 + b"]" * 100_000, "invalid_json"),
        (b'{"messages": []}', "bad_request"),
        (b'{"batch": {"type": "track"}}', "bad_request"),
    ],
    ids=["empty", "not-json", "not-object", "nan", "not-utf8", "deep-nesting", "no-batch", "batch-not-array"],
)
def test_an_unreadable_batch_gets_400_saying_what_is_wrong(client, source_with_key, body, code):
    # given
    _, write_key = source_with_key

    # when
    response = post(client, "/v1/batch", body, write_key)

    # then
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["message"]


def test_an_empty_batch_is_fine(client, source_with_key):
    # when
    response = post(client, "/v1/batch", {"batch": []}, source_with_key[1])

    # then
    assert response.status_code == 200
    assert not Event.objects.exists()


@pytest.mark.parametrize("path", ["/v1/batch", "/v1/track"])
def test_a_missing_write_key_gets_401(client, source_with_key, path):
    # when
    response = post(client, path, {"batch": [track()]} if path == "/v1/batch" else track())

    # then
    assert response.status_code == 401
    assert response.json()["code"] == "missing_write_key"
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    "authorization",
    ["Basic " + base64.b64encode(b"not-a-key:").decode(), "Basic !!!not-base64", "Basic " + "QUJD"],
    ids=["unknown-key", "garbled-header", "no-colon"],
)
def test_an_unknown_write_key_gets_401(client, source_with_key, authorization):
    # when
    response = post(client, "/v1/batch", {"batch": [track()]}, HTTP_AUTHORIZATION=authorization)

    # then
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_write_key"
    assert not Event.objects.exists()


def test_an_unknown_write_key_in_the_body_gets_401(client, source_with_key):
    # when
    response = post(client, "/v1/batch", {"writeKey": "nope", "batch": [track()]})

    # then
    assert response.status_code == 401


def test_a_disabled_source_gets_403(client, source_with_key):
    # given
    source, write_key = source_with_key
    source.is_active = False
    source.save()

    # when
    response = post(client, "/v1/batch", {"batch": [track()]}, write_key)

    # then
    assert response.status_code == 403
    assert response.json()["code"] == "source_disabled"
    assert not Event.objects.exists()


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_other_methods_get_405(client, source_with_key, method):
    # when
    response = getattr(client, method)("/v1/batch")

    # then
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["code"] == "method_not_allowed"


def test_a_gzip_body_is_decompressed(client, source_with_key):
    # given
    source, write_key = source_with_key
    body = gzip.compress(json.dumps({"batch": [track("m-1"), track("m-2")]}).encode())

    # when
    response = post(client, "/v1/batch", body, write_key, HTTP_CONTENT_ENCODING="gzip")

    # then
    assert response.status_code == 200
    assert Event.objects.filter(source=source).count() == 2


def test_a_gzip_bomb_gets_413_without_decompressing_it_all(client, source_with_key, settings):
    # given: 1 GB of zeros compresses to about 1 MB; the cap is 4 MB
    _, write_key = source_with_key
    settings.INGEST_MAX_BATCH_BYTES = 4 * 1024 * 1024
    compressor = gzip.GzipFile(fileobj=(buffer := __import__("io").BytesIO()), mode="wb", compresslevel=9)
    chunk = b"\0" * (1024 * 1024)
    for _ in range(1024):
        compressor.write(chunk)
    compressor.close()
    bomb = buffer.getvalue()
    assert len(bomb) < settings.INGEST_MAX_BATCH_BYTES

    # when
    response = post(client, "/v1/batch", bomb, write_key, HTTP_CONTENT_ENCODING="gzip")

    # then
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("body", "code"),
    [(b"not gzip at all", "bad_request"), (gzip.compress(b'{"batch": []}')[:-12], "bad_request")],
    ids=["not-gzip", "truncated"],
)
def test_a_broken_gzip_body_gets_400(client, source_with_key, body, code):
    # when
    response = post(client, "/v1/batch", body, source_with_key[1], HTTP_CONTENT_ENCODING="gzip")

    # then
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_an_unsupported_content_encoding_gets_400(client, source_with_key):
    # when
    response = post(client, "/v1/batch", {"batch": []}, source_with_key[1], HTTP_CONTENT_ENCODING="br")

    # then
    assert response.status_code == 400
    assert response.json()["code"] == "unsupported_encoding"


@pytest.mark.parametrize("path", ["/v1/batch", "/v1/track"])
def test_a_uri_over_the_limit_gets_414_in_the_error_body_and_nothing_is_stored(client, source_with_key, path):
    # given: the limit the /api answers with too (and the schema states)
    query = "?pad=" + "x" * MAX_URI_LENGTH

    # when
    response = post(client, path + query, {"batch": [track()]} | track(), source_with_key[1])

    # then
    assert response.status_code == 414
    assert response.json()["code"] == "uri_too_long"
    assert str(MAX_URI_LENGTH) in response.json()["message"]
    assert not Event.objects.exists()


def test_a_body_over_the_batch_limit_gets_413(client, source_with_key, settings):
    # given
    _, write_key = source_with_key
    settings.INGEST_MAX_BATCH_BYTES = 10_000
    body = {"batch": [track(properties={"n": "x" * 1000}) for _ in range(20)]}

    # when
    response = post(client, "/v1/batch", body, write_key)

    # then
    assert response.status_code == 413
    assert not Event.objects.exists()


def test_a_declared_content_length_over_the_limit_gets_413_before_reading(client, source_with_key, settings):
    # given
    settings.INGEST_MAX_BATCH_BYTES = 10_000

    # when
    response = post(client, "/v1/batch", b"{}", source_with_key[1], CONTENT_LENGTH="50000000")

    # then
    assert response.status_code == 413


def test_a_gzip_body_over_the_limit_once_decompressed_gets_413(client, source_with_key, settings):
    # given: small compressed, large decompressed
    settings.INGEST_MAX_BATCH_BYTES = 10_000
    body = gzip.compress(json.dumps({"batch": [track(properties={"n": "x" * 1000}) for _ in range(20)]}).encode())
    assert len(body) < 10_000

    # when
    response = post(client, "/v1/batch", body, source_with_key[1], HTTP_CONTENT_ENCODING="gzip")

    # then
    assert response.status_code == 413


def test_a_real_client_batch_of_4_mb_is_accepted(client, source_with_key):
    # given: 500 messages of about 8 KB, as clients that build 4 MB batches send
    source, write_key = source_with_key
    body = {"batch": [track(properties={"blob": "x" * 8000}) for _ in range(500)]}
    assert 3_900_000 < len(json.dumps(body)) < 4 * 1024 * 1024

    # when
    response = post(client, "/v1/batch", body, write_key)

    # then
    assert response.status_code == 200
    assert Event.objects.filter(source=source).count() == 500


@pytest.mark.redis
def test_over_the_rate_limit_a_source_gets_429_with_retry_after(client, source_with_key, marketing_source_with_key):
    # given: a limit of 10 messages a minute
    source, write_key = source_with_key
    source.rate_limit_per_minute = 10
    source.save()

    # when
    first = post(client, "/v1/batch", {"batch": [track() for _ in range(6)]}, write_key)
    second = post(client, "/v1/batch", {"batch": [track() for _ in range(6)]}, write_key)
    third = post(client, "/v1/track", track(), write_key)
    other_source = post(client, "/v1/track", track(), marketing_source_with_key[1])

    # then: the second request starts under the limit so it is admitted whole; the third is refused
    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)
    assert 1 <= int(third["Retry-After"]) <= 60
    assert third.json()["code"] == "rate_limited"
    assert Event.objects.filter(source=source).count() == 12
    assert other_source.status_code == 200


@pytest.mark.redis
def test_the_rate_limit_is_keyed_on_the_write_key_not_on_client_headers(client, source_with_key):
    # given
    source, write_key = source_with_key
    source.rate_limit_per_minute = 1
    source.save()
    post(client, "/v1/track", track(), write_key, HTTP_X_FORWARDED_FOR="1.1.1.1")

    # when
    response = post(client, "/v1/track", track(), write_key, HTTP_X_FORWARDED_FOR="2.2.2.2")

    # then
    assert response.status_code == 429


@pytest.mark.redis
def test_the_default_rate_limit_comes_from_settings(client, source_with_key, settings):
    # given
    settings.INGEST_RATE_LIMIT_PER_MINUTE = 2
    _, write_key = source_with_key

    # when
    statuses = [post(client, "/v1/track", track(), write_key).status_code for _ in range(3)]

    # then
    assert statuses == [200, 200, 429]
