"""The conversion funnel's PostgreSQL statement (insights.selectors.conversion_sql) against its
portable twin (the per-lead pass SQLite runs) on seeded random histories: the same groups, counts
and medians to the last bit, whatever the dimension, period, funnel and site time zone."""

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from insights.selectors import conversion as conversion_module
from insights.selectors.conversion import ConversionQuery, conversion_get
from leads.models import Account, Campaign, CampaignType, Lead, Source, Stage, StageChange
from routing.models import Assignment, Queue
from scoring.models import RuleVersion

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

DIMENSIONS = ("source", "campaign", "campaign_type", "segment", "rule_version", "cohort")
FIRST_DAY = datetime(2025, 9, 1, tzinfo=UTC)
# The stages a lead may move through, roughly in order; the generator skips, repeats and goes back.
MOVES = (Stage.MQL, Stage.PQL, Stage.ACCEPTED, Stage.SQL, Stage.OPPORTUNITY, Stage.WON, Stage.NURTURE)


def _moment(rng: random.Random) -> datetime:
    """Any moment over about 14 months, to the microsecond, or (often) a round hour another
    lead may share: ties between moves are where an off-by-one in `>=` would show."""
    if rng.random() < 0.3:
        return FIRST_DAY + timedelta(hours=rng.randrange(0, 24 * 420, 6))
    return FIRST_DAY + timedelta(seconds=rng.uniform(0, 420 * 86400))


def _evidence(rng: random.Random, versions: list[RuleVersion]) -> dict:
    pick = rng.random()
    if pick < 0.6:
        return {"rule_version_id": rng.choice(versions).id}
    if pick < 0.7:
        return {"rule_version_id": str(rng.choice(versions).id)}
    if pick < 0.75:
        return {"rule_version_id": 987654}  # a version since deleted
    if pick < 0.8:
        return {"rule_version_id": "not a number"}
    return {}  # qualified by hand


def build_random_history(seed: int, leads: int = 160) -> None:
    """Leads with random sources, campaigns and accounts (or none), each with a random walk of
    stage changes (entries again after nurture, steps before the entry, ties, wins the CRM took
    back, merged leads) and reps' acceptances before and after the entry."""
    rng = random.Random(f"conversion-sql:{seed}")
    sources = [Source.objects.create(name=f"S{n}", kind="marketing", write_key_hash=f"{n}" * 64) for n in range(3)]
    campaigns = [Campaign.objects.create(name=f"C{n}", type=rng.choice(CampaignType.values)) for n in range(4)]
    accounts = [
        Account.objects.create(name=f"A{n}", domain=f"a{n}.io", employee_count=rng.choice([20, 400, 5000]))
        for n in range(5)
    ]
    versions = [RuleVersion.objects.create(number=n + 1, name=f"V{n + 1}") for n in range(3)]
    queue = Queue.objects.create(name="Random")
    survivors: list[Lead] = []
    changes, assignments = [], []
    for number in range(leads):
        walk = sorted((_moment(rng), rng.choice(MOVES)) for _ in range(rng.randint(0, 6)))
        lead = Lead.objects.create(
            email=f"lead{number}@example.com",
            source=rng.choice([*sources, None]),
            campaign=rng.choice([*campaigns, None]),
            account=rng.choice([*accounts, None]),
            # Mostly where the walk ended; now and then a win the CRM took back.
            stage=walk[-1][1] if walk and rng.random() < 0.85 else rng.choice([Stage.NEW, Stage.LOST]),
            merged_into=rng.choice(survivors) if survivors and rng.random() < 0.05 else None,
        )
        survivors.append(lead)
        previous = Stage.NEW
        for moment, stage in walk:
            evidence = _evidence(rng, versions) if stage in (Stage.MQL, Stage.PQL) else {}
            changes.append(
                StageChange(lead=lead, from_stage=previous, to_stage=stage, changed_at=moment, evidence=evidence)
            )
            previous = stage
        if walk and rng.random() < 0.3:
            # Two entries at the same moment: the first row's version is the one that counts.
            moment = walk[0][0]
            changes.append(
                StageChange(
                    lead=lead,
                    from_stage=Stage.NEW,
                    to_stage=rng.choice([Stage.MQL, Stage.PQL]),
                    changed_at=moment,
                    evidence=_evidence(rng, versions),
                )
            )
        for _ in range(rng.choice([0, 0, 1, 2])):
            accepted_at = _moment(rng)
            assignments.append(
                Assignment(lead=lead, queue=queue, status="closed", assigned_at=accepted_at, accepted_at=accepted_at)
            )
    StageChange.objects.bulk_create(changes)
    Assignment.objects.bulk_create(assignments)


def _both_ways(monkeypatch, query: ConversionQuery):
    in_postgresql = conversion_get(query)
    with monkeypatch.context() as portable:
        portable.setattr(conversion_module, "is_postgresql", lambda: False)
        return in_postgresql, conversion_get(query)


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("by", DIMENSIONS)
def test_the_postgresql_statement_gives_the_portable_twins_figures_on_a_random_history(monkeypatch, seed, by):
    # given
    build_random_history(seed)

    for funnel in ("mql", "pql"):
        for period in ("month", "quarter"):
            for zone in ("UTC", "America/New_York"):
                query = ConversionQuery(
                    funnel=funnel, by=by, period=period, start=date(2025, 10, 15), end=date(2026, 8, 31)
                )
                # when
                with timezone.override(zone):
                    in_postgresql, portable = _both_ways(monkeypatch, query)

                # then: every row, rate and median, floats compared exactly
                context = f"{funnel} {period} {zone}"
                assert in_postgresql.total == portable.total, context
                assert in_postgresql.rows == portable.rows, context
                assert in_postgresql.cohorts == portable.cohorts, context
                assert portable.total.entered > 10, context


def test_both_ways_agree_on_the_hand_built_history_by_every_dimension(funnel_history, monkeypatch):
    for by in DIMENSIONS:
        # when
        in_postgresql, portable = _both_ways(
            monkeypatch,
            ConversionQuery(funnel="mql", by=by, period="month", start=date(2026, 1, 1), end=date(2026, 3, 31)),
        )

        # then
        assert in_postgresql == portable, by
