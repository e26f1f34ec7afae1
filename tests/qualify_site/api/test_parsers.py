"""JSON bodies to the API: nesting is bounded, so a deep document is a 400, never a 500."""

import pytest
from rest_framework.test import APIClient

from qualify_site.api.parsers import MAX_JSON_DEPTH, json_depth_exceeds

pytestmark = pytest.mark.django_db


def _nested(depth: int) -> str:
    return '{"capacity": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


@pytest.mark.parametrize("url", ["/api/routing/reps/1/capacity/", "/api/auth/token/"])
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_a_body_nested_too_deep_is_400(charlie, url, depth):
    # given
    client = APIClient()
    client.force_authenticate(charlie)

    # when
    response = client.post(url, _nested(depth), content_type="application/json")

    # then
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert str(MAX_JSON_DEPTH) in response.json()["message"]


def test_a_body_at_the_nesting_limit_reaches_the_view(charlie):
    # given
    client = APIClient()
    client.force_authenticate(charlie)

    # when
    response = client.post("/api/routing/reps/1/capacity/", _nested(MAX_JSON_DEPTH), content_type="application/json")

    # then: the serializer, not the parser, refuses a list for a number
    assert response.status_code == 400
    assert response.json()["field"] == "capacity"


@pytest.mark.parametrize(
    ("data", "limit", "exceeds"),
    [
        ({}, 1, False),
        ({"a": 1}, 1, False),
        ({"a": {"b": 1}}, 1, True),
        ([[[]]], 3, False),
        ([[[]]], 2, True),
        ({"a": [1, {"b": [2]}]}, 4, False),
        ({"a": [1, {"b": [2]}]}, 3, True),
        ("text", 0, False),
    ],
)
def test_depth_counts_objects_and_arrays(data, limit, exceeds):
    assert json_depth_exceeds(data, limit) is exceeds
