"""The demo sales org: a team, reps in three time zones, queues, rules, SLAs.

Used by `seed_demo` so that the demo's qualified leads land in real queues.
Idempotent: running it again changes nothing.
"""

import heapq
import itertools
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from leads.models import Account, Lead, Stage, StageChange, segment_for_employees
from leads.services.identity import events_process_batch
from leads.services.ingest import batch_ingest
from routing.engine.sla import add_business_minutes, business_minutes_between
from routing.models import (
    Activity,
    ActivityKind,
    Assignment,
    HolidayCalendar,
    Priority,
    Queue,
    Rep,
    RoutingRule,
    RoutingTrigger,
    SlaPolicy,
    Strategy,
    Team,
    Territory,
)
from routing.selectors.policy import rep_holidays, rep_working_hours
from routing.services.actions import activity_log, assignment_accept, assignment_reject, lead_convert_to_sql
from routing.services.assignments import lead_route
from routing.services.reps import queue_member_add
from routing.services.sla import sla_sweep
from scoring.services import leads_rescore

WEEKDAYS = {str(day): [["09:00", "12:30"], ["13:30", "17:30"]] for day in range(5)}
# (username, time zone, capacity, weight)
REPS = (
    ("alice", "Europe/Berlin", 150, 2),
    ("bob", "America/New_York", 150, 1),
    ("carmen", "Europe/Madrid", 120, 1),
    ("dev", "America/Chicago", 120, 1),
)
# Country traits come as ISO codes or English names: territories list both.
NORTH_AMERICA = ["US", "CA", "United States", "USA", "Canada"]
EMEA = [
    *["GB", "UK", "IE", "DE", "FR", "NL", "BE", "ES", "IT", "SE", "DK", "NO", "FI", "CH", "AT", "PL"],
    *["United Kingdom", "Ireland", "Germany", "France", "Netherlands", "Belgium", "Spain", "Italy", "Sweden"],
    *["Denmark", "Norway", "Finland", "Switzerland", "Austria", "Poland"],
]


def routing_demo_setup(*, manager_username: str = "charlie") -> int:
    """Returns how many reps have a routing profile."""
    users = {user.username: user for user in get_user_model().objects.filter(username__in=[r[0] for r in REPS])}
    if not users:
        return 0
    manager = get_user_model().objects.filter(username=manager_username).first()
    team, _ = Team.objects.get_or_create(name="Sales", defaults={"manager": manager})
    calendar, _ = HolidayCalendar.objects.get_or_create(name="Company holidays")
    for day, name in ((date(2026, 12, 25), "Christmas Day"), (date(2027, 1, 1), "New Year's Day")):
        calendar.holidays.get_or_create(date=day, defaults={"name": name})
    reps = {}
    for username, time_zone, capacity, weight in REPS:
        if username in users:
            reps[username], _ = Rep.objects.get_or_create(
                user=users[username],
                defaults={
                    "team": team,
                    "time_zone": time_zone,
                    "capacity": capacity,
                    "weight": weight,
                    "working_hours": WEEKDAYS,
                    "holiday_calendar": calendar,
                },
            )
    north_america, _ = Territory.objects.get_or_create(name="North America", defaults={"countries": NORTH_AMERICA})
    emea, _ = Territory.objects.get_or_create(name="EMEA", defaults={"countries": EMEA})
    queues = {
        "Enterprise": (Strategy.LEAST_LOADED, ["alice", "bob"]),
        "North America": (Strategy.ROUND_ROBIN, ["bob", "dev"]),
        "EMEA": (Strategy.WEIGHTED, ["alice", "carmen"]),
    }
    made = {}
    for name, (strategy, members) in queues.items():
        made[name], created = Queue.objects.get_or_create(name=name, defaults={"team": team, "strategy": strategy})
        if created:
            for username in members:
                if username in reps:
                    queue_member_add(queue_id=made[name].id, rep_id=reps[username].id)
    fallback = Queue.objects.filter(is_fallback=True).first()
    if fallback is not None and not fallback.memberships.exists():
        for rep in reps.values():
            queue_member_add(queue_id=fallback.id, rep_id=rep.id)
    rules = (
        (
            "Enterprise accounts",
            1,
            made["Enterprise"],
            {"field": "account.segment", "op": "eq", "value": "enterprise"},
            None,
            Priority.HIGH,
        ),
        ("North America", 2, made["North America"], {}, north_america, Priority.NORMAL),
        ("EMEA", 3, made["EMEA"], {}, emea, Priority.NORMAL),
    )
    for name, position, queue, condition, territory, priority in rules:
        RoutingRule.objects.get_or_create(
            name=name,
            defaults={
                "position": position,
                "queue": queue,
                "condition": condition,
                "territory": territory,
                "priority": priority,
            },
        )
    policies = (
        (Stage.PQL, Priority.HIGH, 30, 20, "reassign"),
        (Stage.PQL, Priority.NORMAL, 60, 45, "escalate"),
        (Stage.MQL, Priority.HIGH, 60, 45, "escalate"),
        (Stage.MQL, Priority.NORMAL, 240, 180, "notify"),
        (Stage.NEW, Priority.NORMAL, 480, 360, "notify"),
    )
    for stage, priority, minutes, warning, action in policies:
        SlaPolicy.objects.get_or_create(
            stage=stage,
            priority=priority,
            defaults={
                "name": f"{stage.upper()} {priority}",
                "first_touch_minutes": minutes,
                "warning_minutes": warning,
                "on_breach": action,
            },
        )
    return len(reps)


