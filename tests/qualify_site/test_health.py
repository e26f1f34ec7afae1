import pytest

from tests.leads.test_ingest_reliability import database_unreachable


@pytest.mark.django_db
def test_health_answers_ok_when_the_database_answers(client):
    response = client.get("/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.django_db
def test_health_accepts_only_get(client):
    assert client.post("/health/").status_code == 405


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_health_answers_503_without_the_database_error_text_when_the_database_is_down(client, caplog):
    # when
    with database_unreachable():
        response = client.get("/health/")

    # then: the caller learns only that it is unhealthy; the log says why
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert response.json() == {"status": "error", "database": "unavailable"}
    assert any(record.exc_info and "health check failed" in record.getMessage() for record in caplog.records)
