"""GET /api/insights/conversion/: the funnel as JSON, roles, and bad filters answered 400 naming the field."""

import pytest

pytestmark = [pytest.mark.django_db]

URL = "/api/insights/conversion/"
Q1 = "start=2026-01-01&end=2026-03-31"


def test_a_manager_reads_the_funnel_by_source_with_counts_rates_intervals_and_medians(client, charlie, funnel_history):
    # given
    client.force_login(charlie)

    # when
    response = client.get(f"{URL}?by=source&period=month&funnel=mql&{Q1}")

    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["funnel"], body["by"], body["period"], body["start"], body["end"]) == (
        "mql",
        "source",
        "month",
        "2026-01-01",
        "2026-03-31",
    )
    assert [(row["key"], row["label"], row["entered"]) for row in body["rows"]] == [
        (str(funnel_history.paid.id), "Paid search", 4),
        (str(funnel_history.webinars.id), "Webinars", 3),
        (None, "No source", 1),
    ]
    accepted = body["total"]["steps"][0]
    assert accepted == {
        "stage": "accepted",
        "label": "Accepted",
        "from_previous": {"count": 5, "total": 8, "rate": 0.625, "low": 0.3057, "high": 0.8632},
        "from_entry": {"count": 5, "total": 8, "rate": 0.625, "low": 0.3057, "high": 0.8632},
        "median_days": 2.0,
    }
    assert [row["label"] for row in body["cohorts"]] == ["Jan 2026", "Feb 2026", "Mar 2026"]


def test_a_step_nobody_reached_has_no_rate_and_no_median(client, olivia, funnel_history):
    # given
    client.force_login(olivia)

    # when: March: Gu only, who went nowhere yet
    response = client.get(f"{URL}?by=cohort&start=2026-03-01&end=2026-03-31")

    # then
    won = response.json()["total"]["steps"][3]
    assert won["from_previous"] == {"count": 0, "total": 0, "rate": None, "low": None, "high": None}
    assert won["median_days"] is None


@pytest.mark.parametrize("persona", ["charlie", "olivia", "admin_user_qualify"])
def test_managers_marketing_ops_and_admins_read_conversion_org_wide(client, request, persona, funnel_history):
    # given
    client.force_login(request.getfixturevalue(persona))

    # when
    response = client.get(f"{URL}?{Q1}")

    # then: every lead, not a team's
    assert response.status_code == 200
    assert response.json()["total"]["entered"] == 8


def test_a_rep_is_refused_conversion(client, alice, funnel_history):
    # given
    client.force_login(alice)

    # when
    response = client.get(URL)

    # then
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_a_signed_out_caller_is_asked_for_credentials(client):
    assert client.get(URL).status_code == 401


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("by=owner", "by"),
        ("period=week", "period"),
        ("funnel=sql", "funnel"),
        ("start=yesterday", "start"),
        ("end=2026-02-30", "end"),
        ("start=2026-03-01&end=2026-02-01", "end"),
        ("start=2000-01-01&end=2026-02-01", "start"),
        ("end=9999-12-31", "end"),
    ],
)
def test_a_bad_filter_is_answered_400_naming_the_field(client, charlie, query, field):
    # given
    client.force_login(charlie)

    # when
    response = client.get(f"{URL}?{query}")

    # then
    assert response.status_code == 400
    assert response.json()["field"] == field
