"""The Outcome admin's CSV import in a real browser: marketing ops uploads a CRM export, reads the
preview (bad rows with their problems by column, unmatched ones said so), confirms, and lands on the
outcome list filtered to what is still unmatched. Under the strict CSP, nothing fetched from outside.

With QUALIFY_SCREENSHOTS=DIR the preview and the list are saved there (outcomes-*.png, full page).
"""

import os
from pathlib import Path

import pytest

from leads.models import Lead, Outcome, Stage
from leads.services.roles import roles_sync
from tests.qualify_site import test_content_security_policy as csp_test
from tests.qualify_site.test_content_security_policy import browser  # noqa: F401 - the fixture
from tests.routing.world import make_account, make_lead

pytestmark = csp_test.pytestmark

EXPORT = (
    b"external_id,kind,occurred_at,amount,currency,lead_email,account_domain\n"
    b"opp-1,closed_won,2026-03-01,12500,USD,ann@acme.com,\n"
    b"opp-2,won,next week,-5,dollars,not-an-email,gmail.com\n"
    b"opp-3,opportunity,2026-03-02,900,EUR,zed@initech.com,\n"
)


def _screenshot(page, name: str) -> None:
    if os.getenv("QUALIFY_SCREENSHOTS"):
        page.screenshot(path=str(Path(os.environ["QUALIFY_SCREENSHOTS"]) / name), full_page=True)


@pytest.fixture(autouse=True)
def _database_reads_beside_the_browser(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the test's own ORM reads are safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def world(transactional_db, olivia):
    roles_sync()
    make_lead("ann@acme.com", account=make_account("acme.com"), stage=Stage.MQL)


def test_marketing_ops_imports_a_crm_export_of_outcomes_from_the_admin(world, browser, tmp_path):  # noqa: F811
    # given
    export = tmp_path / "outcomes.csv"
    export.write_bytes(EXPORT)
    browser.sign_in("olivia", "pw-olivia")
    problems = browser.visit("/admin/leads/outcome/").problems()
    page = browser.page

    # when: Import CSV, choose the file, preview
    page.get_by_role("link", name="Import CSV").click()
    page.set_input_files("input[name=import_file]", str(export))
    page.get_by_role("button", name="Submit").click()
    page.wait_for_load_state("networkidle")

    # then: every row by line, nothing written yet
    assert page.locator("#import-summary").inner_text() == "2 new, 0 updated, 0 unchanged (skipped), 1 bad rows."
    bad = page.locator("tr[data-line='3']")
    assert "kind" in bad.inner_text() and "account_domain" in bad.inner_text()
    assert "kept unmatched (no lead zed@initech.com yet)" in page.locator("tr[data-line='4']").inner_text()
    assert not Outcome.objects.exists()
    _screenshot(page, "outcomes-import-preview.png")

    # when: confirm, then list what is still unmatched
    page.get_by_role("button", name="Confirm import").click()
    page.wait_for_load_state("networkidle")
    problems += browser.visit("/admin/leads/outcome/?matched=unmatched").problems()
    _screenshot(page, "outcomes-unmatched.png")

    # then
    assert sorted(Outcome.objects.values_list("external_id", flat=True)) == ["opp-1", "opp-3"]
    assert Lead.objects.get(email="ann@acme.com").stage == Stage.WON
    assert "zed@initech.com" in page.locator("#result_list").inner_text()
    assert problems == []
