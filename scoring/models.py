"""Versioned scoring rules and the scores they produce.

A rule version is a draft until published; exactly one version is published
(live) at a time; publishing archives the previous one. Only drafts can be
edited: the model layer refuses, and on PostgreSQL triggers refuse too
(migration 0002), so no code path, shell session or raw SQL can change what a
published score was computed from.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published (live)"
    ARCHIVED = "archived", "Archived"


class PublishedVersionError(ValidationError):
    """Raised when something tries to change a version that is no longer a draft."""


class RuleVersion(models.Model):
    number = models.PositiveIntegerField(unique=True, editable=False)
    name = models.CharField(max_length=200)
    notes = models.TextField(blank=True, help_text="What changed and why.")
    status = models.CharField(max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT, editable=False)
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, editable=False)
    # Thresholds: a lead is an MQL when fit, engagement and total all reach their minimum.
    fit_min = models.IntegerField(default=40, help_text="Minimum fit points for MQL.")
    engagement_min = models.IntegerField(default=25, help_text="Minimum engagement points for MQL.")
    total_min = models.IntegerField(default=75, help_text="Minimum total (fit + engagement) for MQL.")
    hot_min = models.IntegerField(default=130, help_text="Total at which a lead is hot (routed first).")
    grade_a_min = models.IntegerField(default=60, help_text="Fit points for grade A.")
    grade_b_min = models.IntegerField(default=40, help_text="Fit points for grade B.")
    grade_c_min = models.IntegerField(default=20, help_text="Fit points for grade C (below: D).")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    archived_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Progress of the background rescore that follows publishing.
    rescore_total = models.PositiveIntegerField(default=0, editable=False)
    rescore_done = models.PositiveIntegerField(default=0, editable=False)
    rescore_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    rescore_finished_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When the rescore last moved (a slice done, or a stalled rescore resumed): one that
    # stops moving lost its tasks, and the periodic drain resumes it.
    rescore_progress_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Fields that may still change once a version is published or archived.
    LIFECYCLE_FIELDS = frozenset(
        {"status", "published_by", "published_at", "archived_at"}
        | {"rescore_total", "rescore_done", "rescore_started_at", "rescore_finished_at", "rescore_progress_at"}
    )

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="published"), name="scoring_one_published_version"
            ),
            models.CheckConstraint(condition=Q(grade_a_min__gt=models.F("grade_b_min")), name="scoring_grade_a_gt_b"),
            models.CheckConstraint(condition=Q(grade_b_min__gt=models.F("grade_c_min")), name="scoring_grade_b_gt_c"),
        ]

    def __str__(self) -> str:
        return f"v{self.number} {self.name} ({self.get_status_display()})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            update_fields = kwargs.get("update_fields")
            stored = RuleVersion.objects.filter(pk=self.pk).values_list("status", flat=True).first()
            if stored not in (None, VersionStatus.DRAFT) and (
                update_fields is None or not set(update_fields) <= self.LIFECYCLE_FIELDS
            ):
                raise PublishedVersionError(f"Version {self.number} is {stored}: only drafts can be edited.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.status != VersionStatus.DRAFT:
            raise PublishedVersionError(f"Version {self.number} is {self.status}: only drafts can be deleted.")
        return super().delete(*args, **kwargs)

    @property
    def is_draft(self) -> bool:
        return self.status == VersionStatus.DRAFT

    @property
    def rescore_progress(self) -> str:
        if not self.rescore_started_at:
            return "-"
        if self.rescore_finished_at:
            return f"done ({self.rescore_done} leads)"
        percent = 100 * self.rescore_done // max(self.rescore_total, 1)
        return f"{self.rescore_done}/{self.rescore_total} ({percent}%)"


class RuleKind(models.TextChoices):
    FIT = "fit", "Fit (who they are)"
    ENGAGEMENT = "engagement", "Engagement (what they did)"
    NEGATIVE = "negative", "Negative signal"
    PQL = "pql", "PQL path"


class Rule(models.Model):
    """One rule of a version. `definition` is declarative data in the condition
    language (scoring/engine/README), validated on save, never evaluated as code."""

    version = models.ForeignKey(RuleVersion, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(max_length=16, choices=RuleKind.choices)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True, help_text="One line a rep can read.")
    points = models.IntegerField(default=0, help_text="Negative for negative rules; ignored for PQL paths.")
    position = models.PositiveIntegerField(default=0)
    definition = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["version", "kind", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["version", "name"], name="scoring_rule_unique_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind}, {self.points:+d})"

    def save(self, *args, **kwargs):
        self._check_version_is_draft()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._check_version_is_draft()
        return super().delete(*args, **kwargs)

    def _check_version_is_draft(self) -> None:
        status = RuleVersion.objects.filter(pk=self.version_id).values_list("status", flat=True).first()
        if status not in (None, VersionStatus.DRAFT):
            raise PublishedVersionError("Rules of a published or archived version cannot be changed; clone it.")


class LeadScore(models.Model):
    """A lead's current score: which version produced it and why."""

    lead = models.OneToOneField("leads.Lead", on_delete=models.CASCADE, primary_key=True, related_name="score")
    version = models.ForeignKey(RuleVersion, on_delete=models.PROTECT, related_name="+")
    fit = models.FloatField(default=0)
    engagement = models.FloatField(default=0)
    total = models.FloatField(default=0, db_index=True)
    grade = models.CharField(max_length=1, default="D")
    is_mql = models.BooleanField(default=False)
    is_hot = models.BooleanField(default=False)
    pql_path = models.CharField(max_length=100, blank=True)
    why = models.CharField(max_length=300, blank=True, help_text="The one line a rep reads.")
    explanation = models.JSONField(default=dict)
    # Qualification never silently moves backwards: when a qualified lead's
    # score decays below the threshold it keeps its stage and gets this flag.
    is_below_threshold_since_qualification = models.BooleanField(default=False)
    computed_at = models.DateTimeField()

    class Meta:
        indexes = [
            # The manager's board lists the few flagged leads, highest score first, out of all scores.
            models.Index(
                fields=["-total"],
                condition=models.Q(is_below_threshold_since_qualification=True),
                name="leadscore_below_threshold_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.total:g} ({self.grade})"


class AccountScore(models.Model):
    """An account's current score, rolled up from its leads' scores and its own product usage
    (scoring/engine/accounts.py), by the rescoring passes that score its leads."""

    account = models.OneToOneField("leads.Account", on_delete=models.CASCADE, primary_key=True, related_name="score")
    version = models.ForeignKey(RuleVersion, on_delete=models.PROTECT, related_name="+")
    fit = models.FloatField(default=0)
    engagement = models.FloatField(default=0)
    total = models.FloatField(default=0, db_index=True)
    grade = models.CharField(max_length=1, default="D")
    is_mql = models.BooleanField(default=False)
    is_pql = models.BooleanField(default=False)
    pql_path = models.CharField(max_length=100, blank=True)
    stage = models.CharField(max_length=16, default="new", help_text="The most advanced stage of its leads, or PQL.")
    why = models.CharField(max_length=300, blank=True, help_text="The one line a rep reads.")
    explanation = models.JSONField(default=dict)
    computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.account_id}: {self.total:g} ({self.grade}, {self.stage})"


class ScoreChange(models.Model):
    """Score history, compact: one row when the score changes, not one per event."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="score_changes")
    version = models.ForeignKey(RuleVersion, on_delete=models.PROTECT, related_name="+")
    fit = models.FloatField()
    engagement = models.FloatField()
    total = models.FloatField()
    grade = models.CharField(max_length=1)
    is_mql = models.BooleanField()
    pql_path = models.CharField(max_length=100, blank=True)
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["lead", "-changed_at"])]

    def __str__(self) -> str:
        return f"{self.lead_id} @ {self.changed_at:%Y-%m-%d %H:%M}: {self.total:g}"


class PendingRescore(models.Model):
    """Leads whose score is out of date. Processing marks them; a drain task
    rescores them in bounded chunks, so a lead touched by many batches in a
    burst is scored once, not once per batch. A row is deleted in the same
    transaction that saves the new score: a crash leaves it here for later."""

    lead = models.OneToOneField("leads.Lead", on_delete=models.CASCADE, primary_key=True, related_name="+")
    marked_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.lead_id} since {self.marked_at:%H:%M:%S}"
