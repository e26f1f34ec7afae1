"""GET /api/insights/calibration/ and /api/insights/precedes/, and their pages: who may read them,
bad input answered 400 naming the field, the figures of the hand-built history, the schema.

Both reports are computed by a task on commit (insights/services/reports.py): `_read` asks once,
lets the task run eagerly as the request's transaction would commit, and asks again."""

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from scoring.models import RuleVersion
from tests.insights.calibration_history import HORIZON, calibration_history, calibration_version
from tests.insights.history import AS_OF

pytestmark = pytest.mark.django_db

CALIBRATION = "/api/insights/calibration/"
PRECEDES = "/api/insights/precedes/"


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def version():
    calibration_history()
    return calibration_version()


def _read(client, url: str, params: dict, capture):
    """The report as a reader gets it once its task has run: "computing" first, then the figures."""
    with capture(execute=True):
        client.get(url, params)
    return client.get(url, params)


def _query(rule_version, **extra) -> dict:
    return {"version": rule_version.id, "as_of": AS_OF.date().isoformat(), "horizon": HORIZON, "capacity": 2, **extra}


@pytest.mark.parametrize("who", ["charlie", "olivia", "admin_user_qualify"])
def test_managers_marketing_ops_and_admins_read_the_calibration(
    request, version, who, django_capture_on_commit_callbacks
):
    # when
    client = _client(request.getfixturevalue(who))
    response = _read(client, CALIBRATION, _query(version), django_capture_on_commit_callbacks)

    # then the hand-built figures come back
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["candidates"], body["positives"], body["capacity_source"]) == (10, 3, "given")
    assert body["at_capacity"]["precision"] == {
        "count": 2,
        "total": 2,
        "rate": 1.0,
        "low": pytest.approx(0.3424, abs=1e-4),
        "high": 1.0,
    }
    assert body["probabilities"]["reading"] == "platt"


@pytest.mark.parametrize("url", [CALIBRATION, PRECEDES])
def test_a_rep_gets_403_and_nothing_is_computed(alice, url, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        response = _client(alice).get(url)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize("url", [CALIBRATION, PRECEDES])
def test_anonymous_callers_get_401(client, url):
    assert client.get(url).status_code == 401


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"unit": "team"}, "unit"),
        ({"horizon": "0"}, "horizon"),
        ({"horizon": "366"}, "horizon"),
        ({"as_of": "2999-01-01"}, "as_of"),
        ({"as_of": "1999-12-31"}, "as_of"),
        ({"as_of": "yesterday"}, "as_of"),
        ({"capacity": "-1"}, "capacity"),
        ({"objective": "accuracy"}, "objective"),
        ({"positive": "meeting"}, "positive"),
        ({"version": "999999"}, "version"),
    ],
)
def test_bad_input_is_400_naming_the_field(olivia, version, extra, field):
    response = _client(olivia).get(CALIBRATION, _query(version, **extra))
    assert response.status_code == 400
    assert response.json()["field"] == field


def test_with_no_live_version_and_none_named_the_answer_says_to_name_one(olivia, version):
    response = _client(olivia).get(CALIBRATION, {"horizon": HORIZON})
    assert RuleVersion.objects.filter(status="published").count() == 0
    assert (response.status_code, response.json()["field"]) == (400, "version")


def test_the_defaults_judge_the_live_version_a_horizon_ago_at_the_teams_capacity(
    olivia, version, django_capture_on_commit_callbacks
):
    # given the version is live
    RuleVersion.objects.filter(id=version.id).update(status="published", published_at=timezone.now())

    # when
    body = _read(_client(olivia), CALIBRATION, {}, django_capture_on_commit_callbacks).json()

    # then
    today = timezone.localdate()
    assert body["version_id"] == version.id
    assert body["as_of"].startswith(str(today - timezone.timedelta(days=30)))
    assert (body["horizon_days"], body["objective"], body["positive"], body["unit"]) == (30, "f1", "won", "lead")
    assert body["capacity_source"] == "team"


@pytest.mark.parametrize(
    ("extra", "field"), [({"window": "0"}, "window"), ({"unit": "rep"}, "unit"), ({"before": "2999-01-01"}, "before")]
)
def test_precedes_bad_input_is_400_naming_the_field(olivia, extra, field):
    response = _client(olivia).get(PRECEDES, extra)
    assert (response.status_code, response.json()["field"]) == (400, field)


def test_precedes_lists_behaviours_and_fit_with_counts(charlie, version, django_capture_on_commit_callbacks):
    query = {"before": "2026-03-15", "window": 30, "unit": "lead"}
    response = _read(_client(charlie), PRECEDES, query, django_capture_on_commit_callbacks)
    body = response.json()
    assert response.status_code == 200, body
    # L1, L2 and L5 won by 11 March; two of the earlier leads before 1 March
    assert (body["winners"], body["unit"]) == (5, "lead")
    assert {row["verdict"] for row in body["behaviours"]} <= {"over", "under", "no_signal", "too_few"}


def test_the_schema_documents_both_operations_with_their_parameters():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    calibration = schema["paths"][CALIBRATION]["get"]
    precedes = schema["paths"][PRECEDES]["get"]
    assert {p["name"] for p in calibration["parameters"]} == {
        "version",
        "unit",
        "as_of",
        "horizon",
        "capacity",
        "objective",
        "positive",
    }
    assert {p["name"] for p in precedes["parameters"]} == {"before", "window", "unit", "positive"}
    assert {"200", "202", "400", "401", "403", "409"} <= set(calibration["responses"])
    assert {"200", "202", "409"} <= set(precedes["responses"])
    assert {"Location", "Retry-After"} <= set(calibration["responses"]["202"]["headers"])


@pytest.mark.parametrize("path", ["/insights/calibration/", "/insights/precedes/"])
def test_a_rep_opening_the_pages_gets_403(client, alice, path):
    client.force_login(alice)
    assert client.get(path).status_code == 403


def test_marketing_ops_open_the_calibration_page_without_javascript_and_read_the_numbers(
    client, olivia, version, django_capture_on_commit_callbacks
):
    client.force_login(olivia)
    response = _read(client, "/insights/calibration/", _query(version), django_capture_on_commit_callbacks)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-chart="chart-distribution"' in html and 'id="chart-bands"' in html and 'id="chart-reliability"' in html
    # small numbers are shown as small: the count before the rate, and "few" beside it
    assert "2 of 2 · <strong>100.0%</strong>" in html and "few</span>" in html
    assert "MQL threshold" in html and "Trial" in html and "a suggestion: nothing is changed" in html


def test_a_bad_query_on_the_page_is_400_with_the_error_by_its_field(client, charlie, version):
    client.force_login(charlie)
    response = client.get("/insights/calibration/", {"horizon": "0"})
    assert response.status_code == 400
    assert "greater than or equal to 1" in response.content.decode()


def test_the_precedes_page_marks_what_does_not_predict(client, charlie, version, django_capture_on_commit_callbacks):
    client.force_login(charlie)
    query = {"before": "2026-03-15", "unit": "lead"}
    response = _read(client, "/insights/precedes/", query, django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert "Behaviours, by lift" in response.content.decode()
