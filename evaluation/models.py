"""Cohort summaries (built by Celery), outcome measures, comparison groups and impact estimates."""

from django.db import models

from partnerships.models import Cohort


class CohortSummary(models.Model):
    """Figures for one cohort, rebuilt by evaluation.tasks.build_cohort_summary.

    The dashboards read only this row, so their cost does not grow with the cohort.
    """

    cohort = models.OneToOneField(Cohort, on_delete=models.CASCADE, related_name="summary")
    data = models.JSONField(default=dict)
    built_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "cohort summaries"

    def __str__(self):
        return f"Summary of {self.cohort} at {self.built_at:%Y-%m-%d %H:%M}"
