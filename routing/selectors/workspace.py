"""The reads behind the lead workspace (/leads/<id>/): who may open it, the account's
other people, and one timeline of everything that happened to the lead.

Every read is bounded: a lead with thousands of events costs the same number of
queries as one with five, and each query fetches at most a page's worth of rows
per kind (the newest `offset + page_size + 1`), merged here in time order.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, Q
from django.utils import timezone

from leads import selectors as lead_selectors
from leads.models import Event, EventType, Lead, Outcome, SourceKind, StageChange
from qualify_site.roles import Role, user_has_role
from routing.models import ACTIVE_ASSIGNMENT_STATUSES, Activity, ActivityKind, Assignment, RoutingDecision, SlaEvent
from routing.permissions import can_manage, manages_queue

TIMELINE_PAGE_SIZE = 25
ACCOUNT_PEOPLE_LIMIT = 20
# Properties worth a word on the timeline, in the order they are shown; others are left out.
_KEY_PROPERTIES = (
    "path",
    "title",
    "asset_type",
    "asset",
    "webinar",
    "form",
    "connector",
    "plan",
    "previous_plan",
    "seats",
    "limit",
    "job",
    "rows",
    "invited",
    "method",
)
_MAX_PROPERTIES = 3
_TIMELINE_EVENT_TYPES = (EventType.TRACK, EventType.PAGE, EventType.SCREEN)


# --- who may open a lead's workspace --------------------------------------------------------


def lead_workspace_get(*, user, lead_id: int) -> Lead | None:
    """The lead with its account, owners and source, or None when the user may not open it.

    One rule with the API's `/api/leads/<id>/` (`leads.selectors.lead_get`): a rep their own
    leads (owned, of an account they own, assigned to them now); managers, marketing ops (read
    only) and admins any lead. Acting on it is checked apart: only the rep who holds it works
    its assignment here, and its managers reassign it from the board.
    """
    return lead_selectors.lead_get(user=user, lead_id=lead_id)


def assignment_for_workspace(*, lead: Lead) -> Assignment | None:
    """The lead's active assignment (at most one, by a database constraint), with what the card shows."""
    return (
        Assignment.objects.filter(lead_id=lead.id, status__in=ACTIVE_ASSIGNMENT_STATUSES)
        .select_related("rep", "rep__user", "queue", "rule", "sla_policy")
        .order_by("-id")
        .first()
    )


def user_works_assignment(user, assignment: Assignment | None) -> bool:
    """Only the rep who holds the assignment acts on it from the workspace."""
    return (
        assignment is not None
        and assignment.rep is not None
        and assignment.rep.user_id == user.id
        and user_has_role(user, Role.REP)
    )


def user_manages_assignment(user, assignment: Assignment) -> bool:
    """The rep's manager (or an admin): they reassign it, from the board."""
    if assignment.rep is None:
        return manages_queue(user, assignment.queue) or user_has_role(user, Role.ADMIN)
    return can_manage(user, assignment.rep)


# --- the account's other people ---------------------------------------------------------------


@dataclass(frozen=True)
class AccountPerson:
    lead: Lead
    may_open: bool


@dataclass(frozen=True)
class AccountPeople:
    people: list[AccountPerson]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.people)


def account_people(*, user, lead: Lead, limit: int = ACCOUNT_PEOPLE_LIMIT) -> AccountPeople:
    """The account's other unmerged leads (the most recently active first, at most `limit`),
    each marked with whether the user may open it: three queries however big the account."""
    if lead.account_id is None:
        return AccountPeople(people=[], total=0)
    others = Lead.objects.filter(account_id=lead.account_id, merged_into__isnull=True).exclude(id=lead.id)
    total = others.count()
    if not total:
        return AccountPeople(people=[], total=0)
    recent_first = (F("last_seen_at").desc(nulls_last=True), "-id")
    shown = list(others.select_related("owner").order_by(*recent_first)[:limit])
    visible = lead_selectors.lead_list(user=user).filter(id__in=[other.id for other in shown])
    openable = set(visible.values_list("id", flat=True))
    people = [AccountPerson(lead=other, may_open=other.id in openable) for other in shown]
    return AccountPeople(people=people, total=total)


