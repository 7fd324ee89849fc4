"""Celery tasks for the impact evaluation: freezing a cohort's analysis plan at an award (and
drawing its comparison groups), and estimating one outcome under the plan. Imported by
evaluation.apps so that the worker registers them (autodiscovery only imports tasks.py).

They call evaluation.impact_runs and nothing here imports evaluation.impact_services, so the
services can queue these tasks without an import cycle."""

import logging

from celery import shared_task
from django.db import DatabaseError

from evaluation import impact_plans, impact_runs
from evaluation.impact import NotEstimable
from evaluation.models import ComparisonGroup

log = logging.getLogger(__name__)

BOUNDED = {
    "bind": True,
    "acks_late": True,
    "time_limit": 600,
    "soft_time_limit": 570,
    "ignore_result": True,
}
# No automatic retries: a retry is an ETA message, which a Redis blip can turn into a dead worker
# (docs/operations.md). A database error is recorded where staff see it, and the page's
# "Recompute" (or the next award, for a freeze or draw: both are idempotent) runs it again.


@shared_task(**BOUNDED)
def compute_comparison_group(self, group_id: int) -> None:
    """Estimate and store one cohort × outcome under the frozen plan. Idempotent: a rerun
    replaces the result."""
    if not ComparisonGroup.objects.filter(pk=group_id).exists():
        return
    try:
        impact_runs.comparison_group_compute(group_id=group_id)
    except NotEstimable as exc:
        impact_runs.comparison_group_failed(group_id=group_id, error=str(exc))
    except DatabaseError as exc:
        log.exception("Comparison group %s: database error", group_id)
        impact_runs.comparison_group_failed(
            group_id=group_id, error=f"Database error ({type(exc).__name__}); recompute to try again."
        )
    except Exception as exc:
        log.exception("Comparison group %s failed", group_id)
        impact_runs.comparison_group_failed(group_id=group_id, error=f"{type(exc).__name__}: {exc}")


@shared_task(**BOUNDED)
def freeze_plan_on_award(self, cohort_id: int, application_id: int | None = None) -> None:
    """An award: freeze the cohort's plan (the first award) and draw comparison schools for the
    schools not yet drawn. Idempotent: a second run draws nothing new."""
    impact_runs.freeze_on_award(cohort_id=cohort_id, application_id=application_id)


@shared_task(**BOUNDED)
def draw_plan(self, plan_id: int, reason: str) -> None:
    """Draw comparison schools under a plan version for every participant not yet drawn."""
    impact_plans.plan_draw_all(plan_id=plan_id, reason=reason)
