"""Who works which lead, by when: reps, queues, routing rules, SLAs, assignments.

Decisions are made by the pure policy in routing/engine/; these models hold the
state it reads (rotation counters, capacity, out of office) and the audit it
leaves (RoutingDecision, SlaEvent, Activity).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from routing.engine import facts as engine_facts


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_teams"
    )

    def __str__(self) -> str:
        return self.name


class Territory(models.Model):
    """A patch of the market: any list left empty matches everything."""

    name = models.CharField(max_length=100, unique=True)
    countries = models.JSONField(default=list, blank=True, help_text='ISO codes, e.g. ["DE", "AT", "CH"].')
    regions = models.JSONField(default=list, blank=True, help_text='Regions or states, e.g. ["CA", "WA"].')
    industries = models.JSONField(default=list, blank=True, help_text='e.g. ["Software", "Fintech"].')
    employee_min = models.PositiveIntegerField(null=True, blank=True)
    employee_max = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "territories"
        constraints = [
            models.CheckConstraint(
                condition=Q(employee_min__isnull=True)
                | Q(employee_max__isnull=True)
                | Q(employee_min__lte=models.F("employee_max")),
                name="territory_employee_band_ordered",
            )
        ]

    def __str__(self) -> str:
        return self.name


class HolidayCalendar(models.Model):
    name = models.CharField(max_length=100, unique=True)

    def __str__(self) -> str:
        return self.name


class Holiday(models.Model):
    calendar = models.ForeignKey(HolidayCalendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="holiday_unique_per_calendar")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


def default_working_hours() -> dict:
    # Monday (0) to Friday (4), 09:00-17:00 local time.
    return {str(day): [["09:00", "17:00"]] for day in range(5)}


class Rep(models.Model):
    """A sales rep: the routing profile of a Django user."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rep")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="reps")
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_reps",
        help_text="Escalations go here; defaults to the team's manager.",
    )
    territories = models.ManyToManyField(Territory, blank=True, related_name="reps")
    segments = models.JSONField(default=list, blank=True, help_text='Account segments, e.g. ["smb"]; empty = all.')
    capacity = models.PositiveIntegerField(default=25, help_text="Maximum open assignments.")
    weight = models.PositiveIntegerField(default=1, help_text="Share in weighted round robin.")
    time_zone = models.CharField(max_length=64, default="UTC", help_text="IANA name, e.g. Europe/Berlin.")
    working_hours = models.JSONField(
        default=default_working_hours, help_text='Local hours by weekday (0 = Monday): {"0": [["09:00", "17:00"]]}.'
    )
    holiday_calendar = models.ForeignKey(HolidayCalendar, null=True, blank=True, on_delete=models.SET_NULL)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(weight__gte=1), name="rep_weight_positive")]

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.get_username()

    @property
    def escalation_user(self):
        return self.manager or (self.team.manager if self.team_id else None)


class OutOfOffice(models.Model):
    rep = models.ForeignKey(Rep, on_delete=models.CASCADE, related_name="out_of_office")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name_plural = "out of office"
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="ooo_ends_after_start")
        ]

    def __str__(self) -> str:
        return f"{self.rep}: {self.starts_at:%Y-%m-%d} to {self.ends_at:%Y-%m-%d}"


class Strategy(models.TextChoices):
    # The engine's own words (routing.engine.facts.STRATEGIES): stored as the engine reads them.
    ROUND_ROBIN = engine_facts.ROUND_ROBIN, "Round robin"
    WEIGHTED = engine_facts.WEIGHTED, "Weighted round robin"
    LEAST_LOADED = engine_facts.LEAST_LOADED, "Least loaded"


class Queue(models.Model):
    name = models.CharField(max_length=100, unique=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="queues")
    strategy = models.CharField(max_length=16, choices=Strategy.choices, default=Strategy.ROUND_ROBIN)
    is_fallback = models.BooleanField(
        default=False, help_text="Takes every lead no rule matches. Exactly one queue should be the fallback."
    )
    members = models.ManyToManyField(Rep, through="QueueMember", related_name="queues")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["is_fallback"], condition=Q(is_fallback=True), name="one_fallback_queue")
        ]

    def __str__(self) -> str:
        return self.name