# --- one timeline ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # marketing, product, stage, routing, sla, activity, outcome
    label: str  # the kind in words, shown as a tag
    at: datetime
    title: str
    detail: str = ""
    actor: str = ""
    order: int = 0  # among entries at the same instant: higher is newer
    key: int = 0

    @property
    def day(self):
        """The day in the site's time zone, which the timeline groups by."""
        return timezone.localdate(self.at)


@dataclass(frozen=True)
class TimelinePage:
    entries: list[TimelineEntry]
    page: int
    has_older: bool

    @property
    def has_newer(self) -> bool:
        return self.page > 1


def _words(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value[:5])
    return str(value)


def _event_entry(event: Event) -> TimelineEntry:
    is_product = event.source is not None and event.source.kind == SourceKind.PRODUCT
    properties = event.properties if isinstance(event.properties, dict) else {}
    if event.type == EventType.PAGE:
        named = properties.get("title") or event.name
        title = f"Viewed {named or properties.get('path') or 'a page'}"
        # The path is the detail of a named page; an unnamed one is already called by its path.
        shown = ["path"] if named and properties.get("path") else []
    else:
        title = event.event or event.name or event.get_type_display()
        shown = [key for key in _KEY_PROPERTIES if key != "title" and properties.get(key) not in (None, "", [], {})]
        if not shown:
            # No property we know: the first few plain ones, as sent, rather than nothing.
            shown = [key for key, value in properties.items() if isinstance(value, str | int | float) and value != ""]
    detail = " · ".join(f"{key.replace('_', ' ')}: {_words(properties[key])}" for key in shown[:_MAX_PROPERTIES])
    return TimelineEntry(
        kind="product" if is_product else "marketing",
        label="Product" if is_product else "Marketing",
        at=event.timestamp,
        title=title,
        detail=detail,
        actor=event.source.name if event.source is not None else "",
        key=event.id,
    )


def _stage_entry(change: StageChange) -> TimelineEntry:
    evidence = change.evidence if isinstance(change.evidence, dict) else {}
    detail = change.reason
    if "total" in evidence:
        fit, engagement = evidence.get("fit", 0), evidence.get("engagement", 0)
        score = f"Score {evidence['total']:g} (fit {fit:g}, engagement {engagement:g})"
        detail = f"{detail} · {score}" if detail else score
    return TimelineEntry(
        kind="stage",
        label="Stage",
        at=change.changed_at,
        title=f"{change.get_from_stage_display()} → {change.get_to_stage_display()}",
        detail=detail,
        actor=change.actor.get_username() if change.actor else change.actor_label,
        order=1,
        key=change.id,
    )


def _decision_entry(decision: RoutingDecision) -> TimelineEntry:
    queue = f" ({decision.queue})" if decision.queue is not None else ""
    title = f"Assigned to {decision.rep}{queue}" if decision.rep is not None else f"Waiting for a rep{queue}"
    # The summary reads "<lead> → <rep>: <why>"; the title already says who, the detail says why.
    reason = decision.summary.split(": ", 1)[1] if " → " in decision.summary else decision.summary
    return TimelineEntry(
        kind="routing",
        label="Routing",
        at=decision.decided_at,
        title=title,
        detail=f"{decision.get_trigger_display()}: {reason}",
        actor=decision.actor.get_username() if decision.actor else "",
        # One transaction writes a decision and its "assigned" activity: the decision came first.
        order=0,
        key=decision.id,
    )


def _sla_entry(sla_event: SlaEvent) -> TimelineEntry:
    rep = sla_event.assignment.rep
    who = f" for {rep}" if rep is not None else ""
    due = sla_event.assignment.due_at
    detail = f"First touch was due {due:%d %b, %H:%M} UTC" if due else ""
    return TimelineEntry(
        kind="sla",
        label="SLA",
        at=sla_event.at,
        title=f"SLA {sla_event.get_kind_display().lower()}{who}",
        detail=detail,
        order=2,
        key=sla_event.id,
    )


