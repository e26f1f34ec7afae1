"""The Source admin: admins set each source's ingestion rate limits; empty means the default."""

import pytest

from leads.models import Source
from leads.services.roles import roles_sync

pytestmark = [pytest.mark.django_db]

LIMITS = {"rate_limit_per_second": "50000", "rate_limit_per_minute": "1200000", "rate_limit_requests_per_second": ""}


@pytest.fixture(autouse=True)
def _roles():
    roles_sync()


def test_an_admin_sets_a_sources_rate_limits_and_leaves_others_to_the_default(
    client, admin_user_qualify, source_with_key
):
    # given
    source, _ = source_with_key
    client.force_login(admin_user_qualify)

    # when
    response = client.post(
        f"/admin/leads/source/{source.pk}/change/", {"name": source.name, "is_active": "on", **LIMITS}
    )

    # then
    assert response.status_code == 302, response.content.decode()[:2000]
    source.refresh_from_db()
    assert (source.rate_limit_per_second, source.rate_limit_per_minute) == (50_000, 1_200_000)
    assert source.rate_limit_requests_per_second is None


def test_a_new_source_keeps_the_rate_limits_it_was_created_with(client, admin_user_qualify):
    # given
    client.force_login(admin_user_qualify)

    # when
    client.post("/admin/leads/source/add/", {"name": "Backfill", "kind": "product", "is_active": "on", **LIMITS})

    # then
    source = Source.objects.get(name="Backfill")
    assert (source.rate_limit_per_second, source.rate_limit_per_minute) == (50_000, 1_200_000)


def test_marketing_ops_cannot_change_a_sources_rate_limits(client, olivia, source_with_key):
    # given
    source, _ = source_with_key
    client.force_login(olivia)

    # when
    response = client.post(f"/admin/leads/source/{source.pk}/change/", {"name": source.name, **LIMITS})

    # then
    assert response.status_code == 403
    source.refresh_from_db()
    assert source.rate_limit_per_second is None
