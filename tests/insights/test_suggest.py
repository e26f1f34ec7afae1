"""A suggested version learnt from a hand-built history: what predicts is kept, noise pruned, the missing
behaviour added, thresholds at capacity, earlier outcomes as evidence when wins are few."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from insights.models import VersionSuggestion
from insights.selectors.training import training_rows
from insights.services.suggest import ENOUGH_WINS, SuggestionError, evidence_weights, version_suggest
from insights.services.suggest_document import capacity_thresholds
from leads.models import Account, Event, Lead, Outcome
from scoring.engine import compile_version, validate_version
from scoring.models import RuleVersion, VersionStatus
from scoring.selectors import rule_version_definitions, rule_version_document
from scoring.services.versions import rule_version_create_from_document
from tests.insights.history import DEMO_ONLY, source

pytestmark = pytest.mark.django_db

AS_OF = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
HORIZON = 14
# The base: a demo request (which predicts) and newsletter opens (which do not); nothing reads plan limits.
BASE = {
    **DEMO_ONLY,
    "engagement_rules": [
        {"name": "Demo requested", "points": 40, "event": "Demo Requested", "max_count": 1, "window_days": 60},
        {"name": "Newsletter opened", "points": 10, "event": "Newsletter Opened", "max_count": 3, "window_days": 30},
    ],
}


def signal_history(
    *, people: int = 600, buyer_outcome: str = "closed_won", seed: int = 11, with_accounts: bool = False
) -> None:
    """`people` leads seen 130 days before AS_OF. A quarter hit a plan limit and, ten days later, mostly
    buy (`buyer_outcome`); a tenth ask for a demo and often buy; everyone opens newsletters at random."""
    rng = random.Random(seed)
    start = AS_OF - timedelta(days=130)
    companies = [None] * people
    if with_accounts:  # a company of one each: its outcomes and behaviour are its lead's
        companies = Account.objects.bulk_create(
            [Account(name=f"Co {number}", domain=f"co{number}.example") for number in range(people)]
        )
    leads = Lead.objects.bulk_create(
        [
            Lead(email=f"p{number}@co{number}.example", first_seen_at=start, account=companies[number])
            for number in range(people)
        ]
    )
    events, outcomes = [], []
    origin = source()

    def track(lead, name, at):
        events.append(
            Event(
                source=origin,
                message_id=f"s{len(events)}",
                type="track",
                event=name,
                user_id=lead.email,
                received_at=at,
                timestamp=at,
                processed_at=at,
                lead=lead,
            )
        )

    for lead in leads:
        for _ in range(3):
            track(lead, "Newsletter Opened", start + timedelta(days=rng.uniform(5, 130)))
        kind = rng.random()
        moment = start + timedelta(days=rng.uniform(10, 127))
        if kind < 0.25:
            track(lead, "Plan Limit Reached", moment)
            if rng.random() < 0.9:
                outcomes.append(Outcome(kind=buyer_outcome, lead=lead, occurred_at=moment + timedelta(days=10)))
        elif kind < 0.35:
            track(lead, "Demo Requested", moment)
            if rng.random() < 0.6:
                outcomes.append(Outcome(kind=buyer_outcome, lead=lead, occurred_at=moment + timedelta(days=10)))
        elif kind < 0.40:
            track(lead, "Demo Requested", moment)
    Event.objects.bulk_create(events)
    Outcome.objects.bulk_create(outcomes)


def _base() -> RuleVersion:
    return rule_version_create_from_document(name="Base", document=BASE)


def _suggest(base: RuleVersion, capacity: int = 20) -> VersionSuggestion:
    return version_suggest(as_of=AS_OF, capacity=capacity, base=base, horizon_days=HORIZON)


def _changes(suggestion: VersionSuggestion) -> dict[str, str]:
    return {change["name"]: change["action"] for change in suggestion.changes}


def test_what_predicts_is_kept_noise_is_pruned_and_the_missing_behaviour_is_added():
    # given a history where plan limits and demo requests precede buying and newsletters do not
    signal_history()
    base = _base()

    # when
    suggestion = _suggest(base)

    # then
    changes = _changes(suggestion)
    assert changes["Newsletter opened"] == "pruned"
    assert changes["Demo requested"] in ("kept", "reweighted")
    assert changes["Plan Limit Reached"] == "added"
    rules = {rule["name"]: rule for rule in rule_version_document(suggestion.version)["engagement_rules"]}
    assert set(rules) == {"Demo requested", "Plan Limit Reached"}
    assert rules["Plan Limit Reached"]["event"] == "Plan Limit Reached"
    assert rules["Plan Limit Reached"]["points"] > 0
    # and it ranks the validation weeks better than the base did
    figures = suggestion.figures
    assert figures["precision_at_capacity"] > figures["base_precision_at_capacity"]
    assert figures["validation_cutoff"].startswith("2026-05-18")


def test_the_draft_is_an_ordinary_draft_that_validates_and_reads_in_words():
    # given
    signal_history()
    base = _base()

    # when
    suggestion = _suggest(base)

    # then it is a draft based on the base, its rules valid, its notes saying what changed and why
    version = suggestion.version
    assert version.status == VersionStatus.DRAFT and version.based_on == base
    assert validate_version(rule_version_document(version)) == []
    assert "Pruned engagement rule 'Newsletter opened' (10 points)" in version.notes
    assert "Added engagement rule 'Plan Limit Reached'" in version.notes
    assert "converted" in version.notes and "evidence weights" in version.notes.lower()
    sentences = [
        rule["definition"] for section in rule_version_definitions(version)["sections"] for rule in section["rules"]
    ]
    assert any("Plan Limit Reached" in sentence for sentence in sentences)
    # and the figures and weights are stored with it
    assert VersionSuggestion.objects.get(version=version).capacity == 20
    assert suggestion.evidence_weights["closed_won"] == 1.0


def test_the_mql_thresholds_qualify_about_the_teams_capacity():
    # given
    signal_history()

    # when
    small, large = _suggest(_base(), capacity=10), _suggest(_base(), capacity=60)

    # then the more the team can work, the lower the bar, and about that many qualify
    assert small.version.total_min > large.version.total_min
    assert 5 <= small.figures["qualified_at_validation"] <= 20
    assert 40 <= large.figures["qualified_at_validation"] <= 90


def test_earlier_outcomes_count_as_weighted_evidence_when_wins_are_few():
    # given buyers who reach an opportunity, and only a handful of wins
    signal_history(buyer_outcome="opportunity")
    lead_ids = list(Lead.objects.order_by("id").values_list("id", flat=True)[:4])
    Outcome.objects.bulk_create(
        [Outcome(kind="closed_won", lead_id=i, occurred_at=AS_OF - timedelta(days=20)) for i in lead_ids]
    )

    # when
    suggestion = _suggest(_base())

    # then opportunities weighed in, with their weight said
    figures = suggestion.figures
    assert figures["train_positives_closed_won"] < 10 <= figures["train_positives_opportunity"]
    assert 0 < figures["weight_opportunity"] < 1 and figures["weight_closed_won"] == 1.0
    assert suggestion.evidence_weights["opportunity"] == figures["weight_opportunity"]
    assert "opportunity 0.5 (Only 0 opportunities decided before as_of: default weight.)" in suggestion.version.notes
    assert _changes(suggestion)["Plan Limit Reached"] == "added"


def test_with_plenty_of_wins_earlier_outcomes_weigh_nothing():
    weights, reasons = evidence_weights(as_of=AS_OF, training_wins=ENOUGH_WINS)

    assert weights == {"closed_won": 1.0, "opportunity": 0.0, "meeting": 0.0}
    assert "enough on their own" in reasons["opportunity"]


def test_too_few_outcomes_say_so_and_create_nothing():
    # given a history with three wins and no other outcome
    signal_history(people=40, buyer_outcome="meeting")
    Outcome.objects.filter(kind="meeting").delete()
    Outcome.objects.bulk_create(
        [
            Outcome(kind="closed_won", lead=lead, occurred_at=AS_OF - timedelta(days=30))
            for lead in Lead.objects.all()[:3]
        ]
    )
    base = _base()

    # when / then
    with pytest.raises(SuggestionError, match="too few outcomes"):
        _suggest(base)
    assert list(RuleVersion.objects.all()) == [base]
    assert not VersionSuggestion.objects.exists()


def test_a_training_row_sees_no_event_after_its_cutoff():
    # given one lead whose plan limit comes one minute after the cut-off
    lead = Lead.objects.create(email="late@co.example", first_seen_at=AS_OF - timedelta(days=5))
    Event.objects.create(
        source=source(),
        message_id="late",
        type="track",
        event="Plan Limit Reached",
        received_at=AS_OF,
        timestamp=AS_OF + timedelta(minutes=1),
        lead=lead,
    )
    compiled = compile_version(BASE)

    # when
    before = training_rows(compiled=compiled, cutoff=AS_OF, horizon_days=HORIZON)
    after = training_rows(compiled=compiled, cutoff=AS_OF + timedelta(minutes=2), horizon_days=HORIZON)

    # then
    assert "event:Plan Limit Reached" not in before[0].behaviours
    assert after[0].behaviours["event:Plan Limit Reached"] == 1.0


def test_on_a_big_world_every_converting_candidate_is_read_and_a_weighted_sample_stands_for_the_rest():
    # given 200 candidates at the cut-off, some converting in the horizon after
    signal_history(people=200)
    cutoff = AS_OF - timedelta(days=28)
    everyone = training_rows(compiled=compile_version(BASE), cutoff=cutoff, horizon_days=HORIZON)

    # when at most 50 are read
    sampled = training_rows(compiled=compile_version(BASE), cutoff=cutoff, horizon_days=HORIZON, sample_limit=50)

    # then every converting one is there, and the weights add up to everyone
    converting = {row.id for row in everyone if row.outcomes}
    assert converting and converting <= {row.id for row in sampled}
    assert len(sampled) == 50
    assert sum(row.weight for row in sampled) == pytest.approx(len(everyone))


@pytest.mark.parametrize(
    ("totals", "capacity", "expected_total_min"),
    [
        ([90.0, 70.5, 50.0, 30.0], 2, 70),  # the second best's total, rounded down
        ([90.0, 40.0, 40.0, 40.0, 40.0, 10.0], 2, 41),  # four tie at 40: one qualifies rather than five
        ([90.0, 40.0, 40.0, 10.0], 2, 41),  # two tie at 40: 3 or 1 qualify, equally near 2: the stricter bar
    ],
)
def test_the_total_minimum_sits_at_the_last_candidate_the_team_can_work(totals, capacity, expected_total_min):
    ranked = [(total, 20.0, total - 20.0, False, 1.0) for total in totals]

    thresholds = capacity_thresholds(BASE, ranked, capacity, 1.0)

    assert thresholds["mql"]["total_min"] == expected_total_min
    assert thresholds["hot"]["total_min"] > expected_total_min
    assert validate_version({**BASE, "thresholds": thresholds}) == []
