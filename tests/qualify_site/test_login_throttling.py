"""Password guessing is throttled (django-axes) by user name and client address together."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

pytestmark = pytest.mark.django_db

# (path, user, right password, how a success shows)
SIGN_INS = {
    "login-page": ("/accounts/login/", "alice", "pw-alice", 302),
    "admin-login": ("/admin/login/", "charlie", "pw-charlie", 302),
    "token": ("/api/auth/token/", "alice", "pw-alice", 200),
}


@pytest.fixture(autouse=True)
def five_failures_allowed(settings, alice, charlie):
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def sign_in(client, path, username, password, address="203.0.113.9"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.mark.parametrize("where", sorted(SIGN_INS))
def test_after_five_wrong_passwords_the_right_one_is_refused_with_429(client, where):
    # given
    path, username, password, _ = SIGN_INS[where]
    for _ in range(5):
        sign_in(client, path, username, "guess")

    # when
    response = sign_in(client, path, username, password)

    # then
    assert response.status_code == 429
    assert int(response["Retry-After"]) == 15 * 60
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_token_endpoint_answers_the_lockout_in_json(client):
    # given
    for _ in range(5):
        sign_in(client, "/api/auth/token/", "alice", "guess")

    # when
    response = sign_in(client, "/api/auth/token/", "alice", "pw-alice")

    # then
    assert response.status_code == 429
    assert response.json()["code"] == "too_many_failures"
    assert "token" not in response.json()


@pytest.mark.parametrize("where", sorted(SIGN_INS))
def test_four_wrong_passwords_still_let_the_right_one_in(client, where):
    # given
    path, username, password, success = SIGN_INS[where]
    for _ in range(4):
        sign_in(client, path, username, "guess")

    # when
    response = sign_in(client, path, username, password)

    # then
    assert response.status_code == success


@pytest.mark.parametrize(
    ("username", "address"),
    [("alice", "198.51.100.7"), ("bob", "203.0.113.9")],
    ids=["same-user-elsewhere", "other-user-same-address"],
)
def test_a_lockout_stops_only_that_user_name_at_that_address(client, bob, username, address):
    # given: a guesser at alice's account from 203.0.113.9
    for _ in range(5):
        sign_in(client, "/accounts/login/", "alice", "guess", address="203.0.113.9")

    # when
    response = sign_in(client, "/accounts/login/", username, f"pw-{username}", address=address)

    # then: a guesser cannot lock a rep out from another address, nor lock out their neighbours
    assert response.status_code == 302


def test_a_successful_sign_in_starts_the_count_again(client):
    # given
    for _ in range(4):
        sign_in(client, "/accounts/login/", "alice", "guess")
    sign_in(client, "/accounts/login/", "alice", "pw-alice")
    client.logout()
    for _ in range(4):
        sign_in(client, "/accounts/login/", "alice", "guess")

    # when
    response = sign_in(client, "/accounts/login/", "alice", "pw-alice")

    # then
    assert response.status_code == 302


def test_the_lockout_ends_after_the_cool_off(client):
    # given
    for _ in range(5):
        sign_in(client, "/accounts/login/", "alice", "guess")

    # when
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        response = sign_in(client, "/accounts/login/", "alice", "pw-alice")

    # then
    assert response.status_code == 302
