import pytest


@pytest.mark.django_db
def test_health_answers_ok_when_the_database_answers(client):
    response = client.get("/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.django_db
def test_health_accepts_only_get(client):
    assert client.post("/health/").status_code == 405
