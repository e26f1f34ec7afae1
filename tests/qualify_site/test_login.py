import pytest

pytestmark = pytest.mark.django_db


def test_a_rep_signs_in_on_the_login_page_and_lands_on_the_definitions(client, alice):
    page = client.get("/accounts/login/")
    response = client.post("/accounts/login/", {"username": "alice", "password": "pw-alice"}, follow=True)

    assert page.status_code == 200
    assert response.redirect_chain[-1][0] == "/scoring/definitions/"


def test_a_wrong_password_is_refused_with_a_message(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})

    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(("persona", "landing"), [("charlie", "/admin/"), ("olivia", "/admin/")])
def test_home_sends_staff_to_the_admin(client, request, persona, landing):
    client.force_login(request.getfixturevalue(persona))

    assert client.get("/").url == landing


def test_home_sends_strangers_to_sign_in(client):
    assert client.get("/").url == "/accounts/login/"
