"""What precedes buying, on a hand-built history: three accounts won before 1 March, nine did not.

    Demo Requested in the window:     3 of 3 buyers, 2 of 9 others   -> lift 4.5, over-represented
    a whitepaper in the window:       1 of 3 buyers, 6 of 9 others   -> lift 0.5, does not predict
    Webinar Attended:                 buyers only outside the window -> 0 of 3 buyers

Runs on PostgreSQL and on the SQLite twin of the aggregate.
"""

import math
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from insights.engine.stats import Z_95
from insights.selectors.precedes import precedes_report
from leads.models import Event
from tests.insights.history import AS_OF, account, days, lead, outcome, source, track

pytestmark = pytest.mark.django_db
WINDOW = 30


def _whitepaper(person, at):
    event = track(person, "Asset Downloaded", at)
    Event.objects.filter(id=event.id).update(properties={"asset_type": "whitepaper", "pages": 12})


@pytest.fixture
def history():
    source()
    companies = []
    for number in range(12):
        company = account(f"co{number}.example")
        company.industry = "Software" if number in (0, 1, 2, 3, 4) else "Retail"
        company.save()
        person = lead(f"p{number}@co{number}.example", seen=AS_OF - days(90), company=company)
        companies.append((company, person))
    # buyers: each asked for a demo within 30 days of its win; one read a whitepaper
    for number, won_days_ago in ((0, 10), (1, 2), (2, 20)):
        company, person = companies[number]
        won_at = AS_OF - days(won_days_ago)
        outcome("closed_won", won_at, company=company)
        track(person, "Demo Requested", won_at - days(5))
        track(person, "Webinar Attended", won_at - days(WINDOW + 5))  # before the window
        track(person, "Webinar Attended", won_at + days(1))  # after the win
    _whitepaper(companies[0][1], AS_OF - days(13))
    # the others: two demo requests and six whitepapers in the window, five webinars
    for number in (3, 4):
        track(companies[number][1], "Demo Requested", AS_OF - days(3))
    track(companies[5][1], "Demo Requested", AS_OF + days(1))  # after the cut-off
    for number in range(3, 9):
        _whitepaper(companies[number][1], AS_OF - days(7))
    for number in range(3, 8):
        track(companies[number][1], "Webinar Attended", AS_OF - days(4))
    outcome("closed_won", AS_OF + days(3), company=companies[6][0])  # won after the cut-off: one of the others
    return companies


def _by_name(report) -> dict:
    return {row["name"]: row for row in report["behaviours"] + report["fit"]}


def test_a_behaviour_every_buyer_showed_before_winning_is_over_represented_with_its_interval(history):
    # when
    report = precedes_report(before=AS_OF, window_days=WINDOW)
    demo = _by_name(report)["Demo Requested"]

    # then
    assert (report["winners"], report["others"]) == (3, 9)
    assert (demo["winners_with"], demo["winners_without"], demo["others_with"], demo["others_without"]) == (3, 0, 2, 7)
    # every buyer did: the interval is taken on the counts plus one half (3.5 of 4 against 2.5 of 10)
    centre, spread = math.log(0.875 / 0.25), Z_95 * math.sqrt(1 / 3.5 - 1 / 4 + 1 / 2.5 - 1 / 10)
    assert demo["lift"] == pytest.approx(4.5)
    assert (demo["lift_low"], demo["lift_high"]) == (
        pytest.approx(math.exp(centre - spread)),
        pytest.approx(math.exp(centre + spread)),
    )
    assert demo["verdict"] == "over"
    assert (demo["share_of_winners"]["count"], demo["share_of_winners"]["total"]) == (3, 3)


def test_whitepaper_downloads_are_listed_and_marked_as_not_predicting(history):
    report = precedes_report(before=AS_OF, window_days=WINDOW)
    names = _by_name(report)
    whitepaper = names["Asset Downloaded · asset_type = whitepaper"]

    assert (whitepaper["winners_with"], whitepaper["others_with"]) == (1, 6)
    assert whitepaper["lift"] == pytest.approx(0.5)
    assert whitepaper["verdict"] == "no_signal"
    assert whitepaper["verdict_words"].startswith("Does not predict")
    # numbers are quantities, not categories: no trait per page count
    assert not [name for name in names if "pages" in name]