class QueueMember(models.Model):
    """A rep's place in a queue's rotation: the counter the strategies read."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="memberships")
    rep = models.ForeignKey(Rep, on_delete=models.CASCADE, related_name="memberships")
    weight = models.PositiveIntegerField(null=True, blank=True, help_text="Overrides the rep's weight here.")
    assigned_count = models.PositiveIntegerField(default=0, editable=False)
    last_assigned_at = models.DateTimeField(null=True, blank=True, editable=False)
    joined_at = models.DateTimeField(auto_now_add=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["queue", "rep"], name="queue_member_unique")]

    def __str__(self) -> str:
        return f"{self.rep} in {self.queue}"


class Priority(models.TextChoices):
    HIGH = "high", "High"
    NORMAL = "normal", "Normal"
    LOW = "low", "Low"


class RoutingRule(models.Model):
    """Ordered: the first active rule whose condition (and territory) matches picks the queue."""

    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    condition = models.JSONField(
        default=dict,
        blank=True,
        help_text="Condition language over lead.*, account.*, score.* (empty = always), e.g. "
        '{"field": "account.segment", "op": "eq", "value": "enterprise"}.',
    )
    territory = models.ForeignKey(Territory, null=True, blank=True, on_delete=models.PROTECT, related_name="rules")
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="rules")
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.NORMAL)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.position}. {self.name}"


class BreachAction(models.TextChoices):
    NOTIFY = "notify", "Notify the rep"
    ESCALATE = "escalate", "Notify and escalate to the manager"
    REASSIGN = "reassign", "Notify, escalate and reassign to the next rep"


class SlaPolicy(models.Model):
    """First touch due within N business minutes of the rep's working hours."""

    name = models.CharField(max_length=100)
    stage = models.CharField(max_length=16, help_text="Lead stage when assigned: mql, pql, ...")
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    first_touch_minutes = models.PositiveIntegerField(help_text="Business minutes to the first touch.")
    warning_minutes = models.PositiveIntegerField(help_text="Business minutes after which it is at risk.")
    on_breach = models.CharField(max_length=16, choices=BreachAction.choices, default=BreachAction.NOTIFY)

    class Meta:
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(fields=["stage", "priority"], name="sla_policy_unique_stage_priority"),
            models.CheckConstraint(
                condition=Q(warning_minutes__lte=models.F("first_touch_minutes")), name="sla_warning_before_due"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.stage}/{self.priority}: {self.first_touch_minutes} min)"


class AssignmentStatus(models.TextChoices):
    WAITING = "waiting", "Waiting for an available rep"
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    REASSIGNED = "reassigned", "Reassigned"
    CLOSED = "closed", "Closed"


ACTIVE_ASSIGNMENT_STATUSES = (AssignmentStatus.WAITING, AssignmentStatus.OPEN, AssignmentStatus.ACCEPTED)