# --- Assignments of every age ----------------------------------------------------------------
#
# The demo opens on a queue and a board with something to act on, whatever the weekday and hour
# `make demo` runs: each rep gets leads routed at chosen *business-time* ages before now (counted
# on the rep's own working hours and holidays, as the SLA clock counts), so on a Monday at 09:05
# the breached ones were routed on Friday afternoon, and there are weeks of first touches behind
# them. Ages are fractions of the SLA policy the demo's inbound requests get (an MQL at normal
# priority), read at run time, so a policy edited in the admin still gives every state.
SlaShare = float  # a fraction of the SLA's first-touch minutes

# Open and untouched: (name, measured against, share). "due" shares are of the first-touch minutes;
# "risk" shares are of the window between the warning point and the due time (at risk now).
UNTOUCHED = (
    ("breached-long", "due", 2.2),
    ("breached", "due", 1.3),
    ("at-risk-late", "risk", 0.75),
    ("at-risk", "risk", 0.3),
    ("fresh", "due", 0.02),
    ("recent", "due", 0.15),
    ("morning", "due", 0.4),
    ("waiting", "due", 0.6),
)
# Touched: (name, business days since routing, share of the SLA to the first touch, then what the rep
# did). Within the SLA below 1.0, late above; "accept" leaves it in the queue, touched.
TOUCHED = (
    ("called-today", 0.0, 0.3, "open"),
    ("accepted", 1.2, 0.05, "accept"),
    ("not-now", 2.0, 0.5, "reject"),
    ("late-accept", 3.0, 1.5, "accept"),
    ("converted", 5.0, 0.2, "convert"),
    ("late-reject", 8.0, 3.0, "reject"),
    ("converted-early", 11.0, 0.9, "convert"),
    ("late-convert", 13.0, 6.0, "convert"),
    ("student", 15.0, 0.1, "reject"),
)
REJECT_REASONS = ("No budget this year", "Student project, not a buyer", "Already a customer of a competitor")
BUSINESS_DAY_MINUTES = 450  # WEEKDAYS: 09:00-12:30 and 13:30-17:30
FIRST_NAMES = ("Maya", "Tomas", "Priya", "Lena", "Marcus", "Sofia", "Yusuf", "Hana", "Felix")
LAST_NAMES = ("Lindqvist", "Okoro", "Brandt", "Castillo", "Nakamura", "Dubois", "Hughes", "Kowalski", "Reyes")
# One company a request (UNTOUCHED + TOUCHED of them), named as customers are, never after the scenario.
COMPANIES = (
    "Northwind",
    "Bluefin",
    "Larkspur",
    "Quanta",
    "Redwood",
    "Helix",
    "Tidewater",
    "Orbital",
    "Copperleaf",
    "Brightline",
    "Cobalt",
    "Evergreen",
    "Foxglove",
    "Granite",
    "Juniper",
    "Meridian",
    "Sable",
)
COMPANY_KINDS = {"alice": "Analytik", "bob": "Analytics", "carmen": "Datos", "dev": "Systems"}
TITLES = (("VP Data", "VP"), ("Head of Analytics", "Head"), ("Director of Data Engineering", "Director"))
# Where each rep's demo requests come from: their own patch.
REP_COUNTRIES = {"alice": "DE", "bob": "US", "carmen": "ES", "dev": "US"}


@dataclass(frozen=True)
class _Planned:
    rep: Rep
    email: str
    first_name: str
    last_name: str
    company: str
    title: str
    seniority: str
    routed_at: datetime
    touched_at: datetime | None
    then: str  # open, accept, reject or convert


