"""People, companies and what they did: the data every other app reads.

Business logic lives in services.py (writes) and selectors.py (reads); the
models hold fields and the invariants the database can enforce.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower


class SourceKind(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    PRODUCT = "product", "Product"
    CRM = "crm", "CRM"


class Source(models.Model):
    """Where events come from. Clients authenticate with the source's write key.

    Only a SHA-256 of the key is stored: the key is shown once when the source
    is created (`manage.py create_source`) and cannot be read back.
    """

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=SourceKind.choices)
    write_key_hash = models.CharField(max_length=64, unique=True, editable=False)
    write_key_prefix = models.CharField(
        max_length=8, editable=False, help_text="First characters of the key, to tell keys apart."
    )
    is_active = models.BooleanField(default=True)
    # Empty uses the default setting of the same name (INGEST_RATE_LIMIT_...).
    rate_limit_per_second = models.PositiveIntegerField(
        null=True, blank=True, help_text="Messages in any one second (bursts); empty: INGEST_RATE_LIMIT_PER_SECOND."
    )
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Messages per minute (sustained); empty: INGEST_RATE_LIMIT_PER_MINUTE."
    )
    rate_limit_requests_per_second = models.PositiveIntegerField(
        null=True, blank=True, help_text="Requests per second; empty: INGEST_RATE_LIMIT_REQUESTS_PER_SECOND."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class CampaignType(models.TextChoices):
    ABM = "abm", "ABM"
    WEBINAR = "webinar", "Webinar"
    CONTENT = "content", "Content"
    PAID = "paid", "Paid"
    EVENT = "event", "Event"
    EMAIL = "email", "Email"
    OTHER = "other", "Other"


class Campaign(models.Model):
    name = models.CharField(max_length=200, unique=True)
    type = models.CharField(max_length=16, choices=CampaignType.choices, default=CampaignType.OTHER)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Segment(models.TextChoices):
    # Size bands commonly used by B2B sales teams (employee count).
    SMB = "smb", "SMB (1-99)"
    MID_MARKET = "mid_market", "Mid-market (100-999)"
    ENTERPRISE = "enterprise", "Enterprise (1000+)"
    UNKNOWN = "unknown", "Unknown"


def segment_for_employees(employee_count: int | None) -> str:
    if employee_count is None:
        return Segment.UNKNOWN
    if employee_count < 100:
        return Segment.SMB
    if employee_count < 1000:
        return Segment.MID_MARKET
    return Segment.ENTERPRISE


class Account(models.Model):
    """A company. Matched by `group` calls (group_id) or by the business email domain."""

    name = models.CharField(max_length=200, blank=True)
    domain = models.CharField(max_length=253, null=True, blank=True, unique=True)
    group_id = models.CharField(max_length=255, null=True, blank=True, unique=True, help_text="Segment groupId.")
    industry = models.CharField(max_length=100, blank=True)
    employee_count = models.PositiveIntegerField(null=True, blank=True)
    country = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    segment = models.CharField(max_length=16, choices=Segment.choices, default=Segment.UNKNOWN, editable=False)
    plan = models.CharField(max_length=100, blank=True)
    seats = models.PositiveIntegerField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_accounts"
    )
    traits = models.JSONField(default=dict, blank=True, help_text="Other group traits, as sent.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(domain=Lower("domain")), name="account_domain_lowercase"),
            models.CheckConstraint(
                condition=Q(domain__isnull=False) | Q(group_id__isnull=False) | ~Q(name=""),
                name="account_identifiable",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.domain or self.group_id or f"Account {self.pk}"

    def save(self, *args, **kwargs):
        # Derived, never set by hand: keeping it in a column lets filters and
        # routing rules use it without recomputing.
        self.segment = segment_for_employees(self.employee_count)
        super().save(*args, **kwargs)


class Stage(models.TextChoices):
    NEW = "new", "New"
    MQL = "mql", "MQL"
    PQL = "pql", "PQL"
    ACCEPTED = "accepted", "Accepted (SAL)"
    SQL = "sql", "SQL"
    OPPORTUNITY = "opportunity", "Opportunity"
    WON = "won", "Won"
    LOST = "lost", "Lost"
    NURTURE = "nurture", "Nurture"
    DISQUALIFIED = "disqualified", "Disqualified"


class Lead(models.Model):
    """A person. Email is normalized (trimmed, lower-case) and unique."""

    email = models.EmailField(max_length=254, null=True, blank=True, unique=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=200, blank=True)
    department = models.CharField(max_length=100, blank=True)
    seniority = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads")
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads")
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_leads"
    )
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.NEW, db_index=True)
    stage_changed_at = models.DateTimeField(auto_now_add=True)
    is_unsubscribed = models.BooleanField(default=False)
    crm_id = models.CharField(max_length=100, null=True, blank=True, unique=True, help_text="External CRM id.")
    traits = models.JSONField(default=dict, blank=True, help_text="Other identify traits, as sent.")
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_leads",
        help_text="Set when this lead was found to be the same person as another; kept for history.",
    )
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(email=Lower("email")), name="lead_email_normalized"),
            models.CheckConstraint(condition=~Q(merged_into=models.F("id")), name="lead_not_merged_into_itself"),
        ]
        indexes = [models.Index(fields=["account", "stage"])]

    def __str__(self) -> str:
        full_name = f"{self.first_name} {self.last_name}".strip()
        return full_name or self.email or f"Lead {self.pk}"


class IdentityKind(models.TextChoices):
    USER_ID = "user_id", "userId"
    ANONYMOUS_ID = "anonymous_id", "anonymousId"
    EMAIL = "email", "Email"


class Identity(models.Model):
    """One identifier (userId, anonymousId or email) that belongs to one lead."""

    kind = models.CharField(max_length=16, choices=IdentityKind.choices)
    value = models.CharField(max_length=255)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="identities")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "identities"
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="identity_unique_kind_value")]

    def __str__(self) -> str:
        return f"{self.kind}={self.value}"


class EventType(models.TextChoices):
    IDENTIFY = "identify", "identify"
    TRACK = "track", "track"
    PAGE = "page", "page"
    SCREEN = "screen", "screen"
    GROUP = "group", "group"
    ALIAS = "alias", "alias"


# Processed, and no lead claims it (yet): what history attachment looks for.
UNMATCHED_EVENT = Q(lead__isnull=True, processed_at__isnull=False)


class Event(models.Model):
    """One accepted Segment message. Immutable once stored, except the fields
    the worker fills in when it resolves the message (lead, account, processed_at).
    """

    # No single-column indexes on source, lead and account: the unique
    # (source, message_id) and the (lead|account, timestamp) indexes cover
    # them, and each index is written for every event ingested and processed.
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="events", db_index=False)
    message_id = models.CharField(max_length=255)
    batch_id = models.UUIDField(default=uuid.uuid4, db_index=True, help_text="The ingestion request that stored it.")
    type = models.CharField(max_length=16, choices=EventType.choices)
    event = models.CharField(max_length=255, blank=True, help_text="Track event name.")
    name = models.CharField(max_length=255, blank=True, help_text="Page or screen name.")
    user_id = models.CharField(max_length=255, blank=True)
    anonymous_id = models.CharField(max_length=255, blank=True)
    group_id = models.CharField(max_length=255, blank=True)
    previous_id = models.CharField(max_length=255, blank=True, help_text="alias: the id being linked.")
    properties = models.JSONField(default=dict, blank=True)
    traits = models.JSONField(default=dict, blank=True)
    context = models.JSONField(default=dict, blank=True)
    extra = models.JSONField(default=dict, blank=True, help_text="Any other top-level fields, kept as sent.")
    original_timestamp = models.DateTimeField(null=True, blank=True, help_text="The client's timestamp, as sent.")
    sent_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField()
    timestamp = models.DateTimeField(help_text="When it happened, corrected for client clock skew.")
    lead = models.ForeignKey(
        Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="events", db_index=False
    )
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="events", db_index=False
    )
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "message_id"], name="event_unique_message_per_source"),
        ]
        indexes = [
            models.Index(fields=["lead", "timestamp"]),
            models.Index(fields=["account", "timestamp"]),
            # The sweeper only ever looks at the unprocessed slice.
            models.Index(fields=["received_at"], condition=Q(processed_at__isnull=True), name="event_unprocessed_idx"),
            # Ids are only ever looked up among unmatched events (processed, no
            # lead): history attachment and the unmatched-identities page. So
            # an event enters these only when it is processed without a lead:
            # ingestion writes neither, and processing (a non-HOT update) none
            # for the events it matches. Either also serves "every unmatched
            # event". The admin's event search ("=user_id" is iexact, UPPER())
            # never used a plain index on these columns.
            models.Index(fields=["user_id"], condition=UNMATCHED_EVENT, name="event_unmatched_user_id_idx"),
            models.Index(fields=["anonymous_id"], condition=UNMATCHED_EVENT, name="event_unmatched_anon_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event or self.name} ({self.message_id})"


class RejectedMessage(models.Model):
    """A message we could not accept, kept with the reason so nothing is silently lost."""

    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="rejected_messages"
    )
    batch_id = models.UUIDField(null=True, blank=True)
    index = models.PositiveIntegerField(null=True, blank=True, help_text="Position in the batch.")
    field = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=500)
    payload = models.JSONField(null=True, blank=True)
    received_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class DeadLetter(models.Model):
    """An ingestion batch set aside because processing it failed in a way retrying cannot fix.

    Its events stay stored and unprocessed, and the sweeper leaves the batch
    alone while it is set aside. After a fix, an admin replays it (admin
    action): it is processed again, and set aside again if it still fails.
    """

    batch_id = models.UUIDField(unique=True)
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="dead_letters")
    event_count = models.PositiveIntegerField(help_text="Events left unprocessed when it was last set aside.")
    error = models.CharField(max_length=500, help_text="The last error, as the worker met it.")
    traceback = models.TextField(blank=True, help_text="Where the last error was raised (the innermost frames).")
    failure_count = models.PositiveIntegerField(default=1, help_text="Times it was set aside.")
    is_set_aside = models.BooleanField(default=True, help_text="Cleared when an admin replays it.")
    set_aside_at = models.DateTimeField(db_index=True)
    replayed_at = models.DateTimeField(null=True, blank=True)
    replayed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"Batch {self.batch_id}: {self.error[:80]}"


class BatchSweep(models.Model):
    """How often the beat sweeper re-enqueued a batch left unprocessed, and when it may again.

    What bounds the sweeper: each batch waits longer before each new sweep and
    is set aside (DeadLetter) after a fixed number of them.
    """

    batch_id = models.UUIDField(unique=True)
    sweep_count = models.PositiveIntegerField(default=0)
    last_swept_at = models.DateTimeField()
    next_sweep_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Batch {self.batch_id}: swept {self.sweep_count} times"


class BatchAttempt(models.Model):
    """Starts of a batch's processing that never ended: how often a worker died processing it.

    Counted up, committed, before processing starts; counted down when a start
    ends without finishing the batch (an error, nothing left to claim). A
    worker killed outright (out of memory, hard time limit) ends nothing, so
    its start stays counted, and after a few the batch is set aside
    (DeadLetter) instead of killing the next worker. Rows of batches with
    nothing left unprocessed are dropped by the sweeper.
    """

    batch_id = models.UUIDField(primary_key=True)
    start_count = models.PositiveIntegerField(default=0, help_text="Starts not ended (worker deaths, or at work now).")
    last_started_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Batch {self.batch_id}: {self.start_count} starts not ended"


class StageChange(models.Model):
    """Lead stage history: every transition with when, who and why."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(max_length=16, choices=Stage.choices)
    to_stage = models.CharField(max_length=16, choices=Stage.choices)
    changed_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=100, blank=True, help_text="System actor, e.g. 'scoring'.")
    reason = models.CharField(max_length=500, blank=True)
    evidence = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.from_stage} → {self.to_stage}"