class Assignment(models.Model):
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="assignments")
    rep = models.ForeignKey(Rep, null=True, blank=True, on_delete=models.PROTECT, related_name="assignments")
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="assignments")
    rule = models.ForeignKey(RoutingRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sla_policy = models.ForeignKey(SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=16, choices=AssignmentStatus.choices, default=AssignmentStatus.OPEN)
    assigned_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    first_touch_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    at_risk_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=500, blank=True)
    reassignment_requested_at = models.DateTimeField(null=True, blank=True)
    reassignment_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # One open assignment per lead, whatever races happen above.
            models.UniqueConstraint(
                fields=["lead"], condition=Q(status__in=["waiting", "open", "accepted"]), name="one_active_assignment"
            ),
            models.CheckConstraint(
                # A lead that waited (no rep) may leave the queue closed or reassigned.
                condition=Q(rep__isnull=False) | Q(status__in=["waiting", "closed", "reassigned"]),
                name="assignment_rep_unless_waiting",
            ),
        ]
        indexes = [
            models.Index(fields=["rep", "status"]),
            # The manager's board reads a period's assignments per rep (routing.selectors.board).
            models.Index(fields=["rep", "assigned_at"], name="assignment_rep_assigned_idx"),
            # The SLA sweep looks only at untouched open assignments.
            models.Index(
                fields=["due_at"], condition=Q(first_touch_at__isnull=True, status="open"), name="sla_open_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} → {self.rep or self.queue} ({self.status})"

    @property
    def is_overdue(self) -> bool:
        return self.breached_at is not None


class RoutingTrigger(models.TextChoices):
    QUALIFIED = "qualified", "Became MQL or PQL"
    HOT = "hot", "Crossed the hot threshold"
    MANUAL = "manual", "Routed by hand"
    REROUTE = "reroute", "Re-routed after rules changed"
    REASSIGN = "reassign", "Reassigned"
    SLA = "sla", "SLA breach"
    WAITING = "waiting", "A rep became available"


class RoutingDecision(models.Model):
    """The audit log: every decision with the rule that matched and why the others did not."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="routing_decisions")
    decided_at = models.DateTimeField(db_index=True)
    trigger = models.CharField(max_length=16, choices=RoutingTrigger.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    queue = models.ForeignKey(Queue, null=True, on_delete=models.SET_NULL, related_name="+")
    rep = models.ForeignKey(Rep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rule = models.ForeignKey(RoutingRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    assignment = models.ForeignKey(Assignment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    summary = models.CharField(max_length=300)
    audit = models.JSONField(default=dict)

    class Meta:
        ordering = ["-decided_at", "-id"]

    def __str__(self) -> str:
        return self.summary


class SlaEventKind(models.TextChoices):
    AT_RISK = "at_risk", "At risk"
    BREACHED = "breached", "Breached"
    ESCALATED = "escalated", "Escalated to manager"
    REASSIGNED = "reassigned", "Reassigned"


class SlaEvent(models.Model):
    """Recorded once per assignment and kind (a unique constraint), however often the sweep runs."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="sla_events")
    kind = models.CharField(max_length=16, choices=SlaEventKind.choices)
    at = models.DateTimeField()
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["assignment", "kind"], name="sla_event_once")]

    def __str__(self) -> str:
        return f"{self.assignment_id} {self.kind}"


class ActivityKind(models.TextChoices):
    # Touches: the first one by the assigned rep stops the SLA clock.
    CALL = "call", "Call"
    EMAIL = "email", "Email"
    MEETING = "meeting", "Meeting booked"
    NOTE = "note", "Note"
    # Actions on the lead, kept on its timeline.
    ASSIGNED = "assigned", "Assigned"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    CONVERTED = "converted", "Converted to SQL"
    DISQUALIFIED = "disqualified", "Disqualified"
    REASSIGNMENT_REQUESTED = "reassignment_requested", "Reassignment requested"
    REASSIGNED = "reassigned", "Reassigned"
    SLA = "sla", "SLA"


TOUCH_KINDS = (ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.MEETING)


class Activity(models.Model):
    """The lead's timeline of human work and actions."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="activities")
    assignment = models.ForeignKey(
        Assignment, null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    kind = models.CharField(max_length=32, choices=ActivityKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    at = models.DateTimeField(db_index=True)
    notes = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name_plural = "activities"
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["lead", "-at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.lead_id}"


class NoticeKind(models.TextChoices):
    ASSIGNED = "assigned", "New lead assigned"
    AT_RISK = "at_risk", "First touch due soon"
    BREACHED = "breached", "SLA breached"
    ESCALATED = "escalated", "Escalated to manager"


class AssignmentNotice(models.Model):
    """A notice owed about an assignment, recorded in the transaction of the change that calls
    for it. The task that sends it can be lost (Redis down when it is published); this row
    cannot, and the SLA sweep publishes again what is still unsent. `sent_at` is claimed in
    the transaction that hands the email over, so a notice goes out once however often its
    task is delivered (routing/services/notices.py)."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=16, choices=NoticeKind.choices)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["assignment", "kind"], name="assignment_notice_once")]
        # The sweep looks for unsent notices only: a small partial index, however many were sent.
        indexes = [
            models.Index(fields=["created_at"], condition=Q(sent_at__isnull=True), name="assignment_notice_unsent")
        ]

    def __str__(self) -> str:
        return f"{self.assignment_id} {self.kind}"
