"""Cohort summaries: the Celery task that builds one, the nightly rebuild, the sweep that
re-queues lost rebuilds, and the coalescing trigger that data changes go through.

How a change becomes a rebuilt summary
--------------------------------------
1. A change (a membership, activity, feedback, application or payment saved or deleted;
   see evaluation/signals.py) calls `note_change`/`request_rebuild` inside the writer's
   transaction. That runs no query: it only records the cohort (or the row that leads to
   it) in one `_PendingRebuilds` callback per transaction, registered with
   `transaction.on_commit`. A rolled-back change therefore queues nothing.
2. After commit the callback resolves the cohorts and calls `queue_rebuild` for each:
   it marks `source_changed_at` (the dashboard's staleness flag) and, unless a rebuild is
   already queued and not yet started, marks the row queued and sends the task at once.
   Every change until that task starts finds the row queued and sends nothing; a change
   while it runs queues one more. A burst of changes therefore gives at most two rebuilds
   (one running, one waiting) however long it lasts: the debounce lives in the database.
   No countdown or ETA is ever used: a worker holding a delayed message when Redis drops
   dies (kombu's AttributeError 'hostname' while restoring it; docs/operations.md).
3. If the broker is down, sending fails with kombu's OperationalError: the change is
   already committed, the summary stays marked stale, the failure is logged and written to
   `CohortSummary.error`, and the row is left not-queued.
4. `sweep_summaries` (beat, every SUMMARY_SWEEP_SECONDS) re-queues what was lost: a rebuild
   queued but not started within QUEUED_EXPIRES (its message died with a restarted Redis), one
   "running" past its time limit (its worker died), and a stale summary nobody could queue. A
   rebuild that failed on a database error is left queued, so the sweep retries it too.

The task computes the figures and writes them in one transaction (the row is locked only
for the write), so a worker killed half-way leaves the previous complete summary.
"""

import logging
from datetime import datetime, timedelta

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable

from evaluation import impact_plans, impact_runs, summaries
from evaluation.impact import NotEstimable
from evaluation.models import CohortSummary, ComparisonGroup
from partnerships.models import Cohort

log = logging.getLogger(__name__)

# A queued rebuild that has not started after this long is presumed lost (a restarted Redis
# forgot its message): the sweep, the next change or "Rebuild now" queues another. A worker
# starts a queued rebuild within a second or two; a duplicate rebuild is harmless.
QUEUED_EXPIRES = timedelta(minutes=2)  # settings.SUMMARY_QUEUED_EXPIRES_SECONDS overrides
# "Rebuild now" pressed twice within this is one rebuild; after it, the button always queues.
FORCE_GRACE = timedelta(seconds=10)
# Publishing to a broker that does not answer gives up quickly: the caller is a request.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}

QUEUED = "queued"
ALREADY_QUEUED = "already_queued"
BROKER_DOWN = "broker_down"
NO_COHORT = "no_cohort"


def queued_expires() -> timedelta:
    return timedelta(
        seconds=getattr(settings, "SUMMARY_QUEUED_EXPIRES_SECONDS", QUEUED_EXPIRES.total_seconds())
    )


def running_expires() -> timedelta:
    """A rebuild "running" for longer than its time limit and a minute has lost its worker."""
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)


# --- The task -----------------------------------------------------------------------------


