"""Cohort summaries (built by Celery), outcome measures, comparison groups and impact estimates."""

from django.db import models

from partnerships.models import Cohort


class CohortSummary(models.Model):
    """Figures for one cohort, rebuilt by evaluation.tasks.build_cohort_summary.

    The dashboards read only this row, so their cost does not grow with the cohort.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    cohort = models.OneToOneField(Cohort, on_delete=models.CASCADE, related_name="summary")
    data = models.JSONField(default=dict)
    built_at = models.DateTimeField(null=True, blank=True)
    # Rebuild bookkeeping: the dashboard shows progress and whether data changed since built_at.
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    source_changed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "cohort summaries"

    def __str__(self):
        return f"Summary of {self.cohort}"
