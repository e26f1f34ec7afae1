"""Security headers every page carries (the browser test, test_content_security_policy.py, shows pages satisfy them)."""

import pytest

from scoring.services import rule_version_clone, rule_version_install_default

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part for part in (p.strip() for p in policy.split(";")) if part}


@pytest.mark.parametrize("path", ["/accounts/login/", "/api/docs/", "/api/redoc/"])
def test_pages_carry_a_policy_with_no_inline_script_and_no_outside_host(client, path):
    # when
    response = client.get(path)

    # then
    policy = directives(response)
    assert policy["default-src"] == "default-src 'self'"
    assert policy["script-src"] == "script-src 'self'"
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "http" not in response["Content-Security-Policy"]
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"


def test_inline_styles_need_the_nonce_of_the_response(client, olivia):
    # given: the app's own pages use stylesheet files; the rule version's admin page still has an inline <style>
    draft = rule_version_clone(version=rule_version_install_default(), user=olivia, name="Draft")
    client.force_login(olivia)

    # when
    response = client.get(f"/admin/scoring/ruleversion/{draft.pk}/change/")

    # then
    nonce = directives(response)["style-src"].split("'nonce-")[1].rstrip("'")
    assert f'<style nonce="{nonce}">' in response.content.decode()


def test_only_redoc_may_start_a_worker_from_a_blob(client):
    assert "blob:" in directives(client.get("/api/redoc/"))["worker-src"]
    assert "worker-src" not in directives(client.get("/api/docs/"))
