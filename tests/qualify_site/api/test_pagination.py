"""Cursor pagination: a bad page_size or cursor is a 400 naming the parameter."""

from base64 import b64encode

import pytest
from rest_framework.test import APIClient

from leads.models import Lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(charlie) -> APIClient:
    client = APIClient()
    client.force_authenticate(charlie)
    return client


def _cursor(text: str) -> str:
    return b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/leads/?page_size=0", "page_size"),
        ("/api/leads/?page_size=501", "page_size"),
        ("/api/leads/?page_size=-1", "page_size"),
        ("/api/leads/?page_size=ten", "page_size"),
        ("/api/events/?cursor=not-a-cursor", "cursor"),
        ("/api/accounts/?cursor=" + _cursor("p=yesterday"), "cursor"),
        ("/api/leads/?cursor=" + _cursor("p=2024-01-01T00:00:00+16:00"), "cursor"),
        ("/api/routing/assignments/?cursor=" + _cursor("p=0001-01-01T00:00:00+01:00"), "cursor"),
        ("/api/routing/assignments/?page_size=1000", "page_size"),
    ],
)
def test_a_bad_page_size_or_cursor_is_400_naming_it(api, url, parameter):
    # when
    response = api.get(url)

    # then
    assert response.status_code == 400, response.content
    assert response.json()["field"] == parameter


@pytest.mark.parametrize(("page_size", "expected"), [("", 3), ("1", 1), ("500", 3)])
def test_a_page_size_from_1_to_500_is_honoured(api, page_size, expected):
    # given
    for number in range(3):
        Lead.objects.create(email=f"lead{number}@acme.com")

    # when
    response = api.get(f"/api/leads/?page_size={page_size}")

    # then
    assert response.status_code == 200
    assert len(response.json()["results"]) == expected


def test_the_cursors_the_api_issues_still_work(api):
    # given
    for number in range(3):
        Lead.objects.create(email=f"lead{number}@acme.com")
    first = api.get("/api/leads/?page_size=2").json()

    # when
    second = api.get(first["next"])
    back = api.get(second.json()["previous"])

    # then
    assert [row["email"] for row in second.json()["results"]] == ["lead0@acme.com"]
    assert [row["email"] for row in back.json()["results"]] == [row["email"] for row in first["results"]]
