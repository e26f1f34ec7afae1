import pytest

pytestmark = pytest.mark.django_db


def test_a_rep_signs_in_on_the_login_page_and_lands_on_the_definitions(client, alice):
    page = client.get("/accounts/login/")
    response = client.post("/accounts/login/", {"username": "alice", "password": "pw-alice"}, follow=True)

    assert page.status_code == 200
    assert response.redirect_chain[-1][0] == "/queue/"


def test_the_sign_in_page_is_branded_qualify_with_labelled_fields(client):
    html = client.get("/accounts/login/").content.decode()

    assert "<title>Sign in · Qualify</title>" in html
    assert "Sign in to Qualify" in html
    assert '<label for="id_username">' in html
    assert '<label for="id_password">' in html


def test_a_wrong_password_is_refused_with_a_message(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})

    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_home_sends_strangers_to_sign_in(client):
    assert client.get("/").url == "/accounts/login/"