def _activity_entry(activity: Activity) -> TimelineEntry:
    title = activity.get_kind_display()
    if activity.kind == ActivityKind.REJECTED:
        title = "Rejected" + (f": {activity.notes}" if activity.notes else "")
    return TimelineEntry(
        kind="activity",
        label="Activity",
        at=activity.at,
        title=title,
        detail="" if activity.kind == ActivityKind.REJECTED else activity.notes,
        actor=activity.actor.get_username() if activity.actor else "",
        order=1,
        key=activity.id,
    )


def _outcome_entry(outcome: Outcome) -> TimelineEntry:
    amount = f"{outcome.amount:,.0f} {outcome.currency}" if outcome.amount is not None else ""
    on_account = "recorded on the account" if outcome.lead_id is None else ""
    detail = " · ".join(part for part in (amount, on_account, outcome.external_id or "") if part)
    return TimelineEntry(
        kind="outcome",
        label="Outcome",
        at=outcome.occurred_at,
        title=outcome.get_kind_display(),
        detail=detail,
        order=3,
        key=outcome.id,
    )


def lead_timeline_page(*, lead: Lead, page: int = 1, page_size: int = TIMELINE_PAGE_SIZE) -> TimelinePage:
    """One page of the lead's timeline, newest first: marketing and product events, stage
    changes, routing decisions, SLA events, activities and outcomes.

    Six queries whatever the page: each kind's newest `page * page_size + 1` rows, merged
    by time; one row past the page says whether there is an older one.
    """
    wanted = page * page_size + 1
    outcomes_of_lead = Q(lead_id=lead.id)
    if lead.account_id is not None:
        # The account's own outcomes; not one naming a person who is not known yet (not this lead).
        outcomes_of_lead |= Q(account_id=lead.account_id, lead__isnull=True, lead_email__isnull=True)
    sources = [
        map(
            _event_entry,
            Event.objects.filter(lead_id=lead.id, type__in=_TIMELINE_EVENT_TYPES)
            .select_related("source")
            .only("id", "type", "event", "name", "properties", "timestamp", "source__kind", "source__name")
            .order_by("-timestamp", "-id")[:wanted],
        ),
        map(
            _stage_entry,
            StageChange.objects.filter(lead_id=lead.id).select_related("actor").order_by("-changed_at", "-id")[:wanted],
        ),
        map(
            _decision_entry,
            RoutingDecision.objects.filter(lead_id=lead.id)
            .select_related("actor", "queue", "rep", "rep__user")
            .defer("audit")
            .order_by("-decided_at", "-id")[:wanted],
        ),
        map(
            _sla_entry,
            SlaEvent.objects.filter(assignment__lead_id=lead.id)
            .select_related("assignment", "assignment__rep", "assignment__rep__user")
            .order_by("-at", "-id")[:wanted],
        ),
        map(
            _activity_entry,
            # Written beside a routing decision (assigned) or an SLA event (sla), which the timeline
            # already shows in words: the activity would say the same thing twice.
            Activity.objects.filter(lead_id=lead.id)
            .exclude(kind__in=(ActivityKind.ASSIGNED, ActivityKind.SLA))
            .select_related("actor")
            .order_by("-at", "-id")[:wanted],
        ),
        map(_outcome_entry, Outcome.objects.filter(outcomes_of_lead).order_by("-occurred_at", "-id")[:wanted]),
    ]
    merged = heapq.merge(*sources, key=lambda entry: (entry.at, entry.order, entry.key), reverse=True)
    entries = []
    for index, entry in enumerate(merged):
        if index >= wanted:
            break
        entries.append(entry)
    start = (page - 1) * page_size
    shown = entries[start : start + page_size]
    return TimelinePage(entries=shown, page=page, has_older=len(entries) > start + page_size)
