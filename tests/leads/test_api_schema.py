"""The OpenAPI schema is valid and the documentation pages work offline (sidecar assets, no CDN)."""

import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, olivia):
    client.force_login(olivia)
    return client


def test_the_schema_is_valid_openapi_and_lists_the_api(staff_client):
    # when
    response = staff_client.get("/api/schema/")

    # then
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate_schema(schema)
    assert {"/api/leads/", "/api/leads/{lead_id}/", "/api/accounts/", "/api/events/", "/api/auth/token/"} <= set(
        schema["paths"]
    )
    lead_parameters = {p["name"] for p in schema["paths"]["/api/leads/"]["get"]["parameters"]}
    assert {"stage", "created_after", "q", "cursor", "page_size"} <= lead_parameters


def test_the_schema_generates_without_warnings_or_errors():
    # given
    GENERATOR_STATS.reset()

    # when
    SchemaGenerator().get_schema(request=None, public=True)

    # then: warnings usually mean a wrong schema (colliding component or enum names)
    assert not GENERATOR_STATS._warn_cache, dict(GENERATOR_STATS._warn_cache)
    assert not GENERATOR_STATS._error_cache, dict(GENERATOR_STATS._error_cache)


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_the_docs_pages_load_their_assets_from_our_own_static_files(staff_client, url):
    # when
    response = staff_client.get(url)

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css|png))"', html)
    assert assets, html
    for asset in assets:
        assert asset.startswith("/static/"), f"{asset} is not served locally"
        assert finders.find(asset.removeprefix("/static/")), f"{asset} is missing from static files"
    assert "cdn." not in html and "unpkg.com" not in html