def test_only_the_window_before_the_win_counts_for_buyers_and_before_the_cut_off_for_the_rest(history):
    webinar = _by_name(precedes_report(before=AS_OF, window_days=WINDOW))["Webinar Attended"]

    # the buyers' webinars were before the window or after the win; the demo after the cut-off is not counted
    assert (webinar["winners_with"], webinar["others_with"]) == (0, 5)
    assert webinar["verdict"] == "too_few"
    assert _by_name(precedes_report(before=AS_OF, window_days=WINDOW))["Demo Requested"]["others_with"] == 2


def test_traits_are_sorted_by_lift_and_fit_attributes_are_measured_too(history):
    report = precedes_report(before=AS_OF, window_days=WINDOW)
    lifts = [row["lift"] for row in report["behaviours"] if row["lift"] is not None]
    software = _by_name(report)["Industry = Software"]

    assert lifts == sorted(lifts, reverse=True)
    unmeasured = [index for index, row in enumerate(report["behaviours"]) if row["lift"] is None]
    assert unmeasured == list(range(len(lifts), len(report["behaviours"])))
    assert (software["winners_with"], software["others_with"]) == (3, 2)
    assert _by_name(report)["Email: business"]["winners_with"] == 3


def test_leads_are_measured_the_same_way(history):
    report = precedes_report(before=AS_OF, window_days=WINDOW, unit="lead")
    demo = _by_name(report)["Demo Requested"]

    # an account's win is credit to its people
    assert (report["winners"], report["others"]) == (3, 9)
    assert (demo["winners_with"], demo["others_with"]) == (3, 2)


def test_a_constant_number_of_queries_whatever_the_number_of_accounts(history):
    # given the queries for twelve accounts
    with CaptureQueriesContext(connection) as twelve:
        precedes_report(before=AS_OF, window_days=WINDOW)

    # when ten more accounts, each with a lead and a whitepaper, join
    for number in range(12, 22):
        person = lead(f"p{number}@co{number}.example", seen=AS_OF - days(90), company=account(f"co{number}.example"))
        _whitepaper(person, AS_OF - days(2))
    with CaptureQueriesContext(connection) as twenty_two:
        report = precedes_report(before=AS_OF, window_days=WINDOW)

    # then the same queries, and the new accounts counted
    assert report["others"] == 19
    # (population, settings, savepoint, traits, release, accounts, leads on PostgreSQL)
    assert len(twenty_two.captured_queries) == len(twelve.captured_queries) <= 7


def test_traits_too_rare_to_tell_are_listed_apart_folded_after_the_judged_ones(
    history, client, charlie, django_capture_on_commit_callbacks
):
    # given the report computed for the history's cut-off
    client.force_login(charlie)
    query = {"before": AS_OF.date().isoformat()}
    with django_capture_on_commit_callbacks(execute=True):
        client.get("/insights/precedes/", query)

    # when the page is read
    page = client.get("/insights/precedes/", query).content.decode()

    # then each list's judged traits come first and its rare ones sit folded in a list of their own
    tables = dict(re.findall(r'<table class="precedes" id="([a-z-]+)">(.*?)</table>', page, flags=re.S))
    assert "verdict-too_few" not in tables["behaviours-table"] + tables["fit-table"]
    assert "Asset Downloaded · asset_type = whitepaper" in tables["behaviours-table"]
    rare = [name for name in tables if name.endswith("-rare-table")]
    assert rare and all("verdict-too_few" in tables[name] for name in rare)
    rare_verdicts = {row for name in rare for row in re.findall(r'class="(verdict-[a-z_]+)"', tables[name])}
    assert rare_verdicts == {"verdict-too_few"}
    assert "too few to tell</summary>" in page
    assert "{#" not in page and "#}" not in page  # no template comment shows
