"""The stage definitions page in a real browser: the default rules read as sentences a rep
understands (word lists as words, no regular expression), at a 1280 x 800 laptop's size.

With QUALIFY_SCREENSHOTS=DIR the page is saved there (scoring-definitions*.png)."""

import os
from pathlib import Path

import pytest

from scoring.services import rule_version_install_default
from tests.qualify_site import test_content_security_policy as csp_test
from tests.qualify_site.test_content_security_policy import browser  # noqa: F401 - the fixture

pytestmark = csp_test.pytestmark


@pytest.fixture
def live(transactional_db, alice):
    return rule_version_install_default()


def test_a_rep_reads_the_default_rules_as_sentences(live, browser):  # noqa: F811
    # given
    browser.sign_in("alice", "pw-alice")

    # when
    report = browser.visit("/scoring/definitions/", screenshot="scoring-definitions.png")
    text = browser.page.locator("main").inner_text()

    # then
    assert report.problems() == []
    assert "the lead's title contains any of VP, Vice President, Head, Director, Chief" in text
    assert "the account's industry contains any of Software, SaaS" in text
    assert "(?i)" not in text and "\\b" not in text and "pattern" not in text
    if os.getenv("QUALIFY_SCREENSHOTS"):
        browser.page.get_by_text("Target role").first.scroll_into_view_if_needed()
        browser.page.screenshot(path=str(Path(os.environ["QUALIFY_SCREENSHOTS"]) / "scoring-definitions-rules.png"))
