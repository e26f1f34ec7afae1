"""Business-minute arithmetic for SLA clocks: pure Python, zoneinfo, no Django.

A rep works `WorkingHours` (per weekday, local wall-clock intervals such as 09:00-12:30 and
13:30-17:30) in an IANA time zone, and not at all on holidays (local dates). Instants in
and out are aware datetimes; results are in UTC.

Daylight-saving rules, chosen so that a rep's day is what their wall clock says:

* Business time is counted in wall-clock minutes. A 09:00-17:00 day is 480 business minutes
  on a DST-change day too, and the SLA of a rep who works through the night loses no minutes
  to the spring-forward gap (the clock jumps, the work does not).
* A due time that falls in the spring-forward gap (02:30 in Berlin on the last Sunday of
  March does not exist) is the instant the clock jumps (03:00 local). Mapping forward keeps
  the result monotonic: more minutes never gives an earlier due time.
* A due time that falls in the repeated fall-back hour is its first occurrence (the earlier,
  stricter reading), unless that would be before the start, in which case the second.

Minutes are whole business minutes; `add_business_minutes(start, 0, ...)` is `start` itself
(due at once, even outside working hours), and a span ending exactly at closing time is due
at closing time, not at the next opening.

The clock of one assignment (`sla_clock`) is part of the routing decision: the engine
computes it from the SLA terms of the lead's stage and priority (`SlaTerms`) and the chosen
rep's calendar, which the decision already holds.

Guard against endless searches: a calendar with no working interval at all raises
`NoWorkingTimeError` at once, and so does a search that meets more than `MAX_IDLE_DAYS`
consecutive days without work (a year of holidays).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

MAX_IDLE_DAYS = 366
MINUTES_PER_DAY = 24 * 60
_TIME = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
_WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class NoWorkingTimeError(ValueError):
    """The calendar never (or not within MAX_IDLE_DAYS) has working time to count."""


def _minutes(text: str) -> int:
    match = _TIME.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"time {text!r} must be HH:MM (00:00 to 24:00)")
    value = int(match.group(1)) * 60 + int(match.group(2))
    if value > MINUTES_PER_DAY:
        raise ValueError(f"time {text!r} is after 24:00")
    return value


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class WorkingHours:
    """Working intervals per weekday (0 = Monday), as minutes after local midnight.

    `days[weekday]` is a sorted tuple of non-overlapping (start, end) pairs with
    0 <= start < end <= 1440. Build it with `WorkingHours.parse`.
    """

    days: tuple[tuple[tuple[int, int], ...], ...]

    @classmethod
    def parse(cls, spec: Mapping[int | str, Sequence[Sequence[str]]]) -> WorkingHours:
        """{0: [("09:00", "12:30"), ("13:30", "17:30")], ...}; keys 0-6 (JSON strings "0"-"6" too).

        Raises ValueError naming the day and interval for a malformed, empty or overlapping one.
        """
        if isinstance(spec, WorkingHours):
            return spec
        days: list[list[tuple[int, int]]] = [[] for _ in range(7)]
        for key, intervals in spec.items():
            try:
                weekday = int(key)
            except (TypeError, ValueError):
                raise ValueError(f"weekday {key!r} must be 0 (Monday) to 6 (Sunday)") from None
            if not 0 <= weekday <= 6:
                raise ValueError(f"weekday {key!r} must be 0 (Monday) to 6 (Sunday)")
            for interval in intervals or ():
                if not isinstance(interval, Sequence) or isinstance(interval, str) or len(interval) != 2:
                    raise ValueError(f"{_WEEKDAY_NAMES[weekday]}: interval {interval!r} must be [start, end]")
                start, end = _minutes(interval[0]), _minutes(interval[1])
                if start >= end:
                    raise ValueError(f"{_WEEKDAY_NAMES[weekday]}: {interval[0]}-{interval[1]} ends before it starts")
                days[weekday].append((start, end))
        for weekday, intervals in enumerate(days):
            intervals.sort()
            for (_, previous_end), (start, _) in zip(intervals, intervals[1:], strict=False):
                if start < previous_end:
                    raise ValueError(f"{_WEEKDAY_NAMES[weekday]}: intervals overlap at {_clock(start)}")
        return cls(days=tuple(tuple(intervals) for intervals in days))

    @classmethod
    def weekdays(cls, start: str = "09:00", end: str = "17:00") -> WorkingHours:
        """Monday to Friday, one interval a day."""
        return cls.parse({weekday: [(start, end)] for weekday in range(5)})

    @property
    def is_empty(self) -> bool:
        return not any(self.days)

    def to_dict(self) -> dict[str, list[list[str]]]:
        """JSON-ready, the inverse of `parse`."""
        return {
            str(weekday): [[_clock(start), _clock(end)] for start, end in intervals]
            for weekday, intervals in enumerate(self.days)
            if intervals
        }


def _zone(tz: ZoneInfo | str) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def _hours(hours: WorkingHours | Mapping) -> WorkingHours:
    parsed = hours if isinstance(hours, WorkingHours) else WorkingHours.parse(hours)
    if parsed.is_empty:
        raise NoWorkingTimeError("the working hours have no working interval on any day")
    return parsed


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (got naive {moment.isoformat()})")
    return moment


def _wall(moment: datetime, zone: ZoneInfo) -> datetime:
    """The local wall-clock reading of an instant, as a naive datetime."""
    return moment.astimezone(zone).replace(tzinfo=None)


def _exists(wall: datetime, zone: ZoneInfo) -> bool:
    # via UTC: astimezone() to the datetime's own tzinfo returns it unchanged, gap or not
    return _wall(wall.replace(tzinfo=zone).astimezone(UTC), zone) == wall


def _to_utc(wall: datetime, zone: ZoneInfo, not_before: datetime | None = None) -> datetime:
    """The instant a wall-clock reading denotes, per the DST rules in the module docstring."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if not _exists(wall, zone):
        # In the gap: find the transition instant, the earliest instant whose wall reading is
        # at or after `wall`. It lies between the two readings of the gap time.
        low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
        high = first
        if low > high:
            low, high = high, low
        while high - low > timedelta(seconds=1):
            middle = low + (high - low) / 2
            if _wall(middle, zone) >= wall:
                high = middle
            else:
                low = middle
        return high.replace(microsecond=0) if high.microsecond else high
    if not_before is not None and first < not_before:
        return max(wall.replace(tzinfo=zone, fold=1).astimezone(UTC), not_before)
    return first


