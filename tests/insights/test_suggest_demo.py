"""The issue's acceptance test: on a world from `seed_demo`, the version suggested from what was known
before a date beats the default version's precision at capacity on the months after it."""

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command

from insights.engine.measures import at_capacity
from insights.selectors.snapshot import snapshot_scored
from insights.services.suggest import version_suggest
from leads.models import OutcomeKind
from scoring.selectors import rule_version_live

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.slow]

WORLD_END = "2026-06-30T12:00:00Z"
AS_OF = datetime(2026, 5, 1, tzinfo=UTC)
CAPACITY = 30


def test_the_suggested_version_beats_the_default_at_capacity_on_later_outcomes():
    # given six months of the demo world (300 companies, their people, events and CRM outcomes),
    # scored by the default rules
    call_command(
        "seed_demo",
        "--accounts",
        "300",
        "--days",
        "180",
        "--seed",
        "3",
        "--now",
        WORLD_END,
        "--no-users",
        stdout=StringIO(),
    )
    default = rule_version_live()

    # when a version is suggested from what was known before 1 May, for a team that works 30 accounts
    suggestion = version_suggest(as_of=AS_OF, capacity=CAPACITY, unit="account", horizon_days=30)

    # then, ranking the accounts as of 1 May and counting the wins of the two months after (which the
    # suggestion never saw), the suggestion's 30 best accounts hold more of them than the default's
    def wins_at_capacity(version):
        snapshot = snapshot_scored(version=version, as_of=AS_OF, horizon_days=60, unit="account")
        return at_capacity(snapshot.scored((OutcomeKind.CLOSED_WON,)), CAPACITY)

    suggested, base = wins_at_capacity(suggestion.version), wins_at_capacity(default)
    assert base.base_rate.count >= 5  # there are wins to find
    assert suggested.precision.rate > base.precision.rate
    # and the draft says what it learnt from: few wins, so earlier outcomes weighed in
    assert suggestion.figures["weight_opportunity"] > 0
    assert suggestion.version.is_draft