class LeadMerge(models.Model):
    """Two leads turned out to be one person: the record of folding one into the other."""

    survivor = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="merges")
    merged = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    merged_at = models.DateTimeField()
    reason = models.CharField(max_length=500)
    snapshot = models.JSONField(default=dict, help_text="The merged lead's fields before the merge.")

    def __str__(self) -> str:
        return f"{self.merged_id} → {self.survivor_id}"


class OutcomeKind(models.TextChoices):
    MEETING = "meeting", "Meeting held"
    OPPORTUNITY = "opportunity", "Opportunity created"
    CLOSED_WON = "closed_won", "Closed won"
    CLOSED_LOST = "closed_lost", "Closed lost"


# Names a lead or an account that is not known (yet): kept, listed, and linked when it appears.
UNMATCHED_OUTCOME = Q(lead__isnull=True, lead_email__isnull=False) | Q(
    account__isnull=True, account_domain__isnull=False
)


class Outcome(models.Model):
    """What really happened downstream (from the CRM): what thresholds are measured against.

    Written by routing.services.outcomes, which moves the lead's stage with it. The CRM names
    the lead by id or email and the account by id or domain; the email and domain named are
    kept, so an outcome naming someone not known yet is stored (unmatched) and linked when
    that lead or account appears.
    """

    kind = models.CharField(max_length=16, choices=OutcomeKind.choices)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="outcomes")
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="outcomes")
    lead_email = models.CharField(
        max_length=254, null=True, blank=True, help_text="The lead's email as the CRM named it (normalized)."
    )
    account_domain = models.CharField(
        max_length=253, null=True, blank=True, help_text="The account's domain as the CRM named it (normalized)."
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    occurred_at = models.DateTimeField(db_index=True)
    opened_at = models.DateTimeField(
        null=True, blank=True, help_text="A closed deal: when its opportunity was created (occurred_at: closed)."
    )
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True, help_text="CRM record id.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(lead__isnull=False)
                | Q(account__isnull=False)
                | Q(lead_email__isnull=False)
                | Q(account_domain__isnull=False),
                name="outcome_names_lead_or_account",
                violation_error_message="Name a lead (by id or email) or an account (by id or domain).",
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0), name="outcome_amount_not_negative"
            ),
        ]
        indexes = [
            # The link sweep and the "unmatched" lists read only this slice.
            models.Index(fields=["lead_email"], condition=Q(lead__isnull=True), name="outcome_unmatched_lead_idx"),
            models.Index(
                fields=["account_domain"], condition=Q(account__isnull=True), name="outcome_unmatched_account_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d}"

    @property
    def is_unmatched(self) -> bool:
        return (self.lead_id is None and bool(self.lead_email)) or (
            self.account_id is None and bool(self.account_domain)
        )
