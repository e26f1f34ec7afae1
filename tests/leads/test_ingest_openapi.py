"""The /v1 part of the OpenAPI schema stays in step with the code: every URL, status, error
code, required field and limit the ingestion views enforce, and nothing they do not."""

import ast
import inspect
from datetime import UTC, datetime

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator

from leads.ingest import views
from leads.ingest.messages import (
    EARLIEST_TIME,
    LATEST_TIME,
    MAX_ID_LENGTH,
    MAX_NESTING_DEPTH,
    MESSAGE_TYPES,
    Message,
    Rejection,
    validate_message,
)
from leads.ingest.openapi import ERROR_CODES, OPERATIONS
from qualify_site.api.middleware import MAX_URI_LENGTH

STATUSES = {"200", "400", "401", "403", "413", "414", "415", "429", "503"}


def _schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.fixture(scope="module")
def schema() -> dict:
    return _schema()


def _ingestion_operations(schema):
    for path, operations in schema["paths"].items():
        if path.startswith("/v1/"):
            for method, operation in operations.items():
                yield f"{method.upper()} {path}", operation


def _urls(patterns, prefix: str = "/") -> set[str]:
    urls = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            urls |= _urls(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            urls.add(prefix + str(pattern.pattern))
    return urls


def test_every_v1_url_has_its_operation_in_the_schema_and_no_other(schema):
    # given
    v1_urls = {url for url in _urls(get_resolver().url_patterns) if url.startswith("/v1/")}

    # then
    assert v1_urls == set(OPERATIONS)
    assert {path for path in schema["paths"] if path.startswith("/v1/")} == v1_urls
    assert all(set(schema["paths"][url]) == {"post"} for url in v1_urls)


def test_each_operation_documents_every_status_it_can_answer_with_its_body(schema):
    for name, operation in _ingestion_operations(schema):
        responses = operation["responses"]
        assert set(responses) == STATUSES, name
        success = "IngestionBatchSuccess" if OPERATIONS[name.removeprefix("POST ")] is None else "IngestionSuccess"
        assert responses["200"]["content"]["application/json"]["schema"]["$ref"].endswith(f"/{success}"), name
        for status in STATUSES - {"200"}:
            assert responses[status]["content"]["application/json"]["schema"]["$ref"].endswith("/IngestionError")
        for status in ("429", "503"):
            assert "Retry-After" in responses[status]["headers"], (name, status)


def test_the_write_key_is_the_basic_auth_user_name_of_every_operation(schema):
    # then
    scheme = schema["components"]["securitySchemes"]["writeKey"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "basic")
    for name, operation in _ingestion_operations(schema):
        assert operation["security"] == [{"writeKey": []}], name
        assert set(operation["requestBody"]["content"]) == {"application/json", "text/plain"}, name


def _codes_the_views_answer() -> set[tuple[int, str]]:
    """(status, code) of every IngestError and error JsonResponse written in leads/ingest/views.py."""
    answers = set()
    for node in ast.walk(ast.parse(inspect.getsource(views))):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            continue
        if node.func.id == "IngestError" and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
            answers.add((node.args[0].value, node.args[1].value))
        if node.func.id == "JsonResponse" and isinstance(node.args[0], ast.Dict):
            # IngestError.response() answers the codes above: only literal ones are new here.
            body = {key.value: value for key, value in zip(node.args[0].keys, node.args[0].values, strict=True)}
            status = next((k.value for k in node.keywords if k.arg == "status"), None)
            if isinstance(body.get("code"), ast.Constant) and isinstance(status, ast.Constant):
                answers.add((status.value, body["code"].value))
    return answers


def test_the_error_codes_are_those_the_views_answer():
    # given: 405 is the one status the schema states once, for all (a method not listed)
    answered = {(status, code) for status, code in _codes_the_views_answer() if status != 405}

    # then
    documented = {(status, code) for status, codes in ERROR_CODES.items() for code in codes}
    assert answered == documented


def test_the_documented_limits_are_the_settings_and_constants_in_force(settings):
    # given: settings other than the defaults, as a deployment may set them
    settings.INGEST_MAX_MESSAGE_BYTES = 16_000
    settings.INGEST_MAX_BATCH_BYTES = 1_000_000
    settings.INGEST_RATE_LIMIT_PER_SECOND = 300
    settings.INGEST_RATE_LIMIT_PER_MINUTE = 9_000
    settings.INGEST_RATE_LIMIT_REQUESTS_PER_SECOND = 30
    settings.INGEST_AUTH_FAILURE_LIMIT = 7
    settings.INGEST_AUTH_FAILURE_WINDOW_SECONDS = 60

    # when
    schema = _schema()

    # then
    for name, operation in _ingestion_operations(schema):
        assert operation["x-limits"] == {
            "maxMessageBytes": 16_000,
            "maxRequestBytes": 1_000_000,
            "maxNestingDepth": MAX_NESTING_DEPTH,
            "maxIdLength": MAX_ID_LENGTH,
            "maxUriLength": MAX_URI_LENGTH,
            "earliestTime": EARLIEST_TIME.isoformat(),
            "latestTime": LATEST_TIME.isoformat(),
            "maxUtcOffset": "15:59",
            "rateLimits": {"messagesPerSecond": 300, "messagesPerMinute": 9_000, "requestsPerSecond": 30},
            "writeKeyFailures": {"limit": 7, "windowSeconds": 60},
        }, name
        responses = operation["responses"]
        assert "1000000 bytes" in responses["413"]["description"]
        assert str(MAX_URI_LENGTH) in responses["414"]["description"]
        assert all(f"{n} " in responses["429"]["description"] for n in (300, 9000, 30, 7, 60))
    track = schema["components"]["schemas"]["TrackMessage"]
    assert "16000 bytes" in track["description"] and f"{MAX_NESTING_DEPTH} levels" in track["description"]
    assert track["properties"]["userId"]["oneOf"][0]["maxLength"] == MAX_ID_LENGTH


def _validate(raw: dict, message_type: str | None) -> Message | Rejection:
    return validate_message(
        raw, envelope={}, received_at=datetime(2026, 1, 1, tzinfo=UTC), max_bytes=32_000, message_type=message_type
    )


def _required(message_schema: dict) -> list[str]:
    return [name for name in message_schema.get("required", []) if name != "type"]


@pytest.mark.parametrize("in_batch", [False, True])
@pytest.mark.parametrize("kind", sorted(MESSAGE_TYPES))
def test_each_message_shape_requires_what_validation_requires(schema, kind, in_batch):
    # given: a message with only the fields its schema requires, and userId or anonymousId
    name = f"{'Batch' if in_batch else ''}{kind.capitalize()}Message"
    message_schema = schema["components"]["schemas"][name]
    required = _required(message_schema)
    either = [option["required"][0] for option in message_schema.get("anyOf", [])]
    minimal = dict.fromkeys(required, "x") | ({either[0]: "x"} if either else {})
    if in_batch:
        minimal["type"] = kind
    message_type = None if in_batch else kind

    # then: accepted as it is, rejected naming any required field it lacks
    assert isinstance(_validate(minimal, message_type), Message)
    for field in required + (["type"] if in_batch else []):
        rejection = _validate({key: value for key, value in minimal.items() if key != field}, message_type)
        assert isinstance(rejection, Rejection) and rejection.field == field, (name, field)
    if either:
        assert set(either) == {"userId", "anonymousId"}
        rejection = _validate({key: value for key, value in minimal.items() if key not in either}, message_type)
        assert rejection == Rejection("userId", "userId or anonymousId is required")