def routing_demo_assignments(*, source, now: datetime | None = None) -> int:
    """Demo requests routed to each rep at business-time ages before `now`: untouched ones breached,
    at risk and on track, and weeks of touched ones (within the SLA and late; accepted, rejected,
    converted). Everything happens in time order through the services (ingestion, scoring and routing
    take the moment; the SLA sweep runs at each warning and due time, as beat would have), so the
    timeline, the SLA events and the board's first-touch figures are what production would hold.
    Returns how many leads were routed. Idempotent: a lead that exists is skipped."""
    now = now or timezone.now()
    policy = SlaPolicy.objects.filter(stage=Stage.MQL, priority=Priority.NORMAL).first()
    if policy is None:
        return 0
    reps = Rep.objects.filter(user__username__in=REP_COUNTRIES, is_active=True).select_related("user")
    plans = [plan for rep in reps.order_by("user__username") for plan in _rep_plan(rep, policy=policy, now=now)]
    known = set(Lead.objects.filter(email__in=[plan.email for plan in plans]).values_list("email", flat=True))
    plans = [plan for plan in plans if plan.email not in known]
    lead_ids = _demo_requests_ingest(plans, source=source, now=now)
    # A discrete-event replay: each step at its moment, the sweep after each warning and due time.
    steps: list[tuple[datetime, int, Callable[[], None]]] = []
    order = itertools.count()  # ties keep the order they were scheduled in
    routed = 0

    def schedule(at: datetime, step: Callable[[], None]) -> None:
        heapq.heappush(steps, (at, next(order), step))

    def route(plan: _Planned) -> None:
        nonlocal routed
        if plan.email not in lead_ids:
            return
        assignment = lead_route(lead_id=lead_ids[plan.email], trigger=RoutingTrigger.QUALIFIED, now=plan.routed_at)
        if assignment is None or assignment.rep_id is None:
            return
        routed += 1
        for moment in (assignment.warn_at, assignment.due_at):
            if moment is not None and moment <= now:
                schedule(moment, lambda moment=moment: sla_sweep(now=moment))
        if plan.touched_at is not None:
            schedule(plan.touched_at, lambda: _demo_rep_works(plan, assignment_id=assignment.id))

    for plan in plans:
        schedule(plan.routed_at, lambda plan=plan: route(plan))
    while steps:
        _, _, step = heapq.heappop(steps)
        step()
    sla_sweep(now=now)
    return routed


