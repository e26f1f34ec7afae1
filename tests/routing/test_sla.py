"""SLA arithmetic: business minutes in the rep's working hours, time zone and holidays."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.engine.sla import (
    MAX_IDLE_DAYS,
    NoWorkingTimeError,
    WorkingHours,
    add_business_minutes,
    business_minutes_between,
    is_working,
    next_working_start,
    sla_times,
)

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
OFFICE = WorkingHours.weekdays("09:00", "17:00")
LUNCH = WorkingHours.parse({day: [("09:00", "12:30"), ("13:30", "17:30")] for day in range(5)})
EVERY_DAY = WorkingHours.parse({day: [("09:00", "17:00")] for day in range(7)})
ALWAYS = WorkingHours.parse({day: [("00:00", "24:00")] for day in range(7)})
NIGHTS = WorkingHours.parse({day: [("00:00", "06:00"), ("22:00", "24:00")] for day in range(7)})
HOURS = {"office": OFFICE, "lunch": LUNCH, "every_day": EVERY_DAY, "always": ALWAYS, "nights": NIGHTS}


def at(text: str, tz: str, fold: int = 0) -> datetime:
    """'2025-03-03 10:00' on the wall clock of `tz` (or 'Z' for UTC), as an aware UTC datetime."""
    if text.endswith("Z"):
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz), fold=fold).astimezone(UTC)


@pytest.mark.parametrize(
    ("tz", "hours", "holidays", "start", "minutes", "expected"),
    [
        # plain weekdays in Berlin
        (BERLIN, "office", (), "2025-03-03 10:00", 60, "2025-03-03 11:00"),
        (BERLIN, "office", (), "2025-03-03 08:00", 60, "2025-03-03 10:00"),  # before opening
        (BERLIN, "office", (), "2025-03-03 18:00", 60, "2025-03-04 10:00"),  # after closing
        (BERLIN, "office", (), "2025-03-03 16:00", 60, "2025-03-03 17:00"),  # ends exactly at closing
        (BERLIN, "office", (), "2025-03-03 17:00", 1, "2025-03-04 09:01"),
        (BERLIN, "office", (), "2025-03-07 16:30", 60, "2025-03-10 09:30"),  # over the weekend
        (BERLIN, "office", (), "2025-03-08 12:00", 30, "2025-03-10 09:30"),  # arrives on Saturday
        (BERLIN, "office", (), "2025-03-09 23:59", 1, "2025-03-10 09:01"),
        (BERLIN, "office", (), "2025-03-03 10:00", 3 * 480, "2025-03-06 10:00"),  # multi-day
        (BERLIN, "office", (), "2025-03-03 09:00", 5 * 480, "2025-03-07 17:00"),  # a whole week
        (BERLIN, "office", (), "2025-03-03 09:00", 5 * 480 + 1, "2025-03-10 09:01"),
        (BERLIN, "office", ("2025-03-10",), "2025-03-07 16:30", 60, "2025-03-11 09:30"),  # holiday Monday
        (BERLIN, "office", ("2025-03-10", "2025-03-11"), "2025-03-07 16:30", 60, "2025-03-12 09:30"),
        (BERLIN, "office", ("2025-03-03",), "2025-03-03 10:00", 10, "2025-03-04 09:10"),  # starts on a holiday
        # minutes = 0 is the start itself, even outside working hours
        (BERLIN, "office", (), "2025-03-08 12:00", 0, "2025-03-08 12:00"),
        (BERLIN, "office", (), "2025-03-03 10:00", 0, "2025-03-03 10:00"),
        # split days with a lunch break
        (BERLIN, "lunch", (), "2025-03-03 12:00", 60, "2025-03-03 14:00"),
        (BERLIN, "lunch", (), "2025-03-03 12:45", 15, "2025-03-03 13:45"),  # arrives during lunch
        (BERLIN, "lunch", (), "2025-03-03 12:00", 30, "2025-03-03 12:30"),  # due at the start of lunch
        (BERLIN, "lunch", (), "2025-03-03 17:00", 60, "2025-03-04 09:30"),
        (BERLIN, "lunch", (), "2025-03-03 09:00", 450, "2025-03-03 17:30"),  # the whole split day
        # DST in Berlin: spring forward Sun 2025-03-30 02:00 -> 03:00, fall back Sun 2025-10-26 03:00 -> 02:00
        (BERLIN, "office", (), "2025-03-28 16:00", 120, "2025-03-31 08:00Z"),  # Mon 10:00 CEST
        (BERLIN, "every_day", (), "2025-03-29 16:00", 120, "2025-03-30 08:00Z"),  # Sun 10:00 CEST
        (BERLIN, "every_day", (), "2025-03-30 09:00", 480, "2025-03-30 15:00Z"),  # a full 8h on the short day
        (BERLIN, "every_day", (), "2025-10-26 09:00", 480, "2025-10-26 16:00Z"),  # a full 8h on the long day
        (BERLIN, "office", (), "2025-10-24 16:00", 120, "2025-10-27 09:00Z"),  # Mon 10:00 CET
        (BERLIN, "always", (), "2025-03-30 00:30", 30, "2025-03-30 00:00Z"),  # 01:00 CET
        # a due time inside the spring-forward gap is the instant the clock jumps (03:00 CEST)
        (BERLIN, "always", (), "2025-03-30 01:00", 60, "2025-03-30 01:00Z"),
        (BERLIN, "always", (), "2025-03-30 01:00", 90, "2025-03-30 01:00Z"),
        (BERLIN, "always", (), "2025-03-30 01:00", 120, "2025-03-30 01:00Z"),
        (BERLIN, "always", (), "2025-03-30 01:00", 121, "2025-03-30 01:01Z"),
        # the repeated fall-back hour: its first occurrence, unless that is before the start
        (BERLIN, "always", (), "2025-10-26 01:30", 60, "2025-10-26 00:30Z"),  # 02:30 CEST
        (BERLIN, "always", (), "2025-10-26 01:30", 120, "2025-10-26 02:30Z"),  # 03:30 CET
        (BERLIN, "nights", (), "2025-10-25 23:00", 180, "2025-10-26 00:00Z"),  # 02:00 CEST, the first 02:00
        (BERLIN, "nights", (), "2025-10-25 23:00", 240, "2025-10-26 02:00Z"),  # 03:00 CET: 5 hours later
        (BERLIN, "nights", (), "2025-03-29 23:00", 240, "2025-03-30 01:00Z"),  # 03:00 CEST: 3 hours later
        # New York: spring forward Sun 2025-03-09, fall back Sun 2025-11-02
        (NEW_YORK, "office", (), "2025-03-07 16:00", 120, "2025-03-10 14:00Z"),  # Mon 10:00 EDT
        (NEW_YORK, "office", (), "2025-10-31 16:30", 60, "2025-11-03 14:30Z"),  # Mon 09:30 EST
        (NEW_YORK, "every_day", (), "2025-03-09 09:00", 480, "2025-03-09 21:00Z"),
        (NEW_YORK, "every_day", (), "2025-11-02 09:00", 480, "2025-11-02 22:00Z"),
        (NEW_YORK, "always", (), "2025-11-02 00:30", 60, "2025-11-02 05:30Z"),  # 01:30 EDT
        (NEW_YORK, "always", (), "2025-03-09 01:30", 45, "2025-03-09 07:00Z"),  # 02:15 does not exist: 03:00 EDT
    ],
)
def test_it_adds_business_minutes(tz, hours, holidays, start, minutes, expected):
    # given
    start_at = at(start, tz)
    closed = {date.fromisoformat(day) for day in holidays}

    # when
    due = add_business_minutes(start_at, minutes, HOURS[hours], tz, closed)

    # then
    assert due == at(expected, tz)
    assert due.tzinfo is UTC


def test_it_gives_a_friday_evening_lead_in_new_york_to_a_berlin_rep_on_tuesday_after_a_monday_holiday():
    # given: Friday 18:30 in New York is Saturday 00:30 in Berlin; Monday is a Berlin holiday
    arrived = at("2025-03-07 18:30", NEW_YORK)

    # when
    due = add_business_minutes(arrived, 60, OFFICE, BERLIN, {date(2025, 3, 10)})

    # then
    assert due == at("2025-03-11 10:00", BERLIN)
    assert due.astimezone(ZoneInfo(BERLIN)).strftime("%a %H:%M") == "Tue 10:00"


def test_it_counts_a_start_in_the_second_occurrence_of_the_repeated_hour_forward():
    # given: 01:30 EST, the second 01:30 of the night in New York
    start = at("2025-11-02 01:30", NEW_YORK, fold=1)

    # when
    due = add_business_minutes(start, 10, ALWAYS, NEW_YORK)

    # then: 01:40 EST, not the earlier 01:40 EDT
    assert due == at("2025-11-02 06:40Z", NEW_YORK)


@pytest.mark.parametrize(
    ("tz", "hours", "holidays", "start", "end", "expected"),
    [
        (BERLIN, "office", (), "2025-03-03 10:00", "2025-03-03 11:00", 60),
        (BERLIN, "office", (), "2025-03-07 16:30", "2025-03-10 09:30", 60),
        (BERLIN, "office", (), "2025-03-08 00:00", "2025-03-10 00:00", 0),  # a weekend
        (BERLIN, "office", (), "2025-03-03 08:00", "2025-03-03 18:00", 480),
        (BERLIN, "office", (), "2025-03-03 10:00", "2025-03-03 10:00", 0),
        (BERLIN, "office", (), "2025-03-03 11:00", "2025-03-03 10:00", -60),  # backwards
        (BERLIN, "office", (), "2025-03-03 10:00", "2025-03-03 10:00:59", 0),  # partial minutes dropped
        (BERLIN, "office", ("2025-03-03",), "2025-03-03 08:00", "2025-03-03 18:00", 0),
        (BERLIN, "office", (), "2025-03-03 09:00", "2025-03-10 09:00", 2400),
        (BERLIN, "lunch", (), "2025-03-03 00:00", "2025-03-04 00:00", 450),
        (BERLIN, "lunch", (), "2025-03-03 12:00", "2025-03-03 14:00", 60),
        (BERLIN, "every_day", (), "2025-03-30 00:00", "2025-03-31 00:00", 480),  # DST day: still 8 hours
        (BERLIN, "every_day", (), "2025-10-26 00:00", "2025-10-27 00:00", 480),
        # around the clock, business minutes are wall-clock minutes: 1440 on a 23- or 25-hour day
        (BERLIN, "always", (), "2025-03-30 00:00", "2025-03-31 00:00", 1440),
        (BERLIN, "always", (), "2025-10-26 00:00", "2025-10-27 00:00", 1440),
        (NEW_YORK, "office", (), "2025-03-07 16:00", "2025-03-10 10:00", 120),
        (NEW_YORK, "office", (), "2025-10-31 16:30", "2025-11-03 09:30", 60),
    ],
)
def test_it_counts_business_minutes_between_two_instants(tz, hours, holidays, start, end, expected):
    # given
    closed = {date.fromisoformat(day) for day in holidays}

    # when
    minutes = business_minutes_between(at(start, tz), at(end, tz), HOURS[hours], tz, closed)

    # then
    assert minutes == expected


@pytest.mark.parametrize(
    ("start", "due_minutes", "warning_minutes", "expected_warn", "expected_due"),
    [
        ("2025-03-07 16:30", 60, 30, "2025-03-07 17:00", "2025-03-10 09:30"),
        ("2025-03-07 16:30", 60, None, None, "2025-03-10 09:30"),
        ("2025-03-07 16:30", 60, 60, "2025-03-10 09:30", "2025-03-10 09:30"),
        ("2025-03-07 16:30", 60, 90, "2025-03-10 09:30", "2025-03-10 09:30"),  # warning past due: due
        ("2025-03-03 10:00", 240, 0, "2025-03-03 10:00", "2025-03-03 14:00"),
    ],
)
def test_it_gives_the_warning_and_due_times(start, due_minutes, warning_minutes, expected_warn, expected_due):
    # when
    warn_at, due_at = sla_times(at(start, BERLIN), due_minutes, warning_minutes, OFFICE, BERLIN, ())

    # then
    assert warn_at == (at(expected_warn, BERLIN) if expected_warn else None)
    assert due_at == at(expected_due, BERLIN)


@pytest.mark.parametrize(
    ("moment", "holidays", "expected"),
    [
        ("2025-03-03 09:00", (), True),  # opening is inside
        ("2025-03-03 16:59", (), True),
        ("2025-03-03 17:00", (), False),  # closing is outside
        ("2025-03-03 08:59", (), False),
        ("2025-03-08 12:00", (), False),
        ("2025-03-03 12:00", ("2025-03-03",), False),
    ],
)
def test_it_knows_whether_a_moment_is_working_time(moment, holidays, expected):
    # when
    working = is_working(at(moment, BERLIN), OFFICE, BERLIN, {date.fromisoformat(day) for day in holidays})

    # then
    assert working is expected


def test_it_finds_the_next_working_start():
    # given: Saturday noon
    saturday = at("2025-03-08 12:00", BERLIN)
    monday = at("2025-03-10 10:00", BERLIN)

    # when / then
    assert next_working_start(saturday, OFFICE, BERLIN) == at("2025-03-10 09:00", BERLIN)
    assert next_working_start(monday, OFFICE, BERLIN) == monday


def test_it_refuses_working_hours_without_any_interval():
    # when / then
    with pytest.raises(NoWorkingTimeError):
        add_business_minutes(at("2025-03-03 10:00", BERLIN), 60, WorkingHours.parse({}), BERLIN)


def test_it_stops_searching_after_a_year_without_working_time():
    # given: only Mondays, and every Monday for two years is a holiday
    mondays = WorkingHours.parse({0: [("09:00", "17:00")]})
    start = date(2025, 3, 3)
    holidays = {start + timedelta(weeks=week) for week in range(110)}

    # when / then
    with pytest.raises(NoWorkingTimeError, match=str(MAX_IDLE_DAYS)):
        add_business_minutes(at("2025-03-03 08:00", BERLIN), 60, mondays, BERLIN, holidays)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({0: [("17:00", "09:00")]}, "ends before it starts"),
        ({0: [("09:00", "12:00"), ("11:00", "13:00")]}, "overlap"),
        ({0: [("9am", "17:00")]}, "HH:MM"),
        ({7: [("09:00", "17:00")]}, "0 \\(Monday\\) to 6"),
        ({"monday": [("09:00", "17:00")]}, "0 \\(Monday\\) to 6"),
        ({0: [("09:00", "24:30")]}, "HH:MM|after 24:00"),
        ({0: ["09:00"]}, "must be \\[start, end\\]"),
    ],
)
def test_it_rejects_malformed_working_hours(spec, message):
    # when / then
    with pytest.raises(ValueError, match=message):
        WorkingHours.parse(spec)


def test_working_hours_round_trip_through_json_keys():
    # given: the JSON form has string keys
    stored = LUNCH.to_dict()

    # when
    parsed = WorkingHours.parse(stored)

    # then
    assert parsed == LUNCH
    assert stored["0"] == [["09:00", "12:30"], ["13:30", "17:30"]]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: add_business_minutes(datetime(2025, 3, 3, 10), 60, OFFICE, BERLIN), "aware"),
        (lambda: add_business_minutes(at("2025-03-03 10:00", BERLIN), -1, OFFICE, BERLIN), "zero or more"),
    ],
)
def test_it_rejects_naive_starts_and_negative_minutes(call, message):
    # when / then
    with pytest.raises(ValueError, match=message):
        call()


ZONES = st.sampled_from([BERLIN, NEW_YORK, "UTC", "Asia/Kolkata", "Australia/Lord_Howe", "America/St_Johns"])
STARTS = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31)).map(
    lambda moment: moment.replace(tzinfo=UTC)
)


@settings(max_examples=300, deadline=None)
@given(
    tz=ZONES,
    hours=st.sampled_from(sorted(HOURS)),
    start=STARTS,
    first=st.integers(0, 5000),
    extra=st.integers(0, 5000),
)
def test_more_minutes_never_give_an_earlier_due_time(tz, hours, start, first, extra):
    # when
    earlier = add_business_minutes(start, first, HOURS[hours], tz)
    later = add_business_minutes(start, first + extra, HOURS[hours], tz)

    # then
    assert start <= earlier <= later


@settings(max_examples=300, deadline=None)
@given(tz=ZONES, hours=st.sampled_from(["office", "lunch", "every_day"]), start=STARTS, minutes=st.integers(0, 5000))
def test_counting_the_minutes_back_gives_the_minutes_added(tz, hours, start, minutes):
    # given: day-time hours, so no due time lands in a DST gap or repeated hour
    due = add_business_minutes(start, minutes, HOURS[hours], tz)

    # when
    counted = business_minutes_between(start, due, HOURS[hours], tz)

    # then
    assert counted == minutes
