"""The award freezes the analysis plan: grants sits below evaluation in the layers and never
imports it, so evaluation listens to the application's own post_save and, when an application is
approved, queues evaluation.tasks.freeze_plan_on_award after the commit. The handler runs
no query; the task is idempotent (a second save of an approved application draws nothing new).
Connected in EvaluationConfig.ready()."""

import logging

from django.db import transaction
from django.db.models.signals import post_save
from kombu.exceptions import OperationalError as BrokerUnavailable

from evaluation.tasks import freeze_plan_on_award
from grants.models import Application

log = logging.getLogger(__name__)


def application_saved(sender, instance, created=False, update_fields=None, **kwargs):
    if instance.status != Application.Status.APPROVED:
        return
    if update_fields is not None and "status" not in update_fields:
        return  # an approved application edited for another reason: not an award
    cohort_id, application_id = instance.cohort_id, instance.pk
    transaction.on_commit(lambda: _queue(cohort_id, application_id), using=kwargs.get("using") or "default")


def _queue(cohort_id: int, application_id: int) -> None:
    try:
        freeze_plan_on_award.apply_async(
            args=[cohort_id, application_id], retry_policy={"max_retries": 2, "interval_start": 0}
        )
    except BrokerUnavailable as exc:  # the award stands; the plan freezes at the next award or estimate
        log.warning("Could not queue freezing the plan of cohort %s: %s", cohort_id, exc)
    except Exception:
        log.exception("Freezing the plan of cohort %s failed", cohort_id)


def connect() -> None:
    post_save.connect(application_saved, sender=Application, dispatch_uid="evaluation.impact.award")
