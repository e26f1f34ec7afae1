"""Insights models: what measuring rule versions against outcomes stores (backtests, suggestions,
stored calibration and what-precedes reports).

A backtest replays a rule version over history, as of each of a series of points in time,
beside the version that was live when it started. It runs in steps (one point × one chunk of
candidates each, insights/services/backtest.py); each step's rows are kept as a `BacktestPart`
until the run finishes and its results are summed into `BacktestRun.results`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class BacktestStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class BacktestUnit(models.TextChoices):
    LEAD = "lead", "Leads"
    ACCOUNT = "account", "Accounts"


class PositiveKind(models.TextChoices):
    """What counts as having converted within the horizon (each includes what comes after it)."""

    WON = "won", "Closed won"
    OPPORTUNITY = "opportunity", "Opportunity or later"
    MEETING = "meeting", "Meeting or later"


class BacktestRun(models.Model):
    version = models.ForeignKey("scoring.RuleVersion", on_delete=models.CASCADE, related_name="backtests")
    # The live version when the run was asked for, scored at the same points beside it.
    compared_version = models.ForeignKey(
        "scoring.RuleVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    unit = models.CharField(max_length=8, choices=BacktestUnit.choices, default=BacktestUnit.LEAD)
    # Points in time: from_date, then every step_days, up to to_date.
    from_date = models.DateField()
    to_date = models.DateField()
    step_days = models.PositiveIntegerField(default=7)
    horizon_days = models.PositiveIntegerField(default=90, help_text="Outcomes within this many days label a point.")
    capacity = models.PositiveIntegerField(help_text="How many leads or accounts the team can work per step.")
    positive = models.CharField(max_length=16, choices=PositiveKind.choices, default=PositiveKind.WON)
    # The version's rules when the run started: a draft edited meanwhile fails the run, so its
    # figures never mix two sets of rules.
    version_hash = models.CharField(max_length=64, blank=True, editable=False)
    status = models.CharField(max_length=8, choices=BacktestStatus.choices, default=BacktestStatus.QUEUED)
    # Candidate id ranges ([first, last]), fixed at the start: a step is (point, chunk).
    chunks = models.JSONField(default=list, editable=False)
    steps_total = models.PositiveIntegerField(default=0)
    steps_done = models.PositiveIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # When a step was last recorded (or a stalled run claimed for resuming).
    progress_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    results = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["version", "-finished_at"], name="insights_backtest_validated")]
        constraints = [
            models.CheckConstraint(condition=Q(to_date__gte=models.F("from_date")), name="insights_backtest_dates"),
            models.CheckConstraint(condition=Q(step_days__gte=1), name="insights_backtest_step"),
            models.CheckConstraint(condition=Q(steps_done__lte=models.F("steps_total")), name="insights_backtest_done"),
        ]

    def __str__(self) -> str:
        return f"Backtest #{self.pk} of v{self.version.number}"

    @property
    def is_finished(self) -> bool:
        return self.status in (BacktestStatus.DONE, BacktestStatus.FAILED)

    @property
    def progress_percent(self) -> int:
        if self.status == BacktestStatus.DONE:
            return 100
        return 100 * self.steps_done // max(self.steps_total, 1)


class BacktestPart(models.Model):
    """One step's rows: every candidate of one chunk as of one point, scored by both versions.

    `rows` holds [id, score, qualified, compared score, compared qualified, outcome kinds] per
    candidate, plus a seventh item where either version qualifies it (its key; both scores in
    full where the versions disagree).
    Unique per step: a redelivered step records nothing twice."""

    run = models.ForeignKey(BacktestRun, on_delete=models.CASCADE, related_name="parts")
    step = models.PositiveIntegerField()
    point = models.PositiveIntegerField()
    rows = models.JSONField(default=list)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "step"], name="insights_backtest_part_once")]


# --- Suggested versions (issue 11) ---------------------------------------------------------------


class VersionSuggestion(models.Model):
    """How a suggested draft was learnt, stored with it: the cut-off, the team's capacity, the
    time-split validation figures, how much each outcome kind weighed, and each rule's change."""

    version = models.OneToOneField("scoring.RuleVersion", on_delete=models.CASCADE, related_name="suggestion")
    base = models.ForeignKey("scoring.RuleVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    as_of = models.DateTimeField(help_text="Learnt from what was known before this moment.")
    horizon_days = models.PositiveIntegerField(help_text="Days after a cut-off in which an outcome counts.")
    capacity = models.PositiveIntegerField(help_text="Candidates the team can work: the MQL thresholds aim here.")
    unit = models.CharField(max_length=16, choices=BacktestUnit.choices, default=BacktestUnit.LEAD)
    figures = models.JSONField(default=dict, help_text="Time-split validation figures, by name.")
    evidence_weights = models.JSONField(default=dict, help_text="Outcome kind -> the weight it had as evidence.")
    changes = models.JSONField(default=list, help_text="Each rule kept, re-weighted, pruned or added, and why.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Suggestion for version {self.version_id} as of {self.as_of:%Y-%m-%d}"


# --- Stored reports: calibration and what precedes buying (issue 11) ------------------------------


class ReportKind(models.TextChoices):
    CALIBRATION = "calibration", "Calibration"
    PRECEDES = "precedes", "What precedes buying"


class InsightReport(models.Model):
    """A report computed by a task and kept (insights/services/reports.py): one row per kind and
    parameters, recomputed in place when it goes stale or someone asks for a recompute.

    `watermark` is what the data looked like when the computation was asked for (the latest
    outcome, the version's rules): a report whose watermark no longer matches is stale."""

    kind = models.CharField(max_length=16, choices=ReportKind.choices)
    params = models.JSONField(help_text="The normalised parameters, as the computation takes them.")
    params_hash = models.CharField(max_length=64, editable=False)
    version = models.ForeignKey(
        "scoring.RuleVersion", null=True, blank=True, on_delete=models.CASCADE, related_name="insight_reports"
    )
    watermark = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, choices=BacktestStatus.choices, default=BacktestStatus.QUEUED)
    results = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "params_hash"], name="insights_report_once")]
        indexes = [models.Index(fields=["status", "requested_at"], name="insights_report_active")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (BacktestStatus.DONE, BacktestStatus.FAILED)
