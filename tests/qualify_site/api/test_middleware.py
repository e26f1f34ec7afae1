"""The API refuses a URI or a body over its limits before reading them: 414 and 413."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from leads.models import Lead, Stage
from qualify_site.api.middleware import MAX_URI_LENGTH

pytestmark = pytest.mark.django_db


def test_a_uri_over_the_limit_is_414(charlie):
    # given
    client = APIClient()
    client.force_authenticate(charlie)
    query = "q=" + "x" * MAX_URI_LENGTH

    # when
    response = client.get(f"/api/leads/?{query}")

    # then
    assert response.status_code == 414
    assert response.json()["code"] == "uri_too_long"


def test_a_uri_at_the_limit_is_served(charlie):
    # given
    client = APIClient()
    client.force_authenticate(charlie)
    path = "/api/leads/?q="

    # when
    response = client.get(path + "x" * (MAX_URI_LENGTH - len(path)))

    # then
    assert response.status_code == 200


def test_a_body_over_the_limit_is_413_and_changes_nothing(charlie, settings):
    # given
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    client = APIClient()
    client.force_authenticate(charlie)
    lead = Lead.objects.create(email="jane@acme.com", stage=Stage.MQL)

    # when
    response = client.post(
        f"/api/routing/leads/{lead.id}/route/", '{"x": "' + "a" * 100 + '"}', content_type="application/json"
    )

    # then
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert not lead.assignments.exists()
    assert not lead.routing_decisions.exists()


def test_a_content_length_that_is_not_a_number_is_400(charlie):
    # when
    response = Client().generic("POST", "/api/auth/token/", b"{}", CONTENT_LENGTH="lots")

    # then
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_pages_outside_the_api_are_not_limited_by_it(client):
    # when
    response = client.get("/accounts/login/?next=/" + "x" * MAX_URI_LENGTH)

    # then
    assert response.status_code == 200