@shared_task(
    bind=True,
    name="evaluation.tasks.build_cohort_summary",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def build_cohort_summary(self, cohort_id: int) -> str | None:
    try:
        summary = build(cohort_id)
    except (OperationalError, InterfaceError) as exc:
        # Left queued: sweep_summaries retries it after QUEUED_EXPIRES (no Celery countdown).
        _record_failure(cohort_id, f"Database error, will retry: {exc}", retrying=True)
        return None
    except SoftTimeLimitExceeded:
        _record_failure(cohort_id, "The rebuild took longer than its time limit.", retrying=False)
        raise
    except Exception as exc:
        _record_failure(cohort_id, f"{type(exc).__name__}: {exc}", retrying=False)
        raise
    return summary.built_at.isoformat() if summary else None


def build(cohort_id: int) -> CohortSummary | None:
    """Compute and store one cohort's summary, in this process. Idempotent: the cohort's one
    row is updated in place. Returns None when the cohort no longer exists."""
    if not Cohort.objects.filter(pk=cohort_id).exists():
        log.info("Cohort %s no longer exists: no summary to build.", cohort_id)
        return None
    summary, _ = CohortSummary.objects.get_or_create(cohort_id=cohort_id)
    started = timezone.now()
    CohortSummary.objects.filter(pk=summary.pk).update(state=CohortSummary.State.RUNNING, started_at=started)
    with transaction.atomic():
        data = summaries.compute(cohort_id)
        summary = CohortSummary.objects.select_for_update().get(pk=summary.pk)
        summary.data = data
        summary.built_at = datetime.fromisoformat(data["built_at"])
        summary.error = ""
        # A change that arrived while we computed has queued another rebuild (state
        # "queued"): leave that visible. Otherwise this build is the latest word.
        if summary.state == CohortSummary.State.RUNNING and summary.started_at == started:
            summary.state = CohortSummary.State.READY
        summary.save(update_fields=["data", "built_at", "error", "state"])
    log.info("Built the summary of cohort %s.", cohort_id)
    return summary


def _record_failure(cohort_id: int, message: str, retrying: bool) -> None:
    try:
        fields = {"state": CohortSummary.State.FAILED, "error": message[:2000]}
        if retrying:
            fields.update(state=CohortSummary.State.QUEUED, queued_at=timezone.now())
        CohortSummary.objects.filter(cohort_id=cohort_id).update(**fields)
    except Exception:  # the database itself may be what failed
        log.exception("Could not record the failed rebuild of cohort %s.", cohort_id)
    log.warning("Rebuilding the summary of cohort %s failed: %s", cohort_id, message)


@shared_task(
    name="evaluation.tasks.rebuild_open_cohorts",
    acks_late=True,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def rebuild_open_cohorts() -> int:
    """Nightly (celery beat, portal/celery.py): queue a rebuild of every cohort that is still
    running or open (not yet ended, or taking applications), and of any cohort whose summary
    is missing or stale (a change whose rebuild could not be queued)."""
    now = timezone.now()
    cohort_ids = list(
        Cohort.objects.filter(
            Q(ends_on__gte=timezone.localdate(now))
            | Q(applications_close_at__gte=now)
            | Q(summary__isnull=True)
            | Q(summary__built_at__isnull=True)
            | Q(summary__source_changed_at__gt=F("summary__built_at"))
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for cohort_id in cohort_ids:
        queue_rebuild(cohort_id, mark_changed=False)
    log.info("Nightly rebuild: queued %d cohort summaries.", len(cohort_ids))
    return len(cohort_ids)


def lost_or_stale(now=None):
    """Summaries whose rebuild was lost or never queued (what sweep_summaries re-queues)."""
    now = now or timezone.now()
    S = CohortSummary.State
    never_queued_stale = Q(state__in=[S.READY, S.FAILED], queued_at__isnull=True) & (
        Q(built_at__isnull=True) | Q(source_changed_at__gt=F("built_at"))
    )
    return CohortSummary.objects.filter(
        Q(state=S.QUEUED, queued_at__lt=now - queued_expires())
        | Q(state=S.QUEUED, queued_at__isnull=True)
        | Q(state=S.RUNNING, started_at__lt=now - running_expires())
        | never_queued_stale
    )


@shared_task(
    name="evaluation.tasks.sweep_summaries",
    acks_late=True,
    ignore_result=True,
    time_limit=60,
    soft_time_limit=50,
)
def sweep_summaries() -> int:
    """Beat, every SUMMARY_SWEEP_SECONDS: re-queue rebuilds that were lost (see the module doc)."""
    cohort_ids = list(lost_or_stale().order_by("cohort_id").values_list("cohort_id", flat=True)[:200])
    queued = sum(
        queue_rebuild(cohort_id, mark_changed=False, force=True) == QUEUED for cohort_id in cohort_ids
    )
    if cohort_ids:
        log.info("Summary sweep: re-queued %d of %d lost or stale rebuilds.", queued, len(cohort_ids))
    return queued


# --- Queueing -------------------------------------------------------------------------------


def queue_rebuild(cohort_id: int, *, mark_changed: bool = True, force: bool = False) -> str:
    """Queue a rebuild of one cohort's summary unless one is queued and not yet started.

    `force` (staff's "Rebuild now", the sweep) queues again unless a rebuild was queued in the
    last FORCE_GRACE, so a queued rebuild whose message was lost never blocks the button.
    Call it outside a transaction (after commit). Returns QUEUED, ALREADY_QUEUED,
    BROKER_DOWN or NO_COHORT. Never raises for a broker that is down.
    """
    now = timezone.now()
    with transaction.atomic():
        if not Cohort.objects.filter(pk=cohort_id).exists():
            return NO_COHORT
        CohortSummary.objects.get_or_create(cohort_id=cohort_id)
        summary = CohortSummary.objects.select_for_update().get(cohort_id=cohort_id)
        if mark_changed:
            summary.source_changed_at = now
        pending = (
            summary.state == CohortSummary.State.QUEUED
            and summary.queued_at is not None
            and summary.queued_at > now - (FORCE_GRACE if force else queued_expires())
        )
        if pending:
            summary.save(update_fields=["source_changed_at"])
            return ALREADY_QUEUED
        previous_state = summary.state
        summary.state, summary.queued_at = CohortSummary.State.QUEUED, now
        summary.save(update_fields=["source_changed_at", "state", "queued_at"])

    try:
        build_cohort_summary.apply_async((cohort_id,), retry=True, retry_policy=PUBLISH_RETRY_POLICY)
    except BrokerUnavailable as exc:
        log.error("Could not queue the rebuild of cohort %s, broker unavailable: %s", cohort_id, exc)
        if previous_state in (CohortSummary.State.QUEUED, CohortSummary.State.RUNNING):
            previous_state = CohortSummary.State.READY if summary.built_at else CohortSummary.State.FAILED
        CohortSummary.objects.filter(pk=summary.pk, state=CohortSummary.State.QUEUED, queued_at=now).update(
            state=previous_state,
            queued_at=None,
            error=(
                f"The rebuild requested at {timezone.localtime(now):%d %b %Y %H:%M} could not be queued "
                "(the task broker did not answer). It will be queued again when the broker is back."
            ),
        )
        return BROKER_DOWN
    return QUEUED


class _PendingRebuilds:
    """The one on-commit callback of a transaction: the changes it saw, resolved to cohorts
    and queued once the transaction has committed."""

    def __init__(self):
        self.keys: set[tuple[str, int]] = set()

    def __call__(self):
        try:
            cohort_ids = resolve_cohorts(self.keys)
            for cohort_id in sorted(cohort_ids):
                queue_rebuild(cohort_id)
        except Exception:
            # The change is committed; a failed rebuild request must not turn the user's
            # request into an error. The nightly rebuild picks up stale summaries.
            log.exception("Could not request summary rebuilds for %s", sorted(self.keys))


def note_change(kind: str, pk: int | None, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Record that data behind a summary changed. `kind` names what `pk` identifies:
    "cohort", "partnership", "cluster", "activity" or "application". Runs no query."""
    if pk is None:
        return
    connection = transaction.get_connection(using)
    batch = None
    if connection.in_atomic_block:
        batch = next(
            (entry[1] for entry in connection.run_on_commit if isinstance(entry[1], _PendingRebuilds)), None
        )
    if batch is None:
        batch = _PendingRebuilds()
        batch.keys.add((kind, pk))
        transaction.on_commit(batch, using=using, robust=True)  # runs now outside a transaction
    else:
        batch.keys.add((kind, pk))


def request_rebuild(cohort_id: int) -> None:
    """Ask for a (debounced) rebuild of a cohort's summary once the current transaction commits."""
    note_change("cohort", cohort_id)


def resolve_cohorts(keys) -> set[int]:
    """The cohorts behind a set of (kind, pk): one query per kind, none for cohorts."""
    from clusters.models import Cluster, CPDActivity
    from grants.models import Application
    from partnerships.models import Partnership

    by_kind: dict[str, set[int]] = {}
    for kind, pk in keys:
        by_kind.setdefault(kind, set()).add(pk)
    cohort_ids = set(by_kind.pop("cohort", set()))
    lookups = {
        "partnership": lambda ids: Partnership.objects.filter(pk__in=ids).values_list("cohort_id", flat=True),
        "cluster": lambda ids: Cluster.objects.filter(pk__in=ids).values_list("cohort_id", flat=True),
        "application": lambda ids: Application.objects.filter(pk__in=ids).values_list("cohort_id", flat=True),
    }
    for kind, ids in by_kind.items():
        if kind == "activity":
            for pair in CPDActivity.objects.filter(pk__in=ids).values_list(
                "partnership__cohort_id", "cluster__cohort_id"
            ):
                cohort_ids.update(pk for pk in pair if pk is not None)
        elif kind in lookups:
            cohort_ids.update(lookups[kind](ids))
        else:
            raise ValueError(f"Unknown kind of change: {kind!r}")
    return cohort_ids


# --- The impact evaluation --------------------------------------------------------------------
# Freezing a cohort's analysis plan at an award (and drawing its comparison groups), and
# estimating one outcome under the plan. They call evaluation.impact_runs, and nothing this
# module imports imports evaluation.impact_services, so the services queue them without a cycle.
# Their names are those they had in evaluation/impact_tasks.py (merged here), so a message
# queued before a deploy still finds its task.

IMPACT_BOUNDED = {
    "bind": True,
    "acks_late": True,
    "time_limit": 600,
    "soft_time_limit": 570,
    "ignore_result": True,
}
# No automatic retries: a retry is an ETA message, which a Redis blip can turn into a dead worker
# (docs/operations.md). A database error is recorded where staff see it, and the page's
# "Recompute" (or the next award, for a freeze or draw: both are idempotent) runs it again.


@shared_task(name="evaluation.impact_tasks.compute_comparison_group", **IMPACT_BOUNDED)
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


@shared_task(name="evaluation.impact_tasks.freeze_plan_on_award", **IMPACT_BOUNDED)
def freeze_plan_on_award(self, cohort_id: int, application_id: int | None = None) -> None:
    """An award: freeze the cohort's plan (the first award) and draw comparison schools for the
    schools not yet drawn. Idempotent: a second run draws nothing new."""
    impact_runs.freeze_on_award(cohort_id=cohort_id, application_id=application_id)


@shared_task(name="evaluation.impact_tasks.draw_plan", **IMPACT_BOUNDED)
def draw_plan(self, plan_id: int, reason: str) -> None:
    """Draw comparison schools under a plan version for every participant not yet drawn."""
    impact_plans.plan_draw_all(plan_id=plan_id, reason=reason)
