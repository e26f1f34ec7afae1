"""Insights models: what measuring rule versions against outcomes stores (backtests, suggestions)."""

from django.conf import settings
from django.db import models

# --- Suggested versions (issue 11) ---------------------------------------------------------------


class SuggestionUnit(models.TextChoices):
    LEAD = "lead", "Leads"
    ACCOUNT = "account", "Accounts"


class VersionSuggestion(models.Model):
    """How a suggested draft was learnt, stored with it: the cut-off, the team's capacity, the
    time-split validation figures, how much each outcome kind weighed, and each rule's change."""

    version = models.OneToOneField("scoring.RuleVersion", on_delete=models.CASCADE, related_name="suggestion")
    base = models.ForeignKey("scoring.RuleVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    as_of = models.DateTimeField(help_text="Learnt from what was known before this moment.")
    horizon_days = models.PositiveIntegerField(help_text="Days after a cut-off in which an outcome counts.")
    capacity = models.PositiveIntegerField(help_text="Candidates the team can work: the MQL thresholds aim here.")
    unit = models.CharField(max_length=16, choices=SuggestionUnit.choices, default=SuggestionUnit.LEAD)
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
