"""The schema documents, per operation, every error status it can answer and the limits behind them."""

import pytest
from django.conf import settings
from drf_spectacular.generators import SchemaGenerator

from qualify_site.api.middleware import MAX_URI_LENGTH
from qualify_site.api.pagination import MAX_PAGE_SIZE
from qualify_site.api.parsers import MAX_JSON_DEPTH

EVERYWHERE = {"400", "401", "406", "414", "503"}


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield f"{method.upper()} {path}", operation


@pytest.mark.parametrize(
    ("operation", "statuses"),
    [
        ("GET /api/leads/", {"200", "403"}),
        ("GET /api/leads/{lead_id}/", {"200", "403", "404"}),
        ("POST /api/auth/token/", {"200", "403", "413", "415", "429"}),
        ("POST /api/routing/leads/{lead_id}/route/", {"200", "403", "404", "409", "413", "415"}),
        ("POST /api/routing/assignments/{assignment_id}/activities/", {"201", "403", "404", "413", "415"}),
        ("GET /api/routing/assignments/", {"200", "403"}),
        ("GET /api/insights/conversion/", {"200", "403"}),
    ],
)
def test_each_operation_documents_the_statuses_it_can_answer(schema, operation, statuses):
    # when
    documented = set(dict(_operations(schema))[operation]["responses"])

    # then
    assert documented == EVERYWHERE | statuses


def test_every_error_response_has_the_error_body(schema):
    for name, operation in _operations(schema):
        # /v1 errors have their own component: the same {code, message}, with the codes listed.
        body = "IngestionError" if " /v1/" in name else "Error"
        for status, response in operation["responses"].items():
            if status.startswith("4") and status != "409" or status.startswith("5"):
                reference = response["content"]["application/json"]["schema"]["$ref"]
                assert reference == f"#/components/schemas/{body}", (name, status)
    for body in ("Error", "IngestionError"):
        assert schema["components"]["schemas"][body]["required"] == ["code", "message"]


def test_waiting_statuses_document_retry_after(schema):
    for name, operation in _operations(schema):
        for status in {"429", "503"} & set(operation["responses"]):
            assert "Retry-After" in operation["responses"][status]["headers"], (name, status)


def test_the_limits_are_stated_as_the_code_enforces_them(schema):
    # given
    operations = dict(_operations(schema))
    route = operations["POST /api/routing/leads/{lead_id}/route/"]["responses"]
    page_size = next(p for p in operations["GET /api/events/"]["parameters"] if p["name"] == "page_size")
    reason = schema["components"]["schemas"]["AssignmentRejectInput"]["properties"]["reason"]

    # then
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in route["413"]["description"]
    assert str(MAX_URI_LENGTH) in route["414"]["description"]
    assert str(MAX_JSON_DEPTH) in route["400"]["description"]
    assert (page_size["schema"]["minimum"], page_size["schema"]["maximum"]) == (1, MAX_PAGE_SIZE)
    assert reason["maxLength"] == 500
