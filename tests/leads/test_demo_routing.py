"""The demo shows routing working: named accounts have their owner before their leads are routed."""

import pytest

from routing.models import Assignment, RoutingDecision
from tests.leads.test_demo_seed import _seed

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

SMALL = ["--accounts", "40", "--seed", "3"]


def test_the_leads_of_named_accounts_are_routed_with_their_owner_considered():
    # when
    _seed(*SMALL)

    # then every lead of an owned account was offered to its owner first
    owned = Assignment.objects.filter(lead__account__owner__isnull=False).select_related("lead__account")
    assert owned.count() >= 3
    for assignment in owned:
        audit = RoutingDecision.objects.get(assignment=assignment).audit
        considered = {check["rep_id"] for check in audit["reps"] if check["role"] == "account_owner"}
        assert considered == {assignment.lead.account.owner.rep.id}, audit["reason"]


@pytest.mark.parametrize(
    ("port_env", "args", "address"), [(None, [], "8000"), ("8765", [], "8765"), ("8765", ["--port", "9001"], "9001")]
)
def test_it_prints_the_address_the_demo_is_served_on(monkeypatch, port_env, args, address):
    # given
    if port_env:
        monkeypatch.setenv("PORT", port_env)
    else:
        monkeypatch.delenv("PORT", raising=False)

    # when
    output = _seed("--accounts", "2", *args)

    # then
    assert f"sign in at http://127.0.0.1:{address}/" in output
