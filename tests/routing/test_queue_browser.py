"""A rep works their queue in a real browser (headless Chromium, as in
tests/qualify_site/test_content_security_policy.py): signs in, lands on the queue in the
right order, accepts the focused lead and logs a call from the keyboard, and sees the SLA
clock stop and the counts drop with no full reload. The key list and the reason picker
are reachable from the keyboard; axe-core finds no serious or critical violation and the
Content-Security-Policy none either. With QUALIFY_SCREENSHOTS=DIR: queue-*.png.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Stage
from routing.models import Assignment, Rep
from routing.services.assignments import lead_route
from scoring.models import LeadScore
from scoring.services import rule_version_install_default
from tests.qualify_site import test_content_security_policy as csp_test
from tests.qualify_site.test_content_security_policy import browser  # noqa: F401 - the fixture
from tests.qualify_site.test_ui import _screenshot, _serious_violations
from tests.routing.world import make_account, make_lead, make_queue, make_rep, rule, sla

pytestmark = csp_test.pytestmark

LEADS = [
    # first name, last name, title, stage, why, minutes until at risk, until due
    ("Ada", "Lovelace", "VP Data", Stage.MQL, "Hit plan limit · 5 active users this week · pricing page twice", 40, 55),
    ("Grace", "Hopper", "Admiral", Stage.PQL, "Invited 3 teammates · created 2 projects", -30, -5),
    ("Linus", "Torvalds", "Maintainer", Stage.MQL, "Pricing page twice · demo request", -2, 12),
]


@pytest.fixture
def worked_queue(transactional_db, alice):
    """Alice's queue: Ada on track, Grace breached, Linus at risk (routed in that order; the
    clocks are set before the browser starts: the database is not touched from Playwright)."""
    live = rule_version_install_default()
    rule("All", make_queue("Inbound", [make_rep(alice)]), 1)
    sla(Stage.MQL, minutes=60, warning=45)
    now = timezone.now()
    ids = {}
    for first, last, title, stage, why, warn_in, due_in in LEADS:
        lead = make_lead(
            f"{first.lower()}@example.com",
            first_name=first,
            last_name=last,
            title=title,
            stage=stage,
            account=make_account(f"{last.lower()}.io"),
        )
        LeadScore.objects.create(lead=lead, version=live, total=70, grade="A", is_mql=True, why=why, computed_at=now)
        assignment = lead_route(lead_id=lead.id, trigger="qualified")
        Assignment.objects.filter(id=assignment.id).update(
            warn_at=now + timedelta(minutes=warn_in), due_at=now + timedelta(minutes=due_in)
        )
        ids[first] = assignment.id
    return ids


def _names(page) -> list[str]:
    return page.locator("#queue-rows tr.queue-row td.lead a").all_inner_texts()


def _wait_for_focus(page, element_id: str) -> None:
    page.wait_for_function("id => document.activeElement && document.activeElement.id === id", arg=element_id)


def _counts(page) -> str:
    return " ".join(page.locator("#queue-counts").inner_text().split())


def test_a_rep_accepts_and_logs_a_call_from_the_keyboard_and_the_sla_clock_stops(worked_queue, browser):  # noqa: F811
    page = browser.page
    grace_row = f"#assignment-{worked_queue['Grace']}"

    # given: signed in, the rep lands on the queue, breached first, then at risk, then on track
    browser.sign_in("alice", "pw-alice")
    assert page.url == browser.base_url + "/queue/"
    problems = browser.visit("/queue/").problems() + _serious_violations(page)
    assert _names(page) == ["Grace Hopper", "Linus Torvalds", "Ada Lovelace"]
    assert _counts(page) == "3 open 1 at risk 1 breached"
    assert "Breached" in page.locator(f"{grace_row} td.sla").inner_text()
    _screenshot(page, "queue-rows.png")
    page.evaluate("window.__sameDocument = true")

    # when: j focuses the first row, a accepts it
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.id") == grace_row[1:]
    page.keyboard.press("a")

    # then
    status = page.locator("#queue-status")
    status.filter(has_text="Accepted Grace Hopper").wait_for()
    assert page.locator(f"{grace_row} [data-action=accept]").count() == 0
    assert "Accepted" in page.locator(f"{grace_row} .badge").inner_text()

    # when: c logs a call on the same (still focused) row
    _wait_for_focus(page, grace_row[1:])
    page.keyboard.press("c")

    # then: the clock stopped, the counts dropped, the row kept focus, no full reload
    status.filter(has_text="Call logged").wait_for()
    assert "✓ Touched" in page.locator(f"{grace_row} td.sla").inner_text()
    assert _counts(page) == "3 open 1 at risk 0 breached"
    _wait_for_focus(page, grace_row[1:])
    assert page.evaluate("window.__sameDocument") is True
    assert _names(page) == ["Linus Torvalds", "Ada Lovelace", "Grace Hopper"]  # touched: no clock to race
    assert status.get_attribute("aria-live") == "polite"
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    _screenshot(page, "queue-after-call.png")

    # when: ? lists the keys in a dialog that Escape closes
    page.keyboard.press("?")
    dialog = page.locator("#queue-keys")
    dialog.wait_for(state="visible")
    assert "Log a call" in dialog.inner_text()
    problems += _serious_violations(page)
    _screenshot(page, "queue-keys.png")
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")

    # when: k moves up, r opens the reason picker of that row
    page.keyboard.press("k")
    page.keyboard.press("r")
    picker = page.locator(f"#assignment-{worked_queue['Ada']} details.reject-picker")
    assert picker.get_attribute("open") is not None
    page.wait_for_function("() => document.activeElement && document.activeElement.name === 'reason'")
    page.keyboard.press("j")  # typing in the picker moves nothing
    assert page.evaluate("document.activeElement.name") == "reason"
    problems += _serious_violations(page)
    _screenshot(page, "queue-reject-picker.png")
    page.keyboard.press("Escape")
    assert picker.get_attribute("open") is None

    # then: no CSP violation, script error or outside request, no serious accessibility violation
    problems += [f"CSP: {v}" for v in sorted(set(page.evaluate("window.__cspViolations")))]
    assert problems + browser.report.problems() == []


# What the minute's poll does (hx-trigger="every 60s"), without waiting a minute.
POLL = (
    "htmx.ajax('GET', document.getElementById('queue-rows').getAttribute('hx-get'),"
    " {source: '#queue-rows', target: '#queue-rows', swap: 'innerHTML'})"
)


def test_a_rep_rejects_a_lead_for_a_reason_from_the_picker_and_enter_opens_the_next(worked_queue, browser):  # noqa: F811
    page = browser.page
    browser.sign_in("alice", "pw-alice")
    page.evaluate("window.__sameDocument = true")
    polls = []
    page.on("request", lambda request: "/queue/" in request.url and request.method == "GET" and polls.append(1))

    # given: the minute's refresh keeps the focused row focused
    page.keyboard.press("j")
    page.keyboard.press("j")
    with page.expect_response(lambda response: "/queue/" in response.url):
        page.evaluate(POLL)
    _wait_for_focus(page, f"assignment-{worked_queue['Linus']}")

    # when: the at-risk row's picker is open, the refresh waits
    page.keyboard.press("r")
    polls.clear()
    page.evaluate(POLL)
    page.wait_for_timeout(300)
    assert polls == []
    assert page.locator(f"#assignment-{worked_queue['Linus']} details.reject-picker").get_attribute("open") is not None

    # when: confirmed without a reason (the browser's own check switched off), the server says why
    page.evaluate(f"document.getElementById('reject-reason-{worked_queue['Linus']}').required = false")
    page.click(f"#assignment-{worked_queue['Linus']} .action-reject-confirm")
    page.locator("#queue-status .is-error").filter(has_text="Pick why the lead is rejected.").wait_for()
    assert _names(page) == ["Grace Hopper", "Linus Torvalds", "Ada Lovelace"]
    _wait_for_focus(page, f"assignment-{worked_queue['Linus']}")

    # when: the picker again, a reason, confirm
    page.keyboard.press("r")
    page.select_option(f"#reject-reason-{worked_queue['Linus']}", "No budget")
    page.click(f"#assignment-{worked_queue['Linus']} .action-reject-confirm")

    # then
    page.locator("#queue-status").filter(has_text="Rejected Linus Torvalds").wait_for()
    assert _names(page) == ["Grace Hopper", "Ada Lovelace"]
    assert _counts(page) == "2 open 0 at risk 1 breached"
    # the rep's place: the row now where the rejected one was has focus
    _wait_for_focus(page, f"assignment-{worked_queue['Ada']}")
    assert page.evaluate("window.__sameDocument") is True
    assert browser.report.problems() == []

    # when: Enter opens the focused lead
    with page.expect_navigation():
        page.keyboard.press("Enter")

    # then
    assert re.search(r"/leads/\d+/$", page.url) and "Ada Lovelace" in page.locator("h1").inner_text()


@pytest.fixture
def managed_queue(worked_queue, charlie):
    Rep.objects.filter(user__username="alice").update(manager=charlie)
    return worked_queue


def test_a_manager_opening_the_queue_picks_a_reps_queue_and_sees_it_as_they_do(managed_queue, browser):  # noqa: F811
    page = browser.page
    browser.sign_in("charlie", "pw-charlie")

    # when
    problems = browser.visit("/queue/").problems() + _serious_violations(page)
    _screenshot(page, "queue-manager-picker.png")
    page.click("text=Alice")
    page.wait_for_load_state("networkidle")

    # then: Alice's queue, in her order
    assert "rep=" in page.url
    assert _names(page) == ["Grace Hopper", "Linus Torvalds", "Ada Lovelace"]
    assert problems == []
