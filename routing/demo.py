"""The demo sales org: a team, reps in three time zones, queues, rules, SLAs.

Used by `seed_demo` so that the demo's qualified leads land in real queues.
Idempotent: running it again changes nothing.
"""

from datetime import date

from django.contrib.auth import get_user_model

from leads.models import Stage
from routing.models import HolidayCalendar, Priority, Queue, Rep, RoutingRule, SlaPolicy, Strategy, Team, Territory
from routing.services.reps import queue_member_add

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