def _day_intervals(day: date, hours: WorkingHours, holidays: frozenset[date]) -> Iterable[tuple[datetime, datetime]]:
    if day in holidays:
        return ()
    midnight = datetime(day.year, day.month, day.day)
    return (
        (midnight + timedelta(minutes=start), midnight + timedelta(minutes=end))
        for start, end in hours.days[day.weekday()]
    )


def _has_work(day: date, hours: WorkingHours, holidays: frozenset[date]) -> bool:
    return day not in holidays and bool(hours.days[day.weekday()])


def add_business_minutes(
    start_utc: datetime,
    minutes: int,
    hours: WorkingHours | Mapping,
    tz: ZoneInfo | str,
    holidays: Iterable[date] = (),
) -> datetime:
    """The earliest instant (UTC) at which `minutes` business minutes have passed since `start_utc`.

    Raises NoWorkingTimeError when the calendar has no working time within reach.
    """
    _aware(start_utc, "start_utc")
    if minutes < 0:
        raise ValueError(f"minutes must be zero or more, not {minutes}")
    calendar = _hours(hours)
    start_utc = start_utc.astimezone(UTC)
    if minutes == 0:
        return start_utc
    zone, closed = _zone(tz), frozenset(holidays)
    cursor = _wall(start_utc, zone)
    remaining = timedelta(minutes=minutes)
    day, idle_days = cursor.date(), 0
    while True:
        if _has_work(day, calendar, closed):
            idle_days = 0
            for opening, closing in _day_intervals(day, calendar, closed):
                begin = max(opening, cursor)
                if begin >= closing:
                    continue
                available = closing - begin
                if remaining <= available:
                    return _to_utc(begin + remaining, zone, not_before=start_utc)
                remaining -= available
        else:
            idle_days += 1
            if idle_days > MAX_IDLE_DAYS:
                raise NoWorkingTimeError(
                    f"no working time in the {MAX_IDLE_DAYS} days after {day - timedelta(days=idle_days - 1)}"
                )
        day += timedelta(days=1)