def _rep_plan(rep: Rep, *, policy: SlaPolicy, now: datetime) -> list[_Planned]:
    hours, holidays = rep_working_hours(rep), rep_holidays(rep)
    due, warn = policy.first_touch_minutes, policy.warning_minutes
    username = rep.user.username
    plans = []

    def planned(number: int, name: str, routed_at: datetime, touched_at: datetime | None, then: str) -> _Planned:
        # `name` (the scenario) stays out of what people see: one company and one person a request.
        first_name = FIRST_NAMES[number % 9]
        # Each rep's people have other surnames than the other reps' (the same first names recur).
        last_name = LAST_NAMES[(number + number // 9 * 4 + list(REP_COUNTRIES).index(username)) % 9]
        company = f"{COMPANIES[number % len(COMPANIES)]} {COMPANY_KINDS.get(username, 'Labs')}"
        return _Planned(
            rep=rep,
            email=f"{first_name.lower()}.{last_name.lower()}@{company.lower().replace(' ', '-')}.example",
            first_name=first_name,
            last_name=last_name,
            company=company,
            title=TITLES[number % len(TITLES)][0],
            seniority=TITLES[number % len(TITLES)][1],
            routed_at=routed_at,
            touched_at=touched_at,
            then=then,
        )

    for number, (name, along, share) in enumerate(UNTOUCHED):
        minutes = due * share if along == "due" else warn + (due - warn) * share
        routed_at = _business_minutes_before(now, round(minutes), hours, rep.time_zone, holidays)
        plans.append(planned(number, name, routed_at, None, "open"))
    for number, (name, days, touch_share, then) in enumerate(TOUCHED, start=len(UNTOUCHED)):
        # Touched an hour (of business time) or more before now, whatever the share.
        to_touch = max(round(due * touch_share), 1)
        age = round(days * BUSINESS_DAY_MINUTES) + to_touch + 60
        routed_at = _business_minutes_before(now, age, hours, rep.time_zone, holidays)
        touched_at = add_business_minutes(routed_at, to_touch, hours, rep.time_zone, holidays)
        plans.append(planned(number, name, routed_at, touched_at, then))
    return plans


def _business_minutes_before(now: datetime, minutes: int, hours, time_zone: str, holidays) -> datetime:
    """The latest instant at which `minutes` business minutes remained until `now`: the inverse of
    add_business_minutes, found by bisection on the wall clock (business minutes only grow backwards)."""
    if minutes <= 0:
        return now
    span = timedelta(days=1)
    while business_minutes_between(now - span, now, hours, time_zone, holidays) < minutes:
        span *= 2
    earlier, later = now - span, now
    while later - earlier > timedelta(seconds=1):
        middle = earlier + (later - earlier) / 2
        if business_minutes_between(middle, now, hours, time_zone, holidays) >= minutes:
            earlier = middle
        else:
            later = middle
    return earlier.replace(microsecond=0)


def _demo_requests_ingest(plans: list[_Planned], *, source, now: datetime) -> dict[str, int]:
    """The demo requests, from companies the reps own (named accounts route to their owner), sent in
    one batch (as a client catching up would) with each message at its own moment, processed, and
    each lead scored as of its moment. Returns the lead id of each email."""
    messages = []
    for plan in plans:
        stamp = plan.routed_at.isoformat()
        slug = plan.email.split("@")[1].removesuffix(".example")
        user_id, group_id = f"demo-{plan.email}", f"demo-account-{slug}"
        country = REP_COUNTRIES.get(plan.rep.user.username, "US")
        Account.objects.get_or_create(
            group_id=group_id,
            defaults={
                "name": plan.company,
                "domain": f"{slug}.example",
                "industry": "Software",
                "employee_count": 400,
                "segment": segment_for_employees(400),
                "country": country,
                "owner": plan.rep.user,
            },
        )
        traits = {
            "email": plan.email,
            "first_name": plan.first_name,
            "last_name": plan.last_name,
            "title": plan.title,
            "department": "Data",
            "seniority": plan.seniority,
            "country": country,
        }
        company = {"name": plan.company, "industry": "Software", "employees": 400, "country": country}
        unit = [
            {"type": "identify", "userId": user_id, "timestamp": stamp, "traits": traits},
            {"type": "group", "userId": user_id, "groupId": group_id, "timestamp": stamp, "traits": company},
            {"type": "page", "userId": user_id, "timestamp": stamp, "properties": {"path": "/pricing"}},
            {"type": "track", "userId": user_id, "event": "Demo Requested", "timestamp": stamp},
        ]
        for position, message in enumerate(unit):
            message["messageId"] = f"{user_id}-{position}"
        messages.extend(unit)
    if not messages:
        return {}
    # One transaction: the processing that ingestion enqueues on commit finds the batch done.
    with transaction.atomic():
        batch = batch_ingest(source=source, messages=messages, envelope={}, received_at=now)
        events_process_batch(batch_id=str(batch.batch_id))
        lead_ids = dict(Lead.objects.filter(email__in=[plan.email for plan in plans]).values_list("email", "id"))
        for plan in plans:
            if plan.email in lead_ids:
                leads_rescore(lead_ids=[lead_ids[plan.email]], now=plan.routed_at)
    return lead_ids


def _demo_rep_works(plan: _Planned, *, assignment_id: int) -> None:
    """The rep's first touch, and what they decided, at `plan.touched_at`."""
    user, at = plan.rep.user, plan.touched_at
    if plan.then == "accept":
        with _backdated(assignment_id, at=at - timedelta(minutes=2)):
            assignment_accept(assignment_id=assignment_id, user=user)
    with _backdated(assignment_id, at=at):
        activity_log(assignment_id=assignment_id, user=user, kind=ActivityKind.CALL, notes="Intro call")
    with _backdated(assignment_id, at=at + timedelta(minutes=10)):
        if plan.then == "reject":
            reason = REJECT_REASONS[len(plan.email) % len(REJECT_REASONS)]
            assignment_reject(assignment_id=assignment_id, user=user, reason=reason)
        elif plan.then == "convert":
            lead_convert_to_sql(assignment_id=assignment_id, user=user, notes="Budget, need and timing confirmed")


@contextmanager
def _backdated(assignment_id: int, *, at: datetime):
    """Run a rep action, then move what it stamped to `at`. The action services take no time (a rep
    acts now), so this is the one place the demo writes history directly: the activity and stage-change
    rows the action created, and the assignment's and lead's moments it set."""
    assignment = Assignment.objects.get(id=assignment_id)
    lead_id = assignment.lead_id
    last_activity = Activity.objects.filter(lead_id=lead_id).aggregate(last=Max("id"))["last"] or 0
    last_change = StageChange.objects.filter(lead_id=lead_id).aggregate(last=Max("id"))["last"] or 0
    before = {field: getattr(assignment, field) for field in ("first_touch_at", "accepted_at", "closed_at")}
    yield
    Activity.objects.filter(lead_id=lead_id, id__gt=last_activity).update(at=at)
    if StageChange.objects.filter(lead_id=lead_id, id__gt=last_change).update(changed_at=at):
        Lead.objects.filter(id=lead_id).update(stage_changed_at=at)
    assignment.refresh_from_db(fields=list(before))
    stamped = {field: at for field, value in before.items() if value is None and getattr(assignment, field)}
    if stamped:
        Assignment.objects.filter(id=assignment_id).update(**stamped)
