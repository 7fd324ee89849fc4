"""Celery tasks for comparison groups and impact estimates (imported by evaluation.impact_views so
that the worker registers them: autodiscovery only imports tasks.py)."""

import logging

from celery import shared_task
from django.db import DatabaseError

from evaluation import impact_services
from evaluation.impact import NotEstimable
from evaluation.models import ComparisonGroup

log = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    time_limit=600,
    soft_time_limit=570,
    ignore_result=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    max_retries=3,
)
def compute_comparison_group(self, group_id: int) -> None:
    """Match, estimate and store one cohort × measure. Idempotent: a rerun replaces the result."""
    if not ComparisonGroup.objects.filter(pk=group_id).exists():
        return
    try:
        impact_services.comparison_group_compute(group_id=group_id)
    except NotEstimable as exc:
        impact_services.comparison_group_failed(group_id=group_id, error=str(exc))
    except DatabaseError:
        raise
    except Exception as exc:
        log.exception("Comparison group %s failed", group_id)
        impact_services.comparison_group_failed(group_id=group_id, error=f"{type(exc).__name__}: {exc}")
