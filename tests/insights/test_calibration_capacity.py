"""The team's capacity over a period, read from the reps' capacities (open assignments at once)
and how long an assignment stays open."""

from datetime import timedelta

import pytest
from django.utils import timezone

from insights.selectors.capacity import DEFAULT_TURNOVER_DAYS, team_capacity, team_capacity_explained
from leads.models import Account
from routing.models import Assignment, AssignmentStatus
from tests.routing.world import make_account, make_lead, make_queue, make_rep, rep_user

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.fixture
def reps(django_user_model):
    """Ann holds 10 open assignments at most, Ben 20; Cy (30) has left."""
    ann = make_rep(rep_user(django_user_model, "ann"), capacity=10)
    ben = make_rep(rep_user(django_user_model, "ben"), capacity=20)
    make_rep(rep_user(django_user_model, "cy"), capacity=30, is_active=False)
    return {"ann": ann, "ben": ben, "queue": make_queue("All", [ann, ben])}


def _assignments(reps, count: int, *, open_days: float, closed: bool = True, leads_per_account: int = 1):
    for number in range(count):
        domain = f"co{number // leads_per_account}.example"
        account = Account.objects.filter(domain=domain).first() or make_account(domain)
        lead = make_lead(f"p{number}-{open_days}@{domain}", account=account)
        assigned_at = NOW - timedelta(days=open_days + 1 + number % 3)
        Assignment.objects.create(
            lead=lead,
            rep=reps["ann"],
            queue=reps["queue"],
            status=AssignmentStatus.CLOSED if closed else AssignmentStatus.OPEN,
            assigned_at=assigned_at,
            closed_at=assigned_at + timedelta(days=open_days) if closed else None,
        )


def test_without_history_an_assignment_is_taken_to_stay_open_three_weeks(reps):
    # when
    capacity = team_capacity_explained(period_days=42, now=NOW)

    # then the active reps' 30 slots turn over twice in 42 days
    assert (capacity.reps, capacity.slots, capacity.turnover_days) == (2, 30, DEFAULT_TURNOVER_DAYS)
    assert capacity.capacity == 60
    assert not capacity.is_measured and "too little closed history" in capacity.words()


def test_with_enough_closed_history_the_turnover_is_measured(reps):
    # given 20 assignments that each stayed open 3 days
    _assignments(reps, 20, open_days=3)

    # when
    capacity = team_capacity_explained(period_days=30, now=NOW)

    # then 30 slots, each freed every 3 days, work 300 leads in 30 days
    assert capacity.turnover_days == pytest.approx(3)
    assert (capacity.capacity, capacity.measured_assignments) == (300, 20)


def test_a_history_of_mostly_open_assignments_is_not_measured_from_its_quick_closes(reps):
    # given 20 quick closes and 30 still open
    _assignments(reps, 20, open_days=1)
    _assignments(reps, 30, open_days=5, closed=False)

    # then the default holds
    assert team_capacity(period_days=21, now=NOW) == 30


def test_for_accounts_the_leads_a_team_works_are_divided_by_the_leads_an_account_brings(reps):
    # given 20 closed assignments, two people from each of 10 accounts
    _assignments(reps, 20, open_days=3, leads_per_account=2)

    # when
    capacity = team_capacity_explained(period_days=30, unit="account", now=NOW)

    # then
    assert capacity.leads_per_account == 2
    assert capacity.capacity == 150
    assert "accounts in 30 days" in capacity.words()
