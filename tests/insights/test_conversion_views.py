"""The conversion page (/insights/): the funnel table with the MQL volume beside every downstream
figure, the charts' data and numbers, the filters with and without htmx, and who may see it."""

import json
import re

import pytest

pytestmark = [pytest.mark.django_db]

URL = "/insights/"
Q1 = "start=2026-01-01&end=2026-03-31"


def _rows(html: str) -> dict[str, list[str]]:
    """Each body row of the funnel table: its header, then its cells' text, spaces squeezed."""
    table = re.search(r'<table class="conversion-table">(.*?)</table>', html, re.S).group(1)
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)[1:]:
        cells = [
            re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        rows[cells[0]] = cells[1:]
    return rows


def _chart(html: str, name: str) -> dict:
    return json.loads(re.search(rf'<script id="{name}" type="application/json">(.*?)</script>', html, re.S).group(1))


def test_a_manager_sees_each_sources_mql_volume_beside_what_it_became(client, charlie, funnel_history):
    # given
    client.force_login(charlie)

    # when
    response = client.get(f"{URL}?by=source&{Q1}")

    # then
    assert response.status_code == 200
    rows = _rows(response.content.decode())
    assert rows["Webinars"] == [
        "3",
        "3 of 3 100% 44–100% median 1.0 d",
        "2 of 3 67% 21–94% median 3.5 d",
        "1 of 2 50% 9–91% median 10 d",
        "1 of 1 100% 21–100% median 30 d",
        "1 of 3 33% 6–79%",
    ]
    assert rows["All"][0] == "8"
    assert list(rows) == ["Paid search", "Webinars", "No source", "All"]


def test_rates_on_few_leads_are_marked_as_such(client, charlie, funnel_history):
    # given
    client.force_login(charlie)

    # when
    html = client.get(f"{URL}?{Q1}").content.decode()

    # then: every rate here rests on fewer than 20 leads, but for the three steps nobody reached
    # ("No source": 0 of 0 after nobody accepted its one MQL), which show no rate at all
    assert html.count('class="num step few"') == 4 * 5 - 3
    assert _rows(html)["No source"] == ["1", "0 of 1 0% 0–79%", "0 of 0", "0 of 0", "0 of 0", "0 of 1 0% 0–79%"]


def test_the_charts_carry_the_cohorts_funnel_and_each_groups_rate_with_its_interval(client, olivia, funnel_history):
    # given
    client.force_login(olivia)

    # when
    html = client.get(f"{URL}?by=segment&{Q1}").content.decode()

    # then
    funnel = _chart(html, "funnel-chart-data")
    assert funnel["labels"] == ["Jan 2026", "Feb 2026", "Mar 2026"]
    assert funnel["datasets"] == {
        "MQL": [5, 2, 1],
        "Accepted": [3, 2, 0],
        "SQL": [2, 1, 0],
        "Opportunity": [1, 1, 0],
        "Won": [1, 1, 0],
    }
    rates = _chart(html, "rate-chart-data")
    assert rates["labels"] == ["Mid-market (100-999)", "SMB (1-99)", "No account"]
    assert (rates["count"], rates["total"], rates["rate"]) == ([1, 2, 0], [3, 3, 2], [33.3, 66.7, 0.0])
    assert rates["low"][0] < 33.3 < rates["high"][0]
    assert "Reached SQL, share of MQLs, by segment" in html
    assert 'aria-describedby="rate-chart-table"' in html and 'id="rate-chart-table"' in html


def test_the_filters_are_shown_as_applied_with_the_defaults_filled_in(client, charlie, funnel_history):
    # given
    client.force_login(charlie)

    # when
    html = client.get(f"{URL}?by=cohort&period=quarter&{Q1}").content.decode()

    # then
    assert '<option value="cohort" selected>' in html
    assert '<option value="quarter" selected>' in html
    assert 'name="start" value="2026-01-01"' in html
    assert _rows(html)["Q1 2026"][0] == "8"


def test_htmx_gets_the_filters_and_results_without_the_layout(client, charlie, funnel_history):
    # given
    client.force_login(charlie)

    # when
    response = client.get(f"{URL}?by=campaign&{Q1}", headers={"HX-Request": "true"})

    # then
    html = response.content.decode()
    assert html.lstrip().startswith("{#") is False and '<div id="conversion"' in html
    assert "<html" not in html and 'hx-get="/insights/"' in html
    assert list(_rows(html)) == ["Brand ads", "Spring webinar", "No campaign", "All"]


def test_a_history_restore_gets_the_whole_page(client, charlie, funnel_history):
    # given: htmx's Back button with no copy of the page
    client.force_login(charlie)
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}

    # when
    html = client.get(f"{URL}?{Q1}", headers=headers).content.decode()

    # then
    assert "<html" in html and '<div id="conversion"' in html


def test_the_pql_funnel_is_labelled_pql_throughout(client, olivia, funnel_history):
    # given
    client.force_login(olivia)

    # when
    html = client.get(f"{URL}?funnel=pql&{Q1}").content.decode()

    # then
    assert "PQL funnel by source" in html and ">PQLs</th>" in html and "PQL → won" in html
    assert _rows(html)["Paid search"][:2] == ["2", "1 of 2 50% 9–91% median 1.0 d"]


@pytest.mark.parametrize("htmx", [False, True])
def test_a_bad_filter_answers_400_with_the_error_next_to_its_field(client, charlie, htmx):
    # given
    client.force_login(charlie)

    # when
    response = client.get(f"{URL}?start=2026-03-01&end=2026-02-01", headers={"HX-Request": "true"} if htmx else {})

    # then
    assert response.status_code == 400
    html = response.content.decode()
    assert "The end comes before the start." in html
    assert "conversion-table" not in html


def test_an_empty_range_says_so(client, charlie, funnel_history):
    # given
    client.force_login(charlie)

    # when
    html = client.get(f"{URL}?start=2020-01-01&end=2020-01-31").content.decode()

    # then
    assert "No lead first became MQL in this range." in html


def test_a_rep_is_refused_the_page(client, alice):
    # given
    client.force_login(alice)

    # when
    response = client.get(URL)

    # then
    assert response.status_code == 403


def test_a_signed_out_visitor_is_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_page_carries_no_inline_script_or_style(client, charlie, funnel_history):
    # given
    client.force_login(charlie)

    # when
    html = client.get(f"{URL}?{Q1}").content.decode()

    # then: data rides in json_script blocks only
    assert " style=" not in html and "<style" not in html
    assert re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", html) == []
    assert "/static/vendor/chartjs/chart.umd.min.js" in html and "/static/insights/conversion.js" in html