def business_minutes_between(
    a_utc: datetime,
    b_utc: datetime,
    hours: WorkingHours | Mapping,
    tz: ZoneInfo | str,
    holidays: Iterable[date] = (),
) -> int:
    """Whole business minutes from `a_utc` to `b_utc` (negative when b is before a).

    Partial minutes are dropped (59 seconds of work is 0 minutes). Within the repeated
    fall-back hour a span that goes backwards on the wall clock counts nothing.
    """
    _aware(a_utc, "a_utc")
    _aware(b_utc, "b_utc")
    if b_utc < a_utc:
        return -business_minutes_between(b_utc, a_utc, hours, tz, holidays)
    calendar = _hours(hours)
    zone, closed = _zone(tz), frozenset(holidays)
    begin, end = _wall(a_utc, zone), _wall(b_utc, zone)
    total = timedelta(0)
    day = begin.date()
    while day <= end.date():
        for opening, closing in _day_intervals(day, calendar, closed):
            overlap = min(closing, end) - max(opening, begin)
            if overlap > timedelta(0):
                total += overlap
        day += timedelta(days=1)
    return int(total.total_seconds() // 60)


def sla_times(
    assigned_at: datetime,
    due_minutes: int,
    warning_minutes: int | None,
    hours: WorkingHours | Mapping,
    tz: ZoneInfo | str,
    holidays: Iterable[date] = (),
) -> tuple[datetime | None, datetime]:
    """(warn_at, due_at) in UTC for an assignment made at `assigned_at`.

    `warning_minutes` counts business minutes from the assignment (the lead becomes at risk
    then), not back from the due time; None means no warning point. A warning at or past the
    due minutes is the due time itself.
    """
    due_at = add_business_minutes(assigned_at, due_minutes, hours, tz, holidays)
    if warning_minutes is None:
        return None, due_at
    if warning_minutes >= due_minutes:
        return due_at, due_at
    return add_business_minutes(assigned_at, warning_minutes, hours, tz, holidays), due_at


@dataclass(frozen=True)
class SlaTerms:
    """An SLA policy as the engine reads it, for one lead stage and priority: the first touch
    is due `first_touch_minutes` business minutes after the assignment, and the assignment is
    at risk after `warning_minutes` (None: no warning point)."""

    first_touch_minutes: int
    warning_minutes: int | None = None


@dataclass(frozen=True)
class SlaClock:
    """When an assignment becomes at risk and is due (UTC), and why, in words for the audit."""

    warn_at: datetime | None
    due_at: datetime | None
    note: str


def sla_clock(
    terms: SlaTerms | None,
    *,
    assigned_at: datetime,
    hours: WorkingHours | Mapping | None,
    tz: ZoneInfo | str,
    holidays: Iterable[date] = (),
) -> SlaClock:
    """The SLA clock of an assignment made at `assigned_at` to a rep with this calendar.

    `hours` None means the rep keeps no schedule: every minute is a business minute. No
    terms, or a calendar without any working time, give no due time rather than a wrong one.
    """
    if terms is None:
        return SlaClock(None, None, "no SLA policy for this stage and priority")
    try:
        warn_at, due_at = sla_times(
            assigned_at, terms.first_touch_minutes, terms.warning_minutes, hours or ALWAYS, tz, holidays
        )
    except NoWorkingTimeError:
        return SlaClock(None, None, "the rep's calendar has no working time: no SLA clock")
    return SlaClock(
        warn_at, due_at, f"first touch due within {terms.first_touch_minutes} business minutes ({_zone(tz).key})"
    )


def rep_sla_clock(terms: SlaTerms | None, rep, now: datetime) -> SlaClock:
    """`sla_clock` for an assignment made `now` to `rep` (a RepState: its working hours, time
    zone and holidays); None for the rep is a waiting lead, whose clock has not started."""
    if rep is None:
        return SlaClock(None, None, "waiting: the clock starts when a rep is assigned")
    return sla_clock(terms, assigned_at=now, hours=rep.working_hours, tz=rep.time_zone, holidays=rep.holidays)


def is_working(
    now: datetime,
    hours: WorkingHours | Mapping,
    tz: ZoneInfo | str,
    holidays: Iterable[date] = (),
) -> bool:
    """Whether `now` falls inside a working interval (start inclusive, end exclusive)."""
    _aware(now, "now")
    calendar = hours if isinstance(hours, WorkingHours) else WorkingHours.parse(hours)
    zone = _zone(tz)
    wall = _wall(now, zone)
    return any(
        opening <= wall < closing for opening, closing in _day_intervals(wall.date(), calendar, frozenset(holidays))
    )


def next_working_start(
    now: datetime,
    hours: WorkingHours | Mapping,
    tz: ZoneInfo | str,
    holidays: Iterable[date] = (),
) -> datetime:
    """`now` if it is working time, else the next instant (UTC) working time begins."""
    _aware(now, "now")
    calendar = _hours(hours)
    zone, closed = _zone(tz), frozenset(holidays)
    cursor = _wall(now, zone)
    day, idle_days = cursor.date(), 0
    while idle_days <= MAX_IDLE_DAYS:
        if _has_work(day, calendar, closed):
            idle_days = 0
            for opening, closing in _day_intervals(day, calendar, closed):
                if opening <= cursor < closing:
                    return now.astimezone(UTC)
                if cursor < opening:
                    return _to_utc(opening, zone, not_before=now.astimezone(UTC))
        else:
            idle_days += 1
        day += timedelta(days=1)
    raise NoWorkingTimeError(f"no working time in the {MAX_IDLE_DAYS} days after {now.isoformat()}")


class BusinessClock:
    """`business_minutes_between` for many spans on one calendar (a rep's hours, zone and holidays).

    The same answers (tests/routing/test_business_clock.py checks them against the function),
    but each span costs a constant time once the days it covers are laid out: the working time
    of each local day is summed once into running totals, and a span is the difference of two
    readings of that total. The manager's board reads thousands of first touches this way.
    """

    def __init__(self, hours: WorkingHours | Mapping, tz: ZoneInfo | str, holidays: Iterable[date] = ()) -> None:
        self._hours = _hours(hours)
        self._zone = _zone(tz)
        self._closed = frozenset(holidays)
        self._origin: date | None = None
        # _totals[i]: working time on the days from _origin up to (not including) _origin + i days.
        self._totals: list[timedelta] = []
        self._days: dict[date, tuple[tuple[datetime, datetime], ...]] = {}

    def _worked(self, day: date) -> timedelta:
        return sum(
            (closing - opening for opening, closing in _day_intervals(day, self._hours, self._closed)), timedelta(0)
        )

    def _lay_out(self, first: date, last: date) -> None:
        if self._origin is None or first < self._origin:
            end = last if self._origin is None else max(last, self._origin + timedelta(days=len(self._totals) - 1))
            self._origin, self._totals = first, [timedelta(0)]
            last = end
        while self._origin + timedelta(days=len(self._totals) - 1) <= last:
            day = self._origin + timedelta(days=len(self._totals) - 1)
            self._totals.append(self._totals[-1] + self._worked(day))

    def _intervals(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        intervals = self._days.get(day)
        if intervals is None:
            intervals = self._days[day] = tuple(_day_intervals(day, self._hours, self._closed))
        return intervals

    def _reading(self, wall: datetime) -> timedelta:
        """Working time from the origin's midnight to the wall-clock instant."""
        day = wall.date()
        reading = self._totals[(day - self._origin).days]
        for opening, closing in self._intervals(day):
            if wall <= opening:
                break
            reading += min(closing, wall) - opening
        return reading

    def minutes_between(self, a_utc: datetime, b_utc: datetime) -> int:
        """As `business_minutes_between(a_utc, b_utc, hours, tz, holidays)`."""
        _aware(a_utc, "a_utc")
        _aware(b_utc, "b_utc")
        if b_utc < a_utc:
            return -self.minutes_between(b_utc, a_utc)
        begin, end = _wall(a_utc, self._zone), _wall(b_utc, self._zone)
        if end <= begin:
            # Backwards on the wall clock (the repeated fall-back hour) counts nothing.
            return 0
        self._lay_out(begin.date(), end.date())
        return int((self._reading(end) - self._reading(begin)).total_seconds() // 60)


# Every minute of every day: the calendar of a rep who keeps no schedule.
ALWAYS = WorkingHours(days=tuple(((0, MINUTES_PER_DAY),) for _ in range(7)))
