"""Whether a rep can take a lead right now, and if not, why (and until when)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from routing.engine.facts import OutOfOffice, RepState
from routing.engine.sla import is_working, next_working_start

AVAILABLE = "available"
INACTIVE = "inactive"
OUT_OF_OFFICE = "out_of_office"
AT_CAPACITY = "at_capacity"
OUTSIDE_WORKING_HOURS = "outside_working_hours"


@dataclass(frozen=True)
class Availability:
    """is_available, a code (one of the constants above), a sentence, and when they are back (if known)."""

    is_available: bool
    code: str
    reason: str
    back_at: datetime | None = None

    def __iter__(self):
        # Lets callers unpack `is_available, reason = rep_availability(...)`.
        return iter((self.is_available, self.reason))


def local_time(moment: datetime, time_zone: str) -> str:
    """'Mon 2025-03-10 09:00 Europe/Berlin': how a reason names an instant, in the rep's zone."""
    try:
        zone = ZoneInfo(time_zone)
    except (ValueError, KeyError):
        zone, time_zone = ZoneInfo("UTC"), "UTC"
    return moment.astimezone(zone).strftime("%a %Y-%m-%d %H:%M ") + time_zone


def _back_at(now: datetime, ranges: tuple[OutOfOffice, ...]) -> tuple[bool, datetime | None]:
    """(is away now, when they are back); back None means no return date. Chains ranges that touch."""
    current = next((item for item in ranges if item.start <= now and (item.end is None or now < item.end)), None)
    if current is None:
        return False, None
    back = current.end
    extended = True
    while back is not None and extended:
        extended = False
        for item in ranges:
            if item.start <= back and (item.end is None or item.end > back):
                back, extended = item.end, True
                if back is None:
                    break
    return True, back


def rep_availability(rep: RepState, now: datetime, *, respect_working_hours: bool = False) -> Availability:
    """Whether `rep` can take a lead at `now`: active, not out of office, under capacity, and
    (only when asked) inside working hours. Checks run in that order; the first failure is the reason.
    """
    if not rep.is_active:
        return Availability(False, INACTIVE, "inactive")
    away, back = _back_at(now, rep.out_of_office)
    if away:
        if back is None:
            return Availability(False, OUT_OF_OFFICE, "out of office, no return date")
        return Availability(False, OUT_OF_OFFICE, f"out of office until {local_time(back, rep.time_zone)}", back)
    if rep.capacity is not None and rep.open_assignments >= rep.capacity:
        return Availability(False, AT_CAPACITY, f"at capacity {rep.open_assignments}/{rep.capacity}")
    has_schedule = rep.working_hours is not None and not rep.working_hours.is_empty
    if respect_working_hours and has_schedule and not is_working(now, rep.working_hours, rep.time_zone, rep.holidays):
        back = next_working_start(now, rep.working_hours, rep.time_zone, rep.holidays)
        reason = f"outside working hours until {local_time(back, rep.time_zone)}"
        return Availability(False, OUTSIDE_WORKING_HOURS, reason, back)
    load = f"{rep.open_assignments}/{rep.capacity} open" if rep.capacity is not None else f"{rep.open_assignments} open"
    return Availability(True, AVAILABLE, f"available ({load})")
