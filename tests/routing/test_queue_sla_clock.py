"""The SLA chip counts the rep's working time (routing.selectors.queue.assignment_sla_clock),
as the SLA does: Friday 17:50 with the lead due Monday 09:10 is 20 minutes left, not 2 days."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.template import Context, Template

from routing.engine.sla import WorkingHours
from routing.models import Assignment, HolidayCalendar
from routing.selectors.queue import (
    RepCalendar,
    SlaClock,
    assignment_queue_for_rep,
    assignment_queue_with_clocks,
    assignment_sla_clock,
)
from tests.routing.test_queue import _assigned, desk  # noqa: F401 - the fixture

FRIDAY_17_50 = datetime(2026, 11, 27, 17, 50, tzinfo=UTC)
MONDAY_09_10 = datetime(2026, 11, 30, 9, 10, tzinfo=UTC)
NINE_TO_SIX = RepCalendar(hours=WorkingHours.weekdays("09:00", "18:00"), time_zone="UTC", holidays=frozenset())


@pytest.mark.parametrize(
    ("now", "due_at", "calendar", "label"),
    [
        (FRIDAY_17_50, MONDAY_09_10, NINE_TO_SIX, "20 min left"),
        # Monday a holiday: Tuesday 09:10 is still 20 working minutes away
        (
            FRIDAY_17_50,
            MONDAY_09_10 + timedelta(days=1),
            RepCalendar(NINE_TO_SIX.hours, "UTC", frozenset({date(2026, 11, 30)})),
            "20 min left",
        ),
        (FRIDAY_17_50 - timedelta(hours=2), FRIDAY_17_50 + timedelta(minutes=5), NINE_TO_SIX, "2 h 5 min left"),
        (MONDAY_09_10 + timedelta(minutes=5), FRIDAY_17_50 + timedelta(minutes=9), NINE_TO_SIX, "16 min over"),
        # Berlin works 09:00-18:00 local: 16:50 UTC on Friday is 17:50 there
        (
            FRIDAY_17_50 - timedelta(hours=1),
            MONDAY_09_10 - timedelta(hours=1),
            RepCalendar(NINE_TO_SIX.hours, "Europe/Berlin", frozenset()),
            "20 min left",
        ),
    ],
    ids=["friday-to-monday", "over-a-holiday", "same-day", "breached-over-the-weekend", "rep-time-zone"],
)
def test_the_countdown_counts_the_reps_working_minutes(now, due_at, calendar, label):
    assignment = Assignment(due_at=due_at, warn_at=due_at - timedelta(days=7))

    clock = assignment_sla_clock(assignment, calendar, now=now)

    assert clock.label == label


def test_a_touched_assignment_has_no_countdown():
    assignment = Assignment(due_at=MONDAY_09_10, first_touch_at=FRIDAY_17_50)

    assert assignment_sla_clock(assignment, NINE_TO_SIX, now=FRIDAY_17_50) == SlaClock(state="touched")


@pytest.mark.django_db
@pytest.mark.postgres
def test_the_queue_chip_says_20_min_left_on_friday_evening_for_a_nine_to_six_rep(desk):  # noqa: F811
    # given: Ann works 09:00-18:00 UTC on weekdays, Monday is a holiday; her lead is due Tuesday 09:10
    calendar = HolidayCalendar.objects.create(name="Here")
    calendar.holidays.create(date=date(2026, 11, 30), name="A day off")
    rep = desk["ann"]
    rep.working_hours = WorkingHours.weekdays("09:00", "18:00").to_dict()
    rep.holiday_calendar = calendar
    rep.save()
    ada = _assigned(desk, "ada")
    Assignment.objects.filter(id=ada.id).update(
        due_at=MONDAY_09_10 + timedelta(days=1), warn_at=MONDAY_09_10 + timedelta(days=1)
    )

    # when
    rows = assignment_queue_with_clocks(
        assignment_queue_for_rep(rep.user, now=FRIDAY_17_50), rep.user, now=FRIDAY_17_50
    )
    html = Template('{% include "routing/sla_chip.html" %}').render(Context({"assignment": rows[0]}))

    # then
    assert rows[0].sla_clock == SlaClock(state="on_track", minutes=20)
    assert "● On track" in html and ">20 min left</time>" in html


@pytest.mark.django_db
@pytest.mark.postgres
def test_any_page_renders_the_chip_from_the_assignment_alone(desk):  # noqa: F811
    # given: an assignment read without the queue's annotations (as the lead workspace does)
    ada = _assigned(desk, "ada", sla="at_risk")
    plain = Assignment.objects.select_related("rep").get(id=ada.id)

    # when
    html = Template('{% include "routing/sla_chip.html" %}').render(Context({"assignment": plain}))

    # then: at risk, ten minutes left round the clock (the desk's reps work always)
    assert "! At risk" in html and (">9 min left</time>" in html or ">10 min left</time>" in html)
