"""A small sales org for routing tests: a team, reps, queues, rules and SLA policies."""

from datetime import timedelta

from django.contrib.auth.models import Group
from django.utils import timezone

from leads.models import Account, Lead, Stage
from qualify_site.roles import Role
from routing.models import Queue, Rep, RoutingRule, SlaPolicy, Strategy, Team, Territory
from routing.services.reps import queue_member_add

ALWAYS = {str(day): [["00:00", "24:00"]] for day in range(7)}


def rep_user(django_user_model, username: str, role: Role = Role.REP, **extra):
    user = django_user_model.objects.create_user(
        username=username, password="pw", email=f"{username}@qualify.test", **extra
    )
    user.groups.add(Group.objects.get_or_create(name=role.value)[0])
    return user


def make_rep(user, team: Team | None = None, **fields) -> Rep:
    fields.setdefault("working_hours", ALWAYS)
    return Rep.objects.create(user=user, team=team, **fields)


def make_queue(name: str, reps: list[Rep], strategy: str = Strategy.ROUND_ROBIN) -> Queue:
    queue = Queue.objects.create(name=name, strategy=strategy)
    for rep in reps:
        queue_member_add(queue_id=queue.id, rep_id=rep.id)
    return queue


def fallback_queue() -> Queue:
    return Queue.objects.get(is_fallback=True)


def make_lead(email: str, *, stage: str = Stage.MQL, account: Account | None = None, **fields) -> Lead:
    return Lead.objects.create(email=email, stage=stage, account=account, **fields)


def make_account(domain: str, **fields) -> Account:
    return Account.objects.create(domain=domain, name=domain.split(".")[0].title(), **fields)


def rule(name: str, queue: Queue, position: int, condition: dict | None = None, **fields) -> RoutingRule:
    return RoutingRule.objects.create(name=name, queue=queue, position=position, condition=condition or {}, **fields)


def territory(name: str, **fields) -> Territory:
    return Territory.objects.create(name=name, **fields)


def sla(stage: str, minutes: int, warning: int, on_breach: str = "notify", priority: str = "normal") -> SlaPolicy:
    return SlaPolicy.objects.create(
        name=f"{stage} {priority}",
        stage=stage,
        priority=priority,
        first_touch_minutes=minutes,
        warning_minutes=warning,
        on_breach=on_breach,
    )


def minutes_from_now(minutes: float):
    return timezone.now() + timedelta(minutes=minutes)
