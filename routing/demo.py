"""The demo sales org: a team, reps in three time zones, queues, rules, SLAs.

Used by `seed_demo` so that the demo's qualified leads land in real queues.
Idempotent: running it again changes nothing.
"""

from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from leads.models import Lead, Stage
from leads.services.identity import events_process_batch
from leads.services.ingest import batch_ingest
from routing.models import (
    ActivityKind,
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
from routing.services.actions import activity_log
from routing.services.assignments import lead_route
from routing.services.reps import queue_member_add
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


# The latest inbound leads: (minutes before now they qualified and were routed, country, touched by
# their rep since). Ages from minutes to days, so the board and the queue open with assignments on
# track, at risk and breached (each against its rep's business hours), some with a first touch.
RECENT_INBOUND = (
    (4, "US", False),
    (12, "DE", False),
    (25, "US", True),
    (40, "GB", False),
    (55, "US", False),
    (80, "FR", True),
    (130, "US", False),
    (200, "DE", False),
    (330, "US", True),
    (600, "ES", False),
    (1500, "US", False),
    (2900, "GB", True),
)


def routing_demo_recent_inbound(*, source, now: datetime | None = None) -> int:
    """Demo requests that arrived over the last two days, each ingested, processed, scored and routed
    at the moment it arrived (the services take `now`), so their assignments have real ages; a rep
    touched some of them. Returns how many were routed. Idempotent: an existing lead is skipped."""
    now = now or timezone.now()
    routed = 0
    for number, (minutes, country, is_touched) in enumerate(RECENT_INBOUND):
        email = f"inbound{number}@northwind{number}.example"
        if Lead.objects.filter(email=email).exists():
            continue
        at = now - timedelta(minutes=minutes)
        stamp = at.isoformat()
        user_id = f"inbound-{number}"
        group_id = f"inbound-account-{number}"
        messages = [
            {"type": "identify", "userId": user_id, "timestamp": stamp, "traits": _inbound_traits(email, country)},
            {
                "type": "group",
                "userId": user_id,
                "groupId": group_id,
                "timestamp": stamp,
                "traits": {"name": f"Northwind {number}", "industry": "Software", "employees": 400, "country": country},
            },
            {"type": "page", "userId": user_id, "timestamp": stamp, "properties": {"path": "/pricing"}},
            {"type": "track", "userId": user_id, "event": "Demo Requested", "timestamp": stamp},
        ]
        for position, message in enumerate(messages):
            message["messageId"] = f"{user_id}-{position}"
        # One transaction: the processing that ingestion enqueues on commit finds the batch done.
        with transaction.atomic():
            batch = batch_ingest(source=source, messages=messages, envelope={}, received_at=at)
            events_process_batch(batch_id=str(batch.batch_id))
            lead = Lead.objects.get(email=email)
            leads_rescore(lead_ids=[lead.id], now=at)
        assignment = lead_route(lead_id=lead.id, trigger=RoutingTrigger.QUALIFIED, now=at)
        if assignment is None or assignment.rep is None:
            continue
        routed += 1
        if is_touched:
            activity_log(
                assignment_id=assignment.id,
                user=assignment.rep.user,
                kind=ActivityKind.CALL,
                notes="Intro call: wants a demo for the data team",
            )
    return routed


def _inbound_traits(email: str, country: str) -> dict:
    return {
        "email": email,
        "first_name": "Jordan",
        "last_name": email.split("@")[0].title(),
        "title": "VP Data",
        "department": "Data",
        "seniority": "VP",
        "country": country,
    }
