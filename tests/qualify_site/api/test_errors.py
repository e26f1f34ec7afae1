"""Every API error has one body: {"code", "message"}, plus "field" and "errors" for bad input."""

import pytest
from rest_framework.test import APIClient

from qualify_site.api.errors import validation_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def dave(django_user_model):
    """Signed in, but in no Qualify role."""
    return django_user_model.objects.create_user(username="dave", password="pw-dave")


def _client(user=None, **headers) -> APIClient:
    client = APIClient(**headers)
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.mark.parametrize(
    ("who", "method", "url", "body", "status", "code"),
    [
        (None, "get", "/api/leads/", None, 401, "not_authenticated"),
        ("dave", "get", "/api/leads/", None, 403, "permission_denied"),
        ("alice", "post", "/api/routing/reps/1/capacity/", {"capacity": 1}, 403, "permission_denied"),
        ("charlie", "get", "/api/leads/999999/", None, 404, "not_found"),
        ("charlie", "put", "/api/leads/", {}, 405, "method_not_allowed"),
        ("charlie", "post", "/api/routing/reps/1/capacity/", "{not json", 400, "parse_error"),
    ],
)
def test_each_error_answers_with_a_code_and_a_message(request, who, method, url, body, status, code):
    # given
    client = _client(request.getfixturevalue(who) if who else None)

    # when
    if isinstance(body, str):
        response = getattr(client, method)(url, body, content_type="application/json")
    else:
        response = getattr(client, method)(url, body)

    # then
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert response.json()["message"]


def test_a_bad_token_is_401_with_the_scheme_to_use():
    # when
    response = _client(HTTP_AUTHORIZATION="Token not-a-token").get("/api/leads/")

    # then
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["code"] == "authentication_failed"


def test_a_body_that_is_not_json_is_415(charlie):
    # when
    response = _client(charlie).post("/api/routing/reps/1/capacity/", "capacity=1", content_type="text/plain")

    # then
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_an_unacceptable_accept_header_is_406(charlie):
    # when
    response = _client(charlie).get("/api/leads/", HTTP_ACCEPT="application/xml")

    # then
    assert response.status_code == 406
    assert response.json()["code"] == "not_acceptable"


def test_bad_input_names_the_first_field_and_lists_every_error(charlie):
    # when
    response = _client(charlie).get("/api/leads/?stage=hot&owner=alice")

    # then
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["field"] in {"stage", "owner"}
    assert body["message"].startswith(body["field"] + ": ")
    assert set(body["errors"]) == {"stage", "owner"}


def test_too_many_query_parameters_is_a_400_in_the_same_body(charlie, settings):
    # given
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10

    # when
    response = _client(charlie).get("/api/leads/?" + "&".join(f"stage=mql{n}" for n in range(11)))

    # then
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


@pytest.mark.parametrize(
    ("errors", "expected"),
    [
        ({"reason": ["This field is required."]}, ("reason", "reason: This field is required.")),
        (["Already closed."], ("non_field_errors", "Already closed.")),
        ({"items": [{"name": ["Too long."]}]}, ("items", "items: Too long.")),
    ],
)
def test_the_validation_body_names_the_field_and_its_first_message(errors, expected):
    # when
    body = validation_body(errors)

    # then
    assert (body["field"], body["message"]) == expected
    assert body["code"] == "invalid"


@pytest.mark.parametrize("url", ["/api/leads/abc/", "/api/routing/assignments/-1/accept/", "/api/nothing-here/"])
def test_a_url_no_route_matches_under_the_api_is_a_json_404(charlie, url):
    # when
    response = _client(charlie).get(url)

    # then
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_url_no_route_matches_elsewhere_is_the_html_404(client):
    # when
    response = client.get("/nothing-here/")

    # then
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
