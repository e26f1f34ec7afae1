"""A backtest replays a version over history with no look-ahead, beside the live version, in
bounded steps: checked on a hand-built history where every figure is counted by hand."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from insights.models import BacktestPart, BacktestRun, BacktestStatus
from insights.services import backtest as backtests
from insights.services.backtest import (
    backtest_advance,
    backtest_stalled_claim,
    backtest_start,
    backtests_resume_stalled,
)
from scoring.services.versions import rule_version_create_from_document, rule_version_publish
from tests.insights.history import DEMO_ONLY, account, days, demo_only_version, lead, outcome, track
from tests.routing.world import make_queue, rule

pytestmark = pytest.mark.django_db

FIRST = datetime(2026, 3, 1, tzinfo=UTC)  # the first point; the second is a week later
SEEN = FIRST - days(28)
PRICING_ONLY = {
    **DEMO_ONLY,
    "engagement_rules": [
        {"name": "Pricing viewed", "points": 40, "event": "Pricing Viewed", "max_count": 1, "window_days": 60}
    ],
}


@pytest.fixture
def history():
    """Five people: what they did before 1 and 8 March, and what they bought after."""
    acme = account("acme.example")
    ada = lead("ada@acme.example", seen=SEEN, company=acme)  # demo before, won 10 March
    track(ada, "Demo Requested", FIRST - days(4))
    outcome("closed_won", FIRST + days(9), person=ada)
    ben = lead("ben@initech.example", seen=SEEN)  # pricing only, never buys
    track(ben, "Pricing Viewed", FIRST - days(3))
    cleo = lead("cleo@globex.example", seen=SEEN)  # demo one minute after the first point, won 20 March
    track(cleo, "Demo Requested", FIRST + timedelta(minutes=1))
    outcome("closed_won", FIRST + days(19), person=cleo)
    dan = lead("dan@hooli.example", seen=SEEN)  # both, an opportunity on 5 March, no win
    track(dan, "Demo Requested", FIRST - days(9))
    track(dan, "Pricing Viewed", FIRST - days(9))
    outcome("opportunity", FIRST + days(4), person=dan)
    eve = lead("eve@umbrella.example", seen=SEEN)  # nothing, won 15 March: a miss for both
    outcome("closed_won", FIRST + days(14), person=eve)
    return {"ada": ada, "ben": ben, "cleo": cleo, "dan": dan, "eve": eve}


@pytest.fixture
def live():
    """The live version qualifies a pricing-page view."""
    draft = rule_version_create_from_document(name="Pricing only", document=PRICING_ONLY)
    return rule_version_publish(version_id=draft.id)


def _start(version, **overrides) -> BacktestRun:
    arguments = {
        "version_id": version.id,
        "from_date": date(2026, 3, 1),
        "to_date": date(2026, 3, 8),
        "step_days": 7,
        "horizon_days": 30,
        "capacity": 2,
        **overrides,
    }
    return backtest_start(**arguments)


def _run_to_the_end(run: BacktestRun, budget_seconds: float = 60) -> BacktestRun:
    step = 0
    while True:
        run.refresh_from_db()
        if run.is_finished:
            return run
        backtest_advance(run_id=run.id, step=run.steps_done, budget_seconds=budget_seconds)
        step += 1
        assert step < 100, "the run does not finish"


def test_the_version_is_replayed_at_each_point_beside_the_live_one_with_hand_counted_figures(history, live):
    # given a draft that qualifies a demo request, and the live version that qualifies pricing views
    run = _start(demo_only_version())

    # when the backtest runs to the end
    run = _run_to_the_end(run)

    # then at 1 March the draft qualified ada and dan (cleo's demo came a minute later), at 8 March cleo too
    assert run.status == BacktestStatus.DONE and run.compared_version_id == live.id
    results = run.results
    first, second = results["per_point"]
    assert (first["candidates"], first["positives"]) == (5, 3)
    assert (first["version"]["qualified"], first["version"]["newly_qualified"]) == (2, 2)
    assert (second["version"]["qualified"], second["version"]["newly_qualified"]) == (3, 1)
    # at capacity 2: ada and dan at 1 March (one won), ada and cleo at 8 March (both won)
    assert first["version"]["at_capacity"]["precision"]["count"] == 1
    assert second["version"]["at_capacity"]["precision"]["count"] == 2
    assert second["compared"]["at_capacity"]["precision"]["count"] == 0
    # pooled over both points: 3 hits of 4 picked, 6 positives among 10 candidate-points
    pooled = results["version"]["at_capacity"]
    assert (pooled["precision"]["count"], pooled["precision"]["total"]) == (3, 4)
    assert (pooled["recall"]["count"], pooled["recall"]["total"]) == (3, 6)
    assert pooled["lift"] == pytest.approx(0.75 / 0.6)
    assert results["compared"]["at_capacity"]["precision"]["count"] == 0


def test_who_would_have_qualified_when_and_what_they_reached_later(history, live):
    run = _run_to_the_end(_start(demo_only_version()))

    results = run.results
    # the draft qualified ada and dan on 1 March (dan the live version too), cleo on the 8th
    assert [(item["key"], item["version"], item["compared"]) for item in results["qualified_listed"]] == [
        ("ada@acme.example", "2026-03-01", None),
        ("dan@hooli.example", "2026-03-01", "2026-03-01"),
        ("cleo@globex.example", "2026-03-08", None),
    ]
    # all three reached an opportunity, ada and cleo won
    assert results["version"]["qualified"] == 3
    assert results["version"]["reached"] == {"sql": 3, "opportunity": 3, "won": 2}
    # the live version qualified ben and dan: only dan's opportunity
    assert results["compared"]["reached"] == {"sql": 1, "opportunity": 1, "won": 0}
    changes = results["changes"]
    assert (changes["newly_qualified"], changes["no_longer_qualified"]) == (2, 1)
    listed = {item["key"] or item["id"]: item for item in changes["listed"]}
    assert listed["cleo@globex.example"]["first_qualified"] == "2026-03-08"
    assert listed["cleo@globex.example"]["version"]["total"] == 40
    assert listed["cleo@globex.example"]["compared"]["total"] == 0
    assert listed["ben@initech.example"]["change"] == "no longer qualified"


def test_the_change_in_routed_volume_lands_each_lead_in_the_queue_routing_would_pick(history, live):
    # given a routing rule that sends Acme's people to the enterprise queue, the rest to the fallback
    enterprise = make_queue("Enterprise", [])
    rule("Acme", enterprise, 1, {"field": "lead.email_domain", "op": "eq", "value": "acme.example"})

    run = _run_to_the_end(_start(demo_only_version()))

    # then ada (newly qualified) lands in Enterprise; cleo (newly) and ben (no longer) in the fallback
    queues = {row["queue"]: (row["more"], row["fewer"], row["net"]) for row in run.results["changes"]["queues"]}
    assert queues["Enterprise"] == (1, 0, 1)
    (fallback,) = [value for name, value in queues.items() if name != "Enterprise"]
    assert fallback == (1, 1, 0)


def test_the_run_goes_in_bounded_steps_each_recorded_once_with_progress(history, live, monkeypatch):
    # given chunks of two leads: 3 chunks × 2 points = 6 steps
    monkeypatch.setattr("insights.selectors.backtest.LEAD_CHUNK", 2)
    run = _start(demo_only_version())
    assert (run.steps_total, run.steps_done, run.status) == (6, 0, BacktestStatus.QUEUED)

    # when one task with no time budget runs: one step, then it hands on
    recorded = backtest_advance(run_id=run.id, step=0, budget_seconds=0)

    # then one step is recorded and the progress shows it
    run.refresh_from_db()
    assert recorded == 1 and (run.steps_done, run.status) == (1, BacktestStatus.RUNNING)
    assert BacktestPart.objects.filter(run=run).count() == 1

    # and the same step delivered again records nothing and does not go on
    assert backtest_advance(run_id=run.id, step=0, budget_seconds=0) == 0
    run.refresh_from_db()
    assert run.steps_done == 1

    # and the chain of tasks (run eagerly on commit) finishes with the same figures as one pass
    run = _run_to_the_end(run, budget_seconds=0)
    assert run.status == BacktestStatus.DONE and run.progress_percent == 100
    assert run.results["version"]["at_capacity"]["precision"]["count"] == 3
    assert not BacktestPart.objects.filter(run=run).exists()


def test_the_task_chain_runs_eagerly_on_commit_to_the_end(
    history, live, monkeypatch, django_capture_on_commit_callbacks
):
    # given chunks of two leads (6 steps), and one step per task (a budget of no time)
    monkeypatch.setattr("insights.selectors.backtest.LEAD_CHUNK", 2)

    # when the backtest starts and every task it enqueues on commit runs
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = _start(demo_only_version(), budget_seconds=0)

    # then seven tasks ran (six steps and the finish) and the run is done
    run.refresh_from_db()
    assert run.status == BacktestStatus.DONE, run.error
    assert len(callbacks) == 7
    assert run.results["version"]["at_capacity"]["precision"]["count"] == 3


def test_a_stalled_run_is_claimed_once_and_resumed_where_it_stopped(history, live, django_capture_on_commit_callbacks):
    # given a run whose first task was lost after one step, quiet for 11 minutes
    run = _start(demo_only_version())
    backtest_advance(run_id=run.id, step=0, budget_seconds=0)
    run.refresh_from_db()
    later = run.progress_at + timedelta(minutes=11)

    # when the sweep claims it twice at the same moment
    first, second = backtest_stalled_claim(now=later), backtest_stalled_claim(now=later)

    # then one claim, at the step it stopped at; and resuming finishes it
    assert first == [(run.id, 1)] and second == []
    with django_capture_on_commit_callbacks(execute=True):
        assert backtests_resume_stalled(now=later + timedelta(minutes=11)) == 1
    run.refresh_from_db()
    assert run.status == BacktestStatus.DONE
    assert run.results["version"]["at_capacity"]["precision"]["count"] == 3


def test_a_run_moving_recently_is_not_resumed(history, live):
    run = _start(demo_only_version())
    assert backtest_stalled_claim(now=run.progress_at + timedelta(minutes=5)) == []


def test_a_finished_run_is_not_finished_twice(history, live):
    run = _run_to_the_end(_start(demo_only_version()))
    finished_at = run.finished_at

    # when its last step is delivered again
    assert backtest_advance(run_id=run.id, step=run.steps_total) == 0

    run.refresh_from_db()
    assert run.finished_at == finished_at


def test_a_step_that_raises_fails_the_run_with_the_reason(history, live, monkeypatch):
    from insights.tasks import backtest_step_task

    run = _start(demo_only_version())

    def broken(**kwargs):
        raise RuntimeError("facts unreadable")

    monkeypatch.setattr(backtests, "backtest_step_rows", broken)
    with pytest.raises(RuntimeError):
        backtest_step_task.apply(args=(run.id, 0), throw=True)

    run.refresh_from_db()
    assert run.status == BacktestStatus.FAILED and "facts unreadable" in run.error


def test_accounts_are_backtested_as_a_unit(history, live):
    run = _run_to_the_end(_start(demo_only_version(), unit="account"))

    # only acme has leads with an account: one candidate per point, qualified by the draft (ada)
    first, second = run.results["per_point"]
    assert first["candidates"] == second["candidates"] == 1
    assert first["version"]["qualified"] == 1 and first["compared"]["qualified"] == 0
    # and acme, qualified on 1 March, won through ada on the 10th
    assert run.results["version"]["reached"] == {"sql": 1, "opportunity": 1, "won": 1}
    assert run.results["changes"]["queues"] is None  # accounts are not routed: leads are


def test_an_outcome_naming_only_the_account_counts_for_its_qualified_leads(history, live):
    # given an opportunity for Acme as a whole, after ada qualified
    outcome("opportunity", FIRST + days(2), company=history["ada"].account)
    history["ada"].outcomes.filter(kind="closed_won").delete()

    run = _run_to_the_end(_start(demo_only_version()))

    # then ada (Acme's) reached an opportunity; cleo still won; dan's own opportunity counts
    assert run.results["version"]["reached"] == {"sql": 3, "opportunity": 3, "won": 1}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"to_date": date(2026, 2, 1)}, "to_date"),
        ({"step_days": 0}, "step_days"),
        ({"capacity": 0}, "capacity"),
        ({"unit": "team"}, "unit"),
        ({"from_date": date(2020, 1, 1), "step_days": 1}, "step_days"),
        ({"to_date": date(2999, 1, 1)}, "to_date"),
    ],
)
def test_a_backtest_that_cannot_run_is_refused_naming_the_field(history, overrides, field):
    with pytest.raises(ValidationError) as refused:
        _start(demo_only_version(), **overrides)
    assert field in refused.value.message_dict
    assert not BacktestRun.objects.exists()


def test_a_draft_edited_while_it_is_backtested_fails_the_run_instead_of_mixing_rules(history, live):
    # given a run of a draft, one step done
    draft = demo_only_version()
    run = _start(draft)
    backtest_advance(run_id=run.id, step=0, budget_seconds=0)

    # when marketing ops change a rule's points before the next step
    draft.rules.update(points=10)
    backtest_advance(run_id=run.id, step=1)

    # then the run stops and says why
    run.refresh_from_db()
    assert run.status == BacktestStatus.FAILED and "was edited while it was backtested" in run.error
    assert not BacktestPart.objects.filter(run=run).exists()
