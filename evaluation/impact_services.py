"""Writes for comparison groups: queue a computation (staff), and the computation itself (run by
the Celery task in evaluation.impact_tasks). Pages only read what these store."""

import logging
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable

from evaluation import impact, matching, outcomes
from evaluation.models import ComparisonGroup, MatchedPair, OutcomeValue
from partnerships.models import Cohort
from partnerships.selectors import cohorts_for

log = logging.getLogger(__name__)

QUEUED_EXPIRES = timedelta(minutes=15)


def comparison_groups_request(
    *, cohort_id: int, by, measures: list[str] | None = None
) -> list[ComparisonGroup]:
    """Queue (re)computation of the cohort's comparison groups, one per measure with data.
    A group already queued or running is left alone (a second click queues nothing)."""
    from evaluation.impact_tasks import compute_comparison_group

    if not cohorts_for(by).filter(pk=cohort_id).exists():
        raise PermissionDenied("You cannot evaluate this cohort.")
    cohort = Cohort.objects.get(pk=cohort_id)
    wanted = measures if measures is not None else outcomes.measures_with_data(cohort)
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


def _progress(group_id: int, percent: int, note: str) -> None:
    ComparisonGroup.objects.filter(pk=group_id).update(progress=min(percent, 100), progress_note=note[:200])


def comparison_group_compute(*, group_id: int) -> ComparisonGroup:
    """Match the cohort's participants on the group's measure, estimate the difference in
    differences and store everything on the group. Idempotent: running again replaces the result."""
    group = ComparisonGroup.objects.select_related("cohort").get(pk=group_id)
    ComparisonGroup.objects.filter(pk=group_id).update(
        state=ComparisonGroup.State.RUNNING, started_at=timezone.now(), error=""
    )
    cohort, measure = group.cohort, group.measure
    _progress(group_id, 5, "Loading schools and outcomes")
    units = outcomes.participants(cohort)
    fingerprint, changed_at = outcomes.inputs_state(cohort, measure, units=units)
    base = outcomes.baseline_year(cohort)
    frame = outcomes.matching_frame(cohort, measure, units=units)
    if not frame["treated"].any():
        raise impact.NotEstimable("No participating school reports this measure.")
    _progress(group_id, 20, f"Matching {int(frame['treated'].sum())} schools against {len(frame)} in all")
    result = matching.match(
        frame,
        progress=lambda percent, note: _progress(group_id, 20 + percent * 6 // 10, note),
    )
    _progress(group_id, 85, "Estimating the difference in differences")
    panel = outcomes.did_panel(measure, pairs=result.pairs, units=units, baseline=base)
    estimate, error = {}, ""
    try:
        fit = impact.did_estimate(panel)
        unit = outcomes.MEASURE_UNITS[measure]
        estimate = {
            **fit.as_dict(),
            "unit": unit,
            "reading": impact.reading(fit, measure_label=outcomes.measure_label(measure), unit=unit),
        }
    except impact.NotEstimable as exc:
        error = f"No estimate: {exc}"
    matched_ids = [p["participant"] for p in result.pairs] + [p["comparison"] for p in result.pairs]
    synthetic = OutcomeValue.objects.filter(
        measure=measure, school_id__in=matched_ids, is_synthetic=True
    ).exists()
    with transaction.atomic():
        group = ComparisonGroup.objects.select_for_update().get(pk=group_id)
        group.pairs.all().delete()
        MatchedPair.objects.bulk_create(
            [
                MatchedPair(
                    group=group,
                    participant_id=pair["participant"],
                    comparison_id=pair["comparison"],
                    unit=units[pair["participant"]],
                    participant_score=pair["participant_score"],
                    comparison_score=pair["comparison_score"],
                )
                for pair in result.pairs
            ],
            batch_size=1000,
        )
        group.baseline_year = base
        group.method = result.method
        group.balance = result.balance
        group.unmatched = result.unmatched
        group.estimate = estimate
        group.trends = impact.group_trends(panel) if len(panel) else {}
        group.uses_synthetic_data = synthetic
        group.inputs_fingerprint, group.inputs_changed_at = fingerprint, changed_at
        group.state, group.progress, group.progress_note = ComparisonGroup.State.READY, 100, "Done"
        group.error = error
        group.computed_at = timezone.now()
        group.save()
    return group


def comparison_group_failed(*, group_id: int, error: str) -> None:
    ComparisonGroup.objects.filter(pk=group_id).update(
        state=ComparisonGroup.State.FAILED, error=error[:2000], progress_note="Failed"
    )
