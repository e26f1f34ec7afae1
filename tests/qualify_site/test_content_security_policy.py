"""The Content-Security-Policy holds in a real browser: our pages, the admin and
the API docs render with no violation and ask no outside host for anything.

Headless Chromium (Debian's package, driven by Playwright) loads each page and
reports what the policy blocked, JavaScript errors and every request that left
the test server. Skipped only when Chromium is missing and services are not
required (CI installs it, see .ci/run). With QUALIFY_SCREENSHOTS=DIR the pages
are also saved there as PNG files.
"""

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

from leads.services.sources import source_create
from scoring.services import rule_version_clone, rule_version_install_default
from tests.scoring.pipeline import company, days_ago, lead_by_email, page, person, send

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM) and os.getenv("QUALIFY_REQUIRE_SERVICES") != "1",
        reason=f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)",
    ),
]

# Recorded in the page before any of its own scripts run.
_VIOLATION_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${where}`);
});
"""


@dataclass
class PageReport:
    violations: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return self.violations + self.errors + self.outside_requests


class Browser:
    """One headless Chromium page that remembers what went wrong on each URL it visits."""

    def __init__(self, page, base_url: str):
        self.page, self.base_url, self.report = page, base_url, PageReport()
        host = urlparse(base_url).netloc
        page.add_init_script(_VIOLATION_LISTENER)
        # The console also reports violations by elements outside the document, which raise no event.
        page.on(
            "console",
            lambda message: "Content Security Policy" in message.text and self.report.violations.append(message.text),
        )
        page.on("pageerror", lambda error: self.report.errors.append(f"JavaScript error: {error}"))
        page.on(
            "request",
            lambda request: (
                urlparse(request.url).scheme in ("http", "https", "ws", "wss")
                and urlparse(request.url).netloc != host
                and self.report.outside_requests.append(f"outside request: {request.url}")
            ),
        )

    def visit(self, path: str, *, screenshot: str | None = None) -> PageReport:
        self.report = PageReport()
        response = self.page.goto(self.base_url + path, wait_until="networkidle")
        assert response is not None and response.ok, f"{path} answered {response and response.status}"
        assert "Content-Security-Policy" in response.headers or "content-security-policy" in response.headers
        self.report.violations += sorted(set(self.page.evaluate("window.__cspViolations")))
        screenshot_dir = os.getenv("QUALIFY_SCREENSHOTS")
        if screenshot and screenshot_dir:
            self.page.screenshot(path=str(Path(screenshot_dir) / screenshot), full_page=False)
        return self.report

    def sign_in(self, username: str, password: str) -> None:
        self.page.goto(self.base_url + "/accounts/login/")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state("networkidle")


@pytest.fixture
def browser(live_server):
    # Imported here: collecting this file must not need Playwright where Chromium is absent.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield Browser(chromium.new_page(viewport={"width": 1280, "height": 800}), live_server.url)
        finally:
            chromium.close()


@pytest.fixture
def world(transactional_db, olivia, admin_user_qualify):
    """A live and a draft rule version and one scored lead, built before the browser starts."""
    live = rule_version_install_default()
    draft = rule_version_clone(version=live, user=olivia, name="Pricing matters more")
    source = source_create(name="Web", kind="marketing")[0]
    send(
        source,
        [
            *person("u1", "ada@acme.io", title="VP Data", country="US"),
            company("u1", "acme", name="Acme", domain="acme.io", industry="Software", employees=250, country="US"),
            page("u1", "/pricing", at=days_ago(2)),
        ],
    )
    return {"draft": draft.pk, "lead": lead_by_email("ada@acme.io").pk}


def test_the_sign_in_page_our_pages_and_the_admin_have_no_csp_violation_or_outside_request(world, browser):
    # given
    signed_out = {"/accounts/login/": "security-login.png"}
    signed_in = {
        "/scoring/definitions/": None,
        "/admin/": "security-admin.png",
        "/admin/leads/lead/": None,
        f"/admin/leads/lead/{world['lead']}/change/": None,
        f"/admin/leads/lead/{world['lead']}/change-stage/": None,
        "/admin/leads/lead/import/": "security-admin-csv-import.png",
        "/admin/leads/account/import/": None,
        "/admin/leads/deadletter/": None,
        "/admin/leads/account/": None,
        "/admin/leads/event/": None,
        "/admin/leads/event/unmatched/": None,
        "/admin/scoring/ruleversion/": None,
        f"/admin/scoring/ruleversion/{world['draft']}/change/": "security-admin-rule-version.png",
        f"/admin/scoring/ruleversion/{world['draft']}/preview/?q=ada@acme.io": None,
        f"/admin/scoring/ruleversion/{world['draft']}/changes/": None,
        f"/admin/scoring/ruleversion/{world['draft']}/publish/": None,
        "/admin/routing/routingrule/": None,
        "/admin/routing/routingrule/add/": None,
        "/admin/routing/routingdecision/": None,
        f"/admin/routing/routingdecision/preview/?lead={world['lead']}": None,
        "/admin/auth/user/add/": None,
    }

    # when
    problems = {path: browser.visit(path, screenshot=shot).problems() for path, shot in signed_out.items()}
    browser.sign_in("root", "pw-root")
    problems |= {path: browser.visit(path, screenshot=shot).problems() for path, shot in signed_in.items()}

    # then
    failing = [f"{path}: {problem[:300]}" for path, found in problems.items() for problem in found]
    assert failing == [], "\n".join(failing)


@pytest.mark.parametrize(
    ("path", "rendered", "screenshot"),
    [
        ("/api/docs/", ".swagger-ui .info .title", "api-docs-swagger.png"),
        ("/api/redoc/", "#redoc-container h1", "api-docs-redoc.png"),
    ],
    ids=["swagger-ui", "redoc"],
)
def test_the_api_docs_render_offline_with_no_csp_violation(world, browser, path, rendered, screenshot):
    # given
    browser.sign_in("root", "pw-root")

    # when
    report = browser.visit(path)
    title = browser.page.wait_for_selector(rendered, timeout=15_000).inner_text()
    if os.getenv("QUALIFY_SCREENSHOTS"):
        browser.page.screenshot(path=str(Path(os.environ["QUALIFY_SCREENSHOTS"]) / screenshot))

    # then
    assert "Qualify API" in title
    assert report.problems() == []


def test_the_browser_check_sees_what_the_policy_blocks(world, browser):
    # given
    browser.visit("/accounts/login/")

    # when: an inline script and an outside stylesheet are added to the page
    browser.page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.ran = true";
          document.body.appendChild(script);
          const sheet = document.createElement("link");
          sheet.rel = "stylesheet";
          sheet.href = "https://fonts.googleapis.com/css?family=Roboto";
          document.head.appendChild(sheet);
        }"""
    )
    browser.page.wait_for_timeout(300)
    violations = browser.page.evaluate("window.__cspViolations")

    # then
    assert browser.page.evaluate("window.ran === undefined")
    assert any(v.startswith("script-src") for v in violations), violations
    assert any(v.startswith("style-src") and "googleapis" in v for v in violations), violations
