"""With PostgreSQL unreachable (a connection pointed at a closed port, for real),
every API answers 503 with Retry-After and the pages answer a 503 page, never a 500."""

import logging
import sqlite3

import pytest
from django.db import DataError, IntegrityError, InterfaceError, OperationalError, ProgrammingError
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from qualify_site.unavailable import is_dependency_unavailable
from tests.leads.test_ingest_reliability import database_unreachable

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

API_CALLS = [
    ("get", "/api/leads/"),
    ("get", "/api/leads/1/"),
    ("get", "/api/accounts/"),
    ("get", "/api/events/1/"),
    ("get", "/api/routing/assignments/"),
    ("post", "/api/routing/assignments/1/accept/"),
    ("post", "/api/routing/leads/1/route/"),
    ("get", "/api/routing/leads/1/timeline/"),
    ("post", "/api/routing/reps/1/capacity/"),
]


@pytest.fixture
def token_client(charlie) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=charlie).key}")
    return client


@pytest.fixture
def session_client(charlie) -> APIClient:
    client = APIClient()
    client.force_login(charlie)
    return client


def _assert_unavailable_json(response):
    assert response.status_code == 503, response.content
    assert int(response["Retry-After"]) > 0
    assert response.json()["code"] == "unavailable"


@pytest.mark.parametrize(("method", "url"), API_CALLS)
@pytest.mark.parametrize("authentication", ["token_client", "session_client"])
def test_every_api_answers_503_with_retry_after_while_the_database_is_unreachable(request, authentication, method, url):
    # given: the credentials are checked against the database before the view runs
    client = request.getfixturevalue(authentication)

    # when
    with database_unreachable():
        response = getattr(client, method)(url, {}, format="json") if method == "post" else client.get(url)

    # then
    _assert_unavailable_json(response)


def test_asking_for_a_token_answers_503_while_the_database_is_unreachable(charlie):
    # when
    with database_unreachable():
        response = APIClient().post("/api/auth/token/", {"username": "charlie", "password": "pw-charlie"})

    # then
    _assert_unavailable_json(response)


def test_it_logs_one_structured_line_saying_what_failed_and_where(token_client, caplog):
    # when
    with caplog.at_level(logging.ERROR), database_unreachable():
        token_client.get("/api/leads/")

    # then
    [record] = [r for r in caplog.records if r.name == "qualify_site.unavailable"]
    assert record.levelno == logging.ERROR
    assert record.error_class == "django.db.utils.OperationalError"
    assert record.view == "LeadListApi"
    assert (record.method, record.path) == ("GET", "/api/leads/")
    assert "refused" in record.error or "failed" in record.error


def test_the_api_answers_again_once_the_database_is_back(token_client):
    # given
    with database_unreachable():
        down = token_client.get("/api/leads/")

    # when
    back = token_client.get("/api/leads/")

    # then
    assert (down.status_code, back.status_code) == (503, 200)


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("get", "/admin/", None),
        ("get", "/admin/leads/lead/", None),
        ("post", "/accounts/login/", {"username": "charlie", "password": "pw-charlie"}),
    ],
)
def test_the_pages_answer_a_503_page_with_retry_after_while_the_database_is_unreachable(
    client, charlie, method, url, data
):
    # given
    client.force_login(charlie)

    # when
    with database_unreachable():
        response = getattr(client, method)(url, data)

    # then
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert "temporarily unavailable" in response.content.decode()


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (OperationalError("connection refused"), True),
        (InterfaceError("connection already closed"), True),
        (IntegrityError("duplicate key"), False),
        (DataError("time zone displacement out of range"), False),
        (ProgrammingError("relation does not exist"), False),
        (ValueError("bad"), False),
    ],
)
def test_only_a_lost_connection_or_timeout_counts_as_the_database_being_down(error, unavailable):
    assert is_dependency_unavailable(error) is unavailable


def _from_sqlite(message: str) -> OperationalError:
    """Django's OperationalError as it wraps SQLite's (the driver's error is its cause)."""
    error = OperationalError(message)
    error.__cause__ = sqlite3.OperationalError(message)
    return error


@pytest.mark.parametrize(
    ("message", "unavailable"),
    [
        ('near "FROM": syntax error', False),
        ("no such table: routing_assignment", False),
        ("no such function: julianday_x", False),
        ("database is locked", True),
        ("unable to open database file", True),
    ],
)
def test_sqlite_reporting_a_statement_it_cannot_run_is_a_bug_not_the_database_being_down(message, unavailable):
    assert is_dependency_unavailable(_from_sqlite(message)) is unavailable
