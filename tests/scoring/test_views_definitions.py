"""The stage definitions page: plain words generated from the live rule version."""

import pytest
from django.urls import reverse

from scoring.models import RuleVersion
from scoring.services import rule_version_clone, rule_version_install_default, rule_version_publish

pytestmark = [pytest.mark.django_db]

URL = "/scoring/definitions/"


@pytest.fixture
def live(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return rule_version_install_default()


def test_the_page_has_a_stable_name():
    # then
    assert reverse("scoring:definitions") == URL


@pytest.mark.parametrize("persona", ["alice", "charlie", "olivia", "admin_user_qualify"])
def test_reps_managers_marketing_ops_and_admins_can_read_it(client, live, persona, request):
    # given
    client.force_login(request.getfixturevalue(persona))

    # when
    response = client.get(URL)

    # then
    assert response.status_code == 200
    assert "Stage definitions" in response.content.decode()


def test_anonymous_visitors_are_sent_to_log_in(client, live):
    # when
    response = client.get(URL)

    # then
    assert response.status_code == 302 and reverse("login") in response.url


def test_a_user_with_no_role_is_refused(client, django_user_model, live):
    # given
    client.force_login(django_user_model.objects.create_user(username="visitor", password="x"))

    # when
    response = client.get(URL)

    # then
    assert response.status_code == 403


def test_it_states_the_live_thresholds_paths_and_rules(client, alice, live):
    # given
    client.force_login(alice)

    # when
    content = client.get(URL).content.decode()

    # then
    assert f"v{live.number}" in content
    assert (
        f"fit score is at least {live.fit_min}, its engagement score is at least {live.engagement_min} "
        f"and the two add up to at least {live.total_min}"
    ) in content
    assert f"total score is at least {live.hot_min}" in content
    assert f"Fit grade A at {live.grade_a_min} or more" in content
    for path in live.rules.filter(kind="pql"):
        assert path.name in content
    assert "completed" in content  # the activation path, in words
    for rule in live.rules.exclude(kind="pql"):
        assert rule.name.replace("'", "&#x27;") in content


def test_it_follows_the_version_that_is_live_now(client, alice, olivia, live, django_capture_on_commit_callbacks):
    # given
    draft = rule_version_clone(version=live, user=olivia)
    RuleVersion.objects.filter(pk=draft.pk).update(fit_min=55, hot_min=150)
    draft.rules.filter(kind="pql").exclude(name=draft.rules.filter(kind="pql").first().name).delete()
    draft.rules.filter(kind="pql").update(name="Trial activation, renamed")
    with django_capture_on_commit_callbacks(execute=True):
        rule_version_publish(version_id=draft.pk, user=olivia)
    client.force_login(alice)

    # when
    content = client.get(URL).content.decode()

    # then
    assert f"v{draft.number}" in content
    assert "fit score is at least 55" in content and "at least 150" in content
    assert "Trial activation, renamed" in content
    assert "Seat growth" not in content


def test_without_a_live_version_it_says_so(client, alice):
    # given
    client.force_login(alice)

    # when
    response = client.get(URL)

    # then
    assert response.status_code == 200
    assert "No rule version is live yet" in response.content.decode()


def test_the_default_rules_read_as_words_not_regular_expressions(client, alice, live):
    # given
    client.force_login(alice)

    # when
    content = client.get(URL).content.decode()

    # then
    assert "the lead&#x27;s title contains any of VP, Vice President, Head, Director, Chief" in content
    assert "(?i)" not in content and "\\b(" not in content
