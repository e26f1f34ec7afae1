"""Each role lands on its work and sees only the navigation it may use (qualify_site/navigation.py)."""

import re

import pytest

from qualify_site.navigation import HOME_BY_ROLE, NAV_BY_ROLE
from qualify_site.roles import Role

pytestmark = [pytest.mark.django_db]

PERSONAS = {Role.REP: "alice", Role.MANAGER: "charlie", Role.MARKETING_OPS: "olivia", Role.ADMIN: "admin_user_qualify"}
EVERY_LABEL = {
    "My work",
    "Board",
    "Conversion",
    "Stage definitions",
    "Assignments",
    "Routing",
    "Rule versions",
    "Admin",
}


def _nav_labels(html: str) -> set[str]:
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.S)
    return set(re.findall(r"<a [^>]*>([^<]+)</a>", nav.group(1))) if nav else set()


@pytest.mark.parametrize(
    ("persona", "landing"),
    [
        ("alice", "/queue/"),
        ("charlie", "/manager/"),
        ("olivia", "/admin/scoring/ruleversion/"),
        ("admin_user_qualify", "/admin/"),
    ],
    ids=["rep", "manager", "marketing-ops", "admin"],
)
def test_home_takes_each_role_to_its_work_and_that_page_opens(client, request, persona, landing):
    # given
    client.force_login(request.getfixturevalue(persona))

    # when
    response = client.get("/", follow=True)

    # then
    assert response.redirect_chain[0][0] == landing
    assert response.status_code == 200


def test_every_role_has_a_home_and_a_navigation():
    assert set(HOME_BY_ROLE) == set(Role) == set(NAV_BY_ROLE)


@pytest.mark.parametrize(
    ("persona", "labels"),
    [
        ("alice", {"My work", "Stage definitions"}),
        ("charlie", {"Board", "Conversion", "Assignments", "Routing", "Stage definitions"}),
        ("olivia", {"Rule versions", "Conversion", "Stage definitions"}),
        ("admin_user_qualify", EVERY_LABEL - {"My work"}),
    ],
    ids=["rep", "manager", "marketing-ops", "admin"],
)
def test_the_top_navigation_shows_only_what_the_role_may_use(client, request, persona, labels):
    # given
    client.force_login(request.getfixturevalue(persona))

    # when
    html = client.get("/scoring/definitions/").content.decode()

    # then
    assert _nav_labels(html) == labels


@pytest.mark.parametrize("persona", ["alice", "charlie", "olivia", "admin_user_qualify"])
def test_every_navigation_link_of_a_role_opens_for_that_role(client, request, persona):
    # given
    client.force_login(request.getfixturevalue(persona))
    html = client.get("/scoring/definitions/").content.decode()
    links = re.findall(r'<nav aria-label="Main">.*?</nav>', html, re.S)[0]

    # when
    statuses = {href: client.get(href.split("#")[0]).status_code for href in re.findall(r'href="([^"]+)"', links)}

    # then
    assert set(statuses.values()) == {200}, statuses


def test_a_signed_out_visitor_sees_no_navigation(client):
    assert _nav_labels(client.get("/accounts/login/").content.decode()) == set()


def test_our_pages_carry_no_inline_style_or_script(client, alice):
    # given: the Content-Security-Policy allows neither; styles and htmx come as files
    client.force_login(alice)

    # when
    html = client.get("/scoring/definitions/").content.decode()

    # then
    assert "<style" not in html
    assert " style=" not in html
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert "/static/django_htmx/htmx-2.min.js" in html
    assert "/static/qualify/app.css" in html
    assert "hx-headers" in html and "X-CSRFToken" in html


def test_the_admin_is_titled_qualify_administration_and_links_back_to_the_app(client, charlie):
    # given
    client.force_login(charlie)

    # when
    html = client.get("/admin/").content.decode()

    # then
    assert "Qualify administration" in html
    assert "<title>Administration | Qualify administration</title>" in html
    assert 'href="/">← Back to Qualify</a>' in html
    assert 'href="/scoring/definitions/">Stage definitions</a>' in html
    assert "/static/qualify/tokens.css" in html
