"""Staff actions on a cohort's impact evaluation: queue estimates, freeze the analysis plan, amend
it. Each checks who may act, writes under a lock and queues the long work as a Celery task after
the commit (evaluation.tasks); pages only read what the tasks store.

Import direction: impact_services → tasks → impact_runs (no cycle)."""

import logging
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable

from evaluation import impact_data, impact_plans, outcomes
from evaluation.impact_runs import comparison_group_compute, comparison_group_failed
from evaluation.models import AnalysisPlan, ComparisonGroup
from evaluation.tasks import compute_comparison_group, draw_plan
from partnerships.models import Cohort
from partnerships.selectors import cohorts_for

__all__ = [
    "comparison_group_compute",
    "comparison_group_failed",
    "comparison_groups_request",
    "plan_amend_request",
    "plan_freeze_request",
    "planned_outcomes_with_data",
]

log = logging.getLogger(__name__)

QUEUED_EXPIRES = timedelta(minutes=15)


def planned_outcomes_with_data(cohort: Cohort, *, units: dict[int, str] | None = None) -> list[str]:
    """The outcomes of the cohort's plan (frozen, else the draft, else the default) for which some
    participant has a value before the start."""
    units = outcomes.participants(cohort) if units is None else units
    plan = impact_plans.current_plan(cohort)
    content = plan.content if plan else impact_plans.default_content(cohort, units=units)
    with_data = set(outcomes.measures_with_data(cohort, units=units))
    return [
        o for o in impact_plans.plan_outcomes(content) if set(impact_data.outcome_measures(o)) <= with_data
    ]


def comparison_groups_request(
    *, cohort_id: int, by, measures: list[str] | None = None
) -> list[ComparisonGroup]:
    """Queue (re)computation of the cohort's estimates, one per planned outcome with data.
    A group already queued or running is left alone (a second click queues nothing)."""
    if not cohorts_for(by).filter(pk=cohort_id).exists():
        raise PermissionDenied("You cannot evaluate this cohort.")
    cohort = Cohort.objects.get(pk=cohort_id)
    wanted = measures if measures is not None else planned_outcomes_with_data(cohort)
    queued = []
    with transaction.atomic():
        for measure in wanted:
            group, _ = ComparisonGroup.objects.get_or_create(cohort=cohort, measure=measure)
            group = ComparisonGroup.objects.select_for_update().get(pk=group.pk)
            if group.is_busy and group.queued_at and group.queued_at > timezone.now() - QUEUED_EXPIRES:
                continue  # already on its way; a lost one (broker flushed) is re-queued after a while
            group.state, group.progress, group.progress_note, group.error = (
                ComparisonGroup.State.QUEUED,
                0,
                "Waiting for a worker",
                "",
            )
            group.queued_at = timezone.now()
            group.save(update_fields=["state", "progress", "progress_note", "error", "queued_at"])
            queued.append(group)
            transaction.on_commit(lambda pk=group.pk: _send(compute_comparison_group, pk))
    return queued


def _send(task, group_id: int) -> None:
    """Send after commit; a broker that does not answer marks the group failed with a message
    instead of failing the request (the data are committed; the button can be pressed again)."""
    try:
        task.apply_async(args=[group_id], retry_policy={"max_retries": 2, "interval_start": 0})
    except BrokerUnavailable as exc:
        log.warning("Could not queue comparison group %s: %s", group_id, exc)
        comparison_group_failed(group_id=group_id, error="The task queue is not answering; try again later.")


def _queue_draws(plan: AnalysisPlan, reason: str) -> None:
    def send():
        try:
            draw_plan.apply_async(
                args=[plan.pk, reason], retry_policy={"max_retries": 2, "interval_start": 0}
            )
        except BrokerUnavailable as exc:  # drawn at the next award or when estimates are computed
            log.warning("Could not queue the draws of plan %s: %s", plan.pk, exc)

    transaction.on_commit(send)


def plan_freeze_request(*, cohort_id: int, by) -> AnalysisPlan:
    """Staff freeze the cohort's plan before the first award; the comparison groups are drawn
    by a task for the schools already awarded (none yet, usually: they are drawn at award)."""
    if not cohorts_for(by).filter(pk=cohort_id).exists():
        raise PermissionDenied("You cannot plan this cohort's evaluation.")
    with transaction.atomic():
        before = impact_plans.current_frozen(Cohort(pk=cohort_id))
        plan = impact_plans.plan_freeze(cohort_id=cohort_id, by=by, because=f"frozen by {_name(by)}")
        if before is None:
            _queue_draws(plan, "drawn at freezing")
    return plan


def plan_amend_request(*, cohort_id: int, by, content: dict, reason: str = "") -> AnalysisPlan:
    """Edit the draft, or add a new frozen version with a reason; a new version draws what it does
    not carry over."""
    with transaction.atomic():
        plan = impact_plans.plan_amend(cohort_id=cohort_id, by=by, content=content, reason=reason)
        if plan.is_frozen:
            _queue_draws(plan, f"drawn for version {plan.version}")
    return plan


def _name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else "the portal"
