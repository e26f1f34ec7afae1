"""Backtests in the admin: marketing ops and admins start them, managers read them, reps never get
in; a version's page shows its latest run with a chart and tables; a live version not validated
for 90 days is flagged."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from insights.models import BacktestRun, BacktestStatus
from insights.selectors.backtest import version_validation_flag
from insights.services.backtest import backtest_start
from scoring.services.versions import rule_version_create_from_document, rule_version_publish
from tests.insights.history import DEMO_ONLY, days, demo_only_version, lead, outcome, track

pytestmark = pytest.mark.django_db

FIRST = datetime(2026, 3, 1, tzinfo=UTC)
START_FORM = {
    "from_date": "2026-03-01",
    "to_date": "2026-03-08",
    "step_days": "7",
    "horizon_days": "30",
    "capacity": "2",
    "unit": "lead",
    "positive": "won",
}


@pytest.fixture
def live():
    pricing = {**DEMO_ONLY, "engagement_rules": [{**DEMO_ONLY["engagement_rules"][0], "event": "Pricing Viewed"}]}
    return rule_version_publish(version_id=rule_version_create_from_document(name="Pricing", document=pricing).id)


@pytest.fixture
def draft():
    return demo_only_version()


@pytest.fixture
def finished(live, draft, django_capture_on_commit_callbacks):
    """A finished backtest of the draft: ada asked for a demo and won, ben viewed pricing and did not."""
    ada = lead("ada@acme.example", seen=FIRST - days(20))
    track(ada, "Demo Requested", FIRST - days(2))
    outcome("closed_won", FIRST + days(10), person=ada)
    ben = lead("ben@initech.example", seen=FIRST - days(20))
    track(ben, "Pricing Viewed", FIRST - days(2))
    with django_capture_on_commit_callbacks(execute=True):
        run = backtest_start(
            version_id=draft.id,
            from_date=date(2026, 3, 1),
            to_date=date(2026, 3, 8),
            step_days=7,
            horizon_days=30,
            capacity=1,
        )
    run.refresh_from_db()
    assert run.status == BacktestStatus.DONE, run.error
    return run


def _start_url(version) -> str:
    return reverse("admin:insights_backtestrun_start", args=[version.pk])


def test_marketing_ops_start_a_backtest_and_land_on_its_progress(client, olivia, live, draft):
    # given one lead (one chunk: two points, two steps), and olivia (marketing ops) on the start page
    lead("ada@acme.example", seen=FIRST - days(20))
    client.force_login(olivia)
    page = client.get(_start_url(draft))
    assert page.status_code == 200 and page.context["form"].initial["horizon_days"] == 90

    # when she starts a backtest of the draft
    response = client.post(_start_url(draft), START_FORM)

    # then it is queued, by her, beside the live version, and its page shows its progress
    run = BacktestRun.objects.get()
    assert (run.version, run.compared_version, run.requested_by) == (draft, live, olivia)
    assert response.status_code == 302 and response.url == reverse("admin:insights_backtestrun_results", args=[run.pk])
    progress = client.get(response.url)
    assert b"Queued: 0 of 2 steps" in progress.content
    assert f'hx-get="{reverse("admin:insights_backtestrun_progress", args=[run.pk])}"'.encode() in progress.content


def test_an_admin_starts_one_too(client, admin_user_qualify, live, draft):
    client.force_login(admin_user_qualify)
    assert client.post(_start_url(draft), START_FORM).status_code == 302
    assert BacktestRun.objects.count() == 1


def test_a_manager_reads_the_results_but_cannot_start_a_backtest(client, charlie, finished):
    # given charlie, a manager
    client.force_login(charlie)

    # when he opens the results and tries to start one
    results = client.get(reverse("admin:insights_backtestrun_results", args=[finished.pk]))
    form = client.get(_start_url(finished.version))
    posted = client.post(_start_url(finished.version), START_FORM)

    # then he reads, and is refused the rest; nothing is queued
    assert results.status_code == 200
    assert b"Start a backtest" not in results.content
    assert (form.status_code, posted.status_code) == (403, 403)
    assert BacktestRun.objects.count() == 1


def test_a_rep_never_gets_to_backtests(client, alice, finished):
    client.force_login(alice)
    for url in (
        reverse("admin:insights_backtestrun_results", args=[finished.pk]),
        _start_url(finished.version),
        reverse("admin:insights_backtestrun_changelist"),
    ):
        response = client.get(url)
        assert response.status_code == 302 and reverse("admin:login") in response.url


def test_a_start_that_cannot_run_is_refused_naming_the_field_and_nothing_is_queued(client, olivia, draft):
    client.force_login(olivia)

    response = client.post(_start_url(draft), {**START_FORM, "to_date": "2026-02-01"})

    assert response.status_code == 400
    assert "to_date" in response.context["form"].errors
    assert b"The last point must not come before the first." in response.content
    assert not BacktestRun.objects.exists()


def test_the_versions_page_shows_its_latest_run_with_a_chart_and_its_tables(client, olivia, finished):
    client.force_login(olivia)

    page = client.get(reverse("admin:insights_backtestrun_version", args=[finished.version.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    # the charts: a canvas per chart and its data as JSON, drawn by a static script (no inline code)
    assert 'data-chart="precision-data"' in html and 'id="precision-data" type="application/json"' in html
    assert re.findall(r"<script(?![^>]*(?:src=|application/json))", html) == []
    assert "vendor/chartjs/chart.umd.min.js" in html and "insights/backtest.js" in html
    # the tables: the summary, the bands, and the leads whose status would change, with both scores
    assert "Precision at capacity" in html and "Conversion by score band" in html
    assert "would have qualified, and when" in html
    assert "ada@acme.example" in html and "newly qualified" in html
    assert "ben@initech.example" in html and "no longer qualified" in html


def test_the_progress_fragment_reloads_the_page_once_the_run_is_finished(client, charlie, finished):
    client.force_login(charlie)
    response = client.get(reverse("admin:insights_backtestrun_progress", args=[finished.pk]))
    assert response.status_code == 204 and response["HX-Refresh"] == "true"


def test_the_run_list_shows_progress(client, charlie, finished):
    client.force_login(charlie)
    page = client.get(reverse("admin:insights_backtestrun_changelist"))
    assert page.status_code == 200 and b"done" in page.content


# --- The 90-day flag ---------------------------------------------------------------------------


def _finished_run(version, finished_at):
    return BacktestRun.objects.create(
        version=version,
        from_date=date(2026, 1, 1),
        to_date=date(2026, 1, 1),
        capacity=1,
        status=BacktestStatus.DONE,
        finished_at=finished_at,
    )


def test_a_live_version_never_validated_is_flagged(live):
    flag = version_validation_flag()
    assert flag.version == live and flag.last_validated is None


def test_a_live_version_validated_within_90_days_is_not_flagged(live):
    _finished_run(live, timezone.now() - timedelta(days=30))
    assert version_validation_flag() is None


def test_a_live_version_last_validated_100_days_ago_is_flagged_with_its_age(live, draft):
    _finished_run(live, timezone.now() - timedelta(days=100))
    _finished_run(draft, timezone.now())  # another version's backtest does not validate the live one
    flag = version_validation_flag()
    assert flag is not None and flag.days_since == 100


def test_with_no_live_version_nothing_is_flagged(draft):
    assert version_validation_flag() is None


def test_the_template_tag_renders_the_flag_with_a_link_to_backtest_and_nothing_when_validated(live):
    template = Template("{% load insights_backtest %}{% version_validation_flag %}")

    flagged = template.render(Context({}))
    assert f"v{live.number} (live) has never been validated" in flagged
    assert reverse("admin:insights_backtestrun_version", args=[live.pk]) in flagged

    _finished_run(live, timezone.now())
    assert template.render(Context({})).strip() == ""


def test_the_flag_is_on_the_backtest_pages(client, olivia, live):
    client.force_login(olivia)
    page = client.get(reverse("admin:insights_backtestrun_changelist"))
    assert b"has never been validated" in page.content
