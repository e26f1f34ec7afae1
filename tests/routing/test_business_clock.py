"""routing.engine.sla.BusinessClock gives business_minutes_between's answers, span after span."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.engine.sla import BusinessClock, NoWorkingTimeError, WorkingHours, business_minutes_between

SPLIT_DAY = WorkingHours.parse({day: [("09:00", "12:30"), ("13:30", "17:30")] for day in range(5)})
NIGHTS = WorkingHours.parse({day: [("00:00", "03:30"), ("22:00", "24:00")] for day in range(7)})
HOLIDAYS = (date(2026, 3, 30), date(2026, 10, 26), date(2026, 12, 25))
START = datetime(2026, 3, 20, tzinfo=UTC)  # spans cross both of Europe's DST changes of 2026

instants = st.integers(min_value=0, max_value=250 * 24 * 60 * 60).map(
    lambda seconds: START + timedelta(seconds=seconds)
)


@settings(max_examples=300, deadline=None)
@given(
    spans=st.lists(st.tuples(instants, instants), min_size=1, max_size=20),
    hours=st.sampled_from([SPLIT_DAY, NIGHTS, WorkingHours.weekdays()]),
    zone=st.sampled_from(["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"]),
)
def test_the_clock_agrees_with_business_minutes_between_on_every_span(spans, hours, zone):
    # given: one clock read again and again, in any order (its days are laid out as it goes)
    clock = BusinessClock(hours, zone, HOLIDAYS)

    # then
    for a, b in spans:
        assert clock.minutes_between(a, b) == business_minutes_between(a, b, hours, zone, HOLIDAYS)


def test_a_span_overnight_counts_only_working_time():
    # given
    clock = BusinessClock(WorkingHours.weekdays(), "UTC")

    # when: Monday 16:50 to Tuesday 09:20
    minutes = clock.minutes_between(
        datetime(2026, 11, 23, 16, 50, tzinfo=UTC), datetime(2026, 11, 24, 9, 20, tzinfo=UTC)
    )

    # then
    assert minutes == 30


def test_a_calendar_without_working_time_is_refused_at_once():
    with pytest.raises(NoWorkingTimeError):
        BusinessClock({}, "UTC")
