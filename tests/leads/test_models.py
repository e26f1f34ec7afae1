"""The data model's rules hold in the database, whatever code writes to it."""

import pytest
from django.db import IntegrityError, transaction

from leads.models import Account, Event, Lead
from leads.services.sources import source_create

pytestmark = pytest.mark.django_db


def _refused(create) -> bool:
    try:
        with transaction.atomic():
            create()
    except IntegrityError:
        return True
    return False


def test_a_lead_email_is_stored_normalized_and_once():
    Lead.objects.create(email="ann@acme.io")

    assert _refused(lambda: Lead.objects.create(email="ann@acme.io"))
    assert _refused(lambda: Lead.objects.bulk_create([Lead(email="Bob@Acme.io")]))


def test_an_account_domain_is_unique_and_lowercase_and_an_account_is_identifiable():
    Account.objects.create(domain="acme.io")

    assert _refused(lambda: Account.objects.create(domain="acme.io"))
    assert _refused(lambda: Account.objects.bulk_create([Account(domain="Globex.com")]))
    assert _refused(lambda: Account.objects.create())  # no domain, group id or name


def test_an_account_segment_follows_its_employee_count():
    small, large = (
        Account.objects.create(name="Small", employee_count=20),
        Account.objects.create(name="Large", employee_count=5000),
    )

    assert small.segment != large.segment
    assert Account.objects.get(id=large.id).segment == large.segment


def test_a_message_id_is_stored_once_per_source():
    source, _ = source_create(name="Web", kind="marketing")
    moment = "2026-01-01T00:00:00Z"
    fields = {"type": "track", "event": "Job Run", "received_at": moment, "timestamp": moment}
    Event.objects.create(source=source, message_id="m-1", batch_id="00000000-0000-0000-0000-000000000001", **fields)

    assert _refused(lambda: Event.objects.create(source=source, message_id="m-1", **fields))
