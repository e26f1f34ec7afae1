"""A version's view as of a moment: candidates scored on what was known then, labelled by what followed."""

import pytest

from insights.engine.measures import at_capacity
from insights.selectors.snapshot import snapshot_scored
from tests.insights.history import AS_OF, account, days, demo_only_version, lead, outcome, track

pytestmark = pytest.mark.django_db


@pytest.fixture
def history():
    """Four people as of 1 March: who asked for a demo when, and what they bought afterwards."""
    acme = account("acme.example")
    ada = lead("ada@acme.example", seen=AS_OF - days(30), company=acme)  # demo before, won after
    track(ada, "Demo Requested", AS_OF - days(2))
    outcome("closed_won", AS_OF + days(10), person=ada)
    ben = lead("ben@acme.example", seen=AS_OF - days(20), company=acme)  # nothing; the account's opportunity
    outcome("opportunity", AS_OF + days(5), company=acme)
    cleo = lead("cleo@globex.example", seen=AS_OF - days(10))  # asked one minute too late, won
    track(cleo, "Demo Requested", AS_OF + days(1 / 1440))
    outcome("closed_won", AS_OF + days(20), person=cleo)
    dan = lead("dan@initech.example", seen=AS_OF - days(40))  # already won before: not a candidate
    track(dan, "Demo Requested", AS_OF - days(35))
    outcome("closed_won", AS_OF - days(1), person=dan)
    lead("eve@late.example", seen=AS_OF + days(1))  # not seen yet
    return {"ada": ada, "ben": ben, "cleo": cleo, "acme": acme}


def test_only_what_was_known_before_as_of_is_scored_and_one_minute_later_would_change_it(history):
    # given a version that qualifies a demo request
    version = demo_only_version()

    # when the version's view is taken as of 1 March, and again two minutes later
    def view(as_of):
        return {c.key: c for c in snapshot_scored(version=version, as_of=as_of, horizon_days=90).candidates}

    before, later = view(AS_OF), view(AS_OF + days(2 / 1440))

    # then cleo's demo, a minute after the cut-off, is not seen as of it, and is seen just after
    assert sorted(before) == ["ada@acme.example", "ben@acme.example", "cleo@globex.example"]
    assert before["ada@acme.example"].is_mql and before["ada@acme.example"].total == 40
    assert not before["cleo@globex.example"].is_mql
    assert later["cleo@globex.example"].is_mql


def test_outcomes_in_the_horizon_label_the_lead_and_an_account_outcome_credits_its_leads(history):
    snapshot = snapshot_scored(version=demo_only_version(), as_of=AS_OF, horizon_days=15)
    outcomes = {c.key: set(c.outcomes) for c in snapshot.candidates}

    # cleo's win is 20 days out: past a 15-day horizon
    assert outcomes == {
        "ada@acme.example": {"closed_won", "opportunity"},
        "ben@acme.example": {"opportunity"},
        "cleo@globex.example": set(),
    }
    assert snapshot.outcomes_after == 3


def test_at_capacity_one_the_version_picks_the_lead_that_won(history):
    rows = snapshot_scored(version=demo_only_version(), as_of=AS_OF, horizon_days=90).scored()
    result = at_capacity(rows, 1)
    assert (result.precision.count, result.precision.total) == (1, 1)
    assert (result.recall.count, result.recall.total) == (1, 2)


def test_accounts_roll_up_their_leads(history):
    snapshot = snapshot_scored(version=demo_only_version(), as_of=AS_OF, horizon_days=15, unit="account")
    (acme,) = snapshot.candidates
    assert acme.key == "acme.example"
    assert acme.total == 40 and acme.is_mql
    assert set(acme.outcomes) == {"closed_won", "opportunity"}
    assert sorted(acme.lead_ids) == sorted([history["ada"].id, history["ben"].id])
