"""Structured logs: JSON lines with request, task and batch ids, and no credential in any line."""

import base64
import io
import json
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import structlog
from django.core.cache import cache

from leads.models import Event
from qualify_site.structured_logging import REDACTED, formatter_config, redact_text
from tests.worker_utils import celery_worker, tasks_routed_to_own_queue, wait_until

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def json_log():
    """Every log line of this process while the test runs, rendered as in production; yields the stream."""
    config = formatter_config("json")
    config.pop("()")
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(**config))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler.stream
    finally:
        root.removeHandler(handler)


def lines(stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def basic_auth(write_key: str) -> str:
    return "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()


def track() -> dict:
    return {"type": "track", "userId": "u1", "event": "Signed Up", "messageId": str(uuid.uuid4())}


@pytest.mark.parametrize(
    ("text", "kept", "gone"),
    [
        ("Authorization: Basic c2VjcmV0LWtleTo=", "Authorization: Basic", "c2VjcmV0LWtleTo="),
        ("POST /v1/batch?writeKey=sk-123456&x=1", "x=1", "sk-123456"),
        ("{'writeKey': 'sk-123456', 'userId': 'u1'}", "'userId': 'u1'", "sk-123456"),
        ('{"password": "hunter22"}', '"password": "', "hunter22"),
        ("Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "Token", "9944b09199c62bcf"),
    ],
    ids=["basic-header", "query-string", "dict-repr", "json", "drf-token"],
)
def test_credentials_are_redacted_from_free_text(text, kept, gone):
    redacted = redact_text(text)

    assert kept in redacted
    assert gone not in redacted
    assert REDACTED in redacted


def test_a_plain_stdlib_logger_writes_json_with_credentials_redacted(json_log):
    # when: code that knows nothing of structlog logs a credential by name and in its text
    logging.getLogger("leads.somewhere").warning(
        "client sent %s", "writeKey=sk-abcdef", extra={"write_key": "sk-abcdef", "sla_webhook_secret": "s3", "n": 3}
    )

    # then
    [line] = [line for line in lines(json_log) if line["logger"] == "leads.somewhere"]
    assert line["event"] == f"client sent writeKey={REDACTED}"
    assert line["write_key"] == line["sla_webhook_secret"] == REDACTED
    assert line["n"] == 3
    assert line["level"] == "warning"
    assert "sk-abcdef" not in json_log.getvalue()


@pytest.mark.django_db
def test_a_request_gets_a_json_log_line_with_its_request_id_echoed_in_the_response(client, json_log):
    # when
    response = client.get("/health/")

    # then
    request_id = response["X-Request-ID"]
    [finished] = [line for line in lines(json_log) if line["event"] == "request_finished"]
    assert finished["request_id"] == request_id
    assert finished["code"] == 200
    assert finished["request"] == "GET /health/"
    assert uuid.UUID(request_id)


@pytest.mark.parametrize(
    ("incoming", "is_kept"),
    [
        ("lb-7f3a9c0e.42", True),
        (str(uuid.uuid4()), True),
        ("two words", False),
        ('x", "level": "fake', False),
        ("x" * 129, False),
    ],
    ids=["load-balancer-id", "uuid", "space", "log-injection", "too-long"],
)
@pytest.mark.django_db
def test_a_sane_incoming_request_id_is_kept_and_another_is_replaced(client, json_log, incoming, is_kept):
    # when
    response = client.get("/health/", HTTP_X_REQUEST_ID=incoming)

    # then
    request_id = response["X-Request-ID"]
    assert (request_id == incoming) is is_kept
    assert [line["request_id"] for line in lines(json_log) if line["event"] == "request_finished"] == [request_id]


@pytest.mark.postgres
@pytest.mark.django_db
def test_no_log_line_carries_a_write_key_while_ingesting(client, source_with_key, json_log, settings):
    # given: a good key, and the guesses of a misconfigured client
    settings.INGEST_AUTH_FAILURE_LIMIT = 100
    cache.clear()
    _, write_key = source_with_key
    guesses = ["wk-guess-0123456789abcdef", "wk-guess-in-body-0123456789", "wk-guess-in-query-0123456789"]

    # when
    responses = [
        client.post(
            "/v1/batch",
            json.dumps({"batch": [track(), {"type": "track", "writeKey": write_key}]}),
            content_type="application/json",
            HTTP_AUTHORIZATION=basic_auth(write_key),
        ),
        client.post(
            "/v1/batch",
            json.dumps({"batch": [track()]}),
            content_type="application/json",
            HTTP_AUTHORIZATION=basic_auth(guesses[0]),
        ),
        client.post("/v1/track", json.dumps({**track(), "writeKey": guesses[1]}), content_type="application/json"),
        client.post(f"/v1/track?writeKey={guesses[2]}", json.dumps(track()), content_type="application/json"),
    ]

    # then
    assert [r.status_code for r in responses] == [200, 401, 401, 401]
    output = json_log.getvalue()
    assert "ingestion refused an unknown write key" in output
    for secret in [write_key, *guesses]:
        assert secret not in output
    cache.clear()


def test_a_production_process_logs_json_lines(tmp_path):
    # given: production settings, as in the README
    env = {**os.environ, "DEBUG": "False", "SECRET_KEY": "s" * 50, "ALLOWED_HOSTS": "qualify.example.com"}
    env.pop("LOG_FORMAT", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    code = "import logging; logging.getLogger('qualify.anywhere').warning('plain %s', 'stdlib')"

    # when
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )

    # then
    logged = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert {"event": "plain stdlib", "logger": "qualify.anywhere", "level": "warning"}.items() <= logged[-1].items()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_one_batch_can_be_followed_from_the_request_to_its_processing_task(client, source_with_key, json_log):
    # given: a real worker logging as in production
    _, write_key = source_with_key
    with tasks_routed_to_own_queue() as queue, celery_worker(queue=queue, env={"LOG_FORMAT": "json"}) as worker:
        # when
        response = client.post(
            "/v1/batch",
            json.dumps({"batch": [track()]}),
            content_type="application/json",
            HTTP_AUTHORIZATION=basic_auth(write_key),
        )
        wait_until(
            lambda: not Event.objects.filter(processed_at__isnull=True).exists(), message="the batch to be processed"
        )
        wait_until(lambda: '"task_succeeded"' in worker.log, message="the task's last line")
        worker_lines = [json.loads(line) for line in worker.log.splitlines() if line.startswith("{")]

    # then: the request's line and the task's lines share the batch id and the request id
    [finished] = [line for line in lines(json_log) if line["event"] == "request_finished"]
    batch_id = Event.objects.get().batch_id
    assert finished["batch_id"] == str(batch_id)
    task_lines = [line for line in worker_lines if line.get("batch_id") == str(batch_id)]
    assert {line["event"] for line in task_lines} >= {"task_succeeded"}
    assert {line["request_id"] for line in task_lines} == {response["X-Request-ID"]}
    assert all(line["task_id"] for line in task_lines)
