"""Stored reports (insights/services/reports.py): a calibration or what-precedes report is computed
once by a task, kept while fresh, shared by every request for the same parameters, recomputed
when stale or when marketing ops ask, and its failure shown. Tasks run eagerly on commit here
(`django_capture_on_commit_callbacks(execute=True)`), as a worker would after the request.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from insights.models import BacktestStatus, InsightReport, ReportKind
from insights.services import reports
from tests.insights.calibration_history import HORIZON, calibration_history, calibration_version
from tests.insights.history import AS_OF, lead, outcome

pytestmark = pytest.mark.django_db

PAGE = "/insights/calibration/"
PRECEDES_PAGE = "/insights/precedes/"
API = "/api/insights/calibration/"


@pytest.fixture
def version():
    calibration_history()
    return calibration_version()


def _query(version, **extra) -> dict:
    return {"version": version.id, "as_of": AS_OF.date().isoformat(), "horizon": HORIZON, "capacity": 2, **extra}


def _params(version, **extra) -> dict:
    query = {**_query(version), "unit": "lead", "objective": "f1", "positive": "won", **extra}
    return {key: query[key] for key in ("version", "unit", "as_of", "horizon", "capacity", "objective", "positive")}


def _computed(version, capture, **extra) -> InsightReport:
    """A calibration asked for and computed by its task."""
    with capture(execute=True):
        report = reports.report_request(kind=ReportKind.CALIBRATION, params=_params(version, **extra))
    report.refresh_from_db()
    return report


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_first_request_queues_one_computation_and_its_task_records_the_figures(
    version, django_capture_on_commit_callbacks
):
    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        queued = reports.report_request(kind=ReportKind.CALIBRATION, params=_params(version))

    # then it was queued, and the one task enqueued on commit computed it
    assert queued.status == BacktestStatus.QUEUED and len(callbacks) == 1
    queued.refresh_from_db()
    assert queued.status == BacktestStatus.DONE and queued.started_at and queued.finished_at
    assert (queued.results["candidates"], queued.results["positives"]) == (10, 3)
    assert queued.version_id == version.id and queued.error == ""


def test_a_second_request_reuses_the_stored_report_and_computes_nothing(version, django_capture_on_commit_callbacks):
    # given a computed report
    first = _computed(version, django_capture_on_commit_callbacks)

    # when the same parameters are asked for again
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        second = reports.report_request(kind=ReportKind.CALIBRATION, params=_params(version))

    # then the same row, untouched, and no task
    assert second.id == first.id and second.finished_at == first.finished_at
    assert callbacks == []
    assert InsightReport.objects.count() == 1


def test_a_request_while_one_is_queued_joins_it(version, django_capture_on_commit_callbacks):
    # given a report queued (its task not run yet)
    with django_capture_on_commit_callbacks(execute=False):
        first = reports.report_request(kind=ReportKind.CALIBRATION, params=_params(version))

    # when another reader asks for the same
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        second = reports.report_request(kind=ReportKind.CALIBRATION, params=_params(version))

    # then they share the row and nothing more is enqueued
    assert second.id == first.id and second.status == BacktestStatus.QUEUED
    assert callbacks == []


def test_other_parameters_make_another_report(version, django_capture_on_commit_callbacks):
    # given
    first = _computed(version, django_capture_on_commit_callbacks)

    # when
    other = _computed(version, django_capture_on_commit_callbacks, capacity=3)

    # then
    assert other.id != first.id and other.params_hash != first.params_hash
    assert (first.results["capacity"], other.results["capacity"]) == (2, 3)


def test_a_report_older_than_six_hours_is_computed_again_in_its_row(version, django_capture_on_commit_callbacks):
    # given a report computed seven hours ago
    first = _computed(version, django_capture_on_commit_callbacks)
    InsightReport.objects.filter(id=first.id).update(finished_at=timezone.now() - timedelta(hours=7))

    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = reports.report_request(kind=ReportKind.CALIBRATION, params=_params(version))

    # then queued again and recomputed, in the same row
    assert (again.id, again.status, len(callbacks)) == (first.id, BacktestStatus.QUEUED, 1)
    again.refresh_from_db()
    assert again.status == BacktestStatus.DONE and again.finished_at > timezone.now() - timedelta(minutes=1)


def test_a_new_outcome_makes_the_report_stale(version, django_capture_on_commit_callbacks):
    # given a report computed a minute ago
    first = _computed(version, django_capture_on_commit_callbacks)

    # when an outcome arrives
    outcome("closed_won", AS_OF + timedelta(days=5), person=lead("late@example.com", seen=AS_OF))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = reports.report_request(kind=ReportKind.CALIBRATION, params=_params(version))

    # then recomputed, with the new watermark
    assert again.id == first.id and len(callbacks) == 1
    again.refresh_from_db()
    assert again.watermark["outcome_id"] > first.watermark["outcome_id"]


def test_a_redelivered_task_records_nothing_twice(version, django_capture_on_commit_callbacks):
    # given a computed report
    report = _computed(version, django_capture_on_commit_callbacks)

    # when its task is delivered again
    computed = reports.report_compute(report_id=report.id)

    # then nothing was claimed and the figures stand
    report.refresh_from_db()
    assert computed is False and report.status == BacktestStatus.DONE


def test_a_stalled_report_is_queued_again_by_the_sweep_once(version, django_capture_on_commit_callbacks):
    # given a report whose task was lost (broker down at enqueue): queued for eleven minutes
    with django_capture_on_commit_callbacks(execute=False):
        report = reports.report_request(kind=ReportKind.CALIBRATION, params=_params(version))
    later = report.requested_at + timedelta(minutes=11)

    # when the sweep runs twice at that moment
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first, second = reports.reports_resume_stalled(now=later), reports.reports_resume_stalled(now=later)

    # then one re-queue, and its task computed it
    assert (first, second, len(callbacks)) == (1, 0, 1)
    report.refresh_from_db()
    assert report.status == BacktestStatus.DONE


def test_a_report_queued_recently_is_left_to_its_task(version, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        report = reports.report_request(kind=ReportKind.CALIBRATION, params=_params(version))
    assert reports.reports_resume_stalled(now=report.requested_at + timedelta(minutes=5)) == 0


def test_a_failing_computation_shows_its_error_on_the_page_and_in_the_api(
    client, olivia, version, monkeypatch, django_capture_on_commit_callbacks
):
    # given the computation raises
    def broken(**kwargs):
        raise RuntimeError("the snapshot could not be read")

    monkeypatch.setattr(reports, "calibration_get", broken)
    client.force_login(olivia)

    # when the page is opened and its task has run
    with django_capture_on_commit_callbacks(execute=True):
        client.get(PAGE, _query(version))
    page = client.get(PAGE, _query(version))
    api = _api(olivia).get(API, _query(version))

    # then the page says why, and offers a recompute; the API answers 409 with the error
    report = InsightReport.objects.get()
    assert report.status == BacktestStatus.FAILED
    html = page.content.decode()
    assert "could not be computed: RuntimeError: the snapshot could not be read" in html
    assert "Recompute" in html
    assert api.status_code == 409
    assert api.json() | {"requested_at": None, "started_at": None} == {
        "status": "failed",
        "report_id": report.id,
        "error": "RuntimeError: the snapshot could not be read",
        "requested_at": None,
        "started_at": None,
    }


@pytest.mark.parametrize("url", [PAGE, PRECEDES_PAGE, API])
def test_a_rep_gets_403_and_no_report_is_created(client, alice, version, url, django_capture_on_commit_callbacks):
    # given
    client.force_login(alice)

    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.get(url, _query(version))

    # then
    assert response.status_code == 403
    assert callbacks == [] and not InsightReport.objects.exists()


@pytest.mark.parametrize(
    ("who", "status"), [("alice", 403), ("charlie", 403), ("olivia", 302), ("admin_user_qualify", 302)]
)
def test_only_marketing_ops_and_admins_recompute(
    request, client, version, who, status, django_capture_on_commit_callbacks
):
    # given a computed report
    report = _computed(version, django_capture_on_commit_callbacks)
    client.force_login(request.getfixturevalue(who))

    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(f"/insights/reports/{report.id}/recompute/")

    # then only they start a computation, and land back on the report's page
    assert response.status_code == status
    assert len(callbacks) == (1 if status == 302 else 0)
    if status == 302:
        assert response["Location"].startswith(PAGE + "?") and f"version={version.id}" in response["Location"]
        recomputed = InsightReport.objects.get(id=report.id)
        assert recomputed.status == BacktestStatus.DONE and recomputed.finished_at > report.finished_at


def test_the_recompute_button_is_shown_to_marketing_ops_but_not_to_managers(
    client, olivia, charlie, version, django_capture_on_commit_callbacks
):
    _computed(version, django_capture_on_commit_callbacks)
    client.force_login(charlie)
    assert "Recompute" not in client.get(PAGE, _query(version)).content.decode()
    client.force_login(olivia)
    assert "Recompute" in client.get(PAGE, _query(version)).content.decode()


def test_the_page_says_computing_and_polls_its_fragment_until_the_figures_come(
    client, charlie, version, django_capture_on_commit_callbacks
):
    # given a manager opens the page (the task not run yet)
    client.force_login(charlie)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        page = client.get(PAGE, _query(version)).content.decode()
    report = InsightReport.objects.get()

    # then "Computing…", an htmx poll of the fragment every 2 s and a Refresh link without JavaScript
    assert "Computing… (started 0 s ago)" in page
    assert f'hx-get="/insights/reports/{report.id}/" hx-trigger="every 2s" hx-swap="outerHTML"' in page
    assert ">Refresh</a>" in page and "<meta http-equiv" not in page

    # when the fragment is polled while queued, then after the task ran
    waiting = client.get(f"/insights/reports/{report.id}/").content.decode()
    callbacks[0]()
    done = client.get(f"/insights/reports/{report.id}/").content.decode()

    # then it polls on while computing; the figures, without a trigger, stop the polling
    assert 'hx-trigger="every 2s"' in waiting and "Computing…" in waiting and "<html" not in waiting
    assert "hx-trigger" not in done and 'id="chart-bands"' in done and "MQL threshold" in done


def test_a_rep_may_not_poll_a_report(client, alice, version, django_capture_on_commit_callbacks):
    report = _computed(version, django_capture_on_commit_callbacks)
    client.force_login(alice)
    assert client.get(f"/insights/reports/{report.id}/").status_code == 403


def test_the_api_answers_202_with_where_to_ask_again_then_200_with_the_figures(
    olivia, version, django_capture_on_commit_callbacks
):
    # when asked first (the task runs on commit, after the answer)
    with django_capture_on_commit_callbacks(execute=True):
        pending = _api(olivia).get(API, _query(version))
    done = _api(olivia).get(API, _query(version))

    # then 202 with the report's status and the same URL to ask again, then 200 with the figures
    report = InsightReport.objects.get()
    assert pending.status_code == 202
    assert pending.json()["status"] == "queued" and pending.json()["report_id"] == report.id
    assert pending["Location"].endswith(API + "?" + pending.wsgi_request.META["QUERY_STRING"])
    assert pending["Retry-After"] == "2"
    assert done.status_code == 200 and done.json()["candidates"] == 10


def test_a_page_showing_a_stored_report_costs_a_few_queries_whatever_the_history(
    client, olivia, version, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    # given a computed report
    _computed(version, django_capture_on_commit_callbacks)
    client.force_login(olivia)

    # when the page is read, then read again after forty more outcomes
    with django_assert_max_num_queries(12) as small:
        response = client.get(PAGE, _query(version))
    queries = len(small.captured_queries)
    for number in range(40):
        outcome("closed_lost", AS_OF - timedelta(days=200), person=lead(f"old{number}@example.com", seen=AS_OF))
    with django_capture_on_commit_callbacks(execute=True):
        client.get(PAGE, _query(version))  # stale now: recomputed
    with django_assert_max_num_queries(queries) as again:
        client.get(PAGE, _query(version))

    # then the figures, in the same few queries
    assert response.status_code == 200 and "MQL threshold" in response.content.decode()
    assert len(again.captured_queries) == queries
