"""Cohort summaries: the Celery task that builds one, the nightly rebuild, and the
debounced trigger that data changes go through.

How a change becomes a rebuilt summary
--------------------------------------
1. A change (a membership, activity, feedback, application or payment saved or deleted;
   see evaluation/signals.py) calls `note_change`/`request_rebuild` inside the writer's
   transaction. That runs no query: it only records the cohort (or the row that leads to
   it) in one `_PendingRebuilds` callback per transaction, registered with
   `transaction.on_commit`. A rolled-back change therefore queues nothing.
2. After commit the callback resolves the cohorts and calls `queue_rebuild` for each:
   it marks `source_changed_at` (the dashboard's staleness flag) and, unless a rebuild is
   already queued and not yet started, marks the row queued and sends the task with a
   countdown of COHORT_SUMMARY_DEBOUNCE_SECONDS. Every change until the task starts finds
   it queued and sends nothing: a burst of changes gives one rebuild.
3. If the broker is down, sending fails with kombu's OperationalError: the change is
   already committed, the summary stays marked stale, the failure is logged and written to
   `CohortSummary.error`, and the row is left not-queued so that the next change, the
   "Rebuild now" button or the nightly `rebuild_open_cohorts` tries again.

The task computes the figures and writes them in one transaction (the row is locked only
for the write), so a worker killed half-way leaves the previous complete summary.
"""

import logging
from datetime import datetime, timedelta

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable

from evaluation import summaries
from evaluation.models import CohortSummary
from partnerships.models import Cohort

log = logging.getLogger(__name__)

# A queued rebuild that has not started after this long is presumed lost (the broker was
# flushed, say); the next change queues another instead of waiting for it forever.
QUEUED_EXPIRES = timedelta(minutes=15)
# Publishing to a broker that does not answer gives up quickly: the caller is a request.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.25, "interval_max": 0.5}

QUEUED = "queued"
ALREADY_QUEUED = "already_queued"
BROKER_DOWN = "broker_down"
NO_COHORT = "no_cohort"


def debounce_seconds() -> float:
    return float(getattr(settings, "COHORT_SUMMARY_DEBOUNCE_SECONDS", 5))


# --- The task -----------------------------------------------------------------------------


@shared_task(
    bind=True,
    name="evaluation.tasks.build_cohort_summary",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def build_cohort_summary(self, cohort_id: int) -> str | None:
    try:
        summary = build(cohort_id)
    except (OperationalError, InterfaceError) as exc:
        retrying = self.request.retries < self.max_retries
        _record_failure(cohort_id, f"Database error{', retrying' if retrying else ''}: {exc}", retrying)
        raise  # autoretry_for retries it with backoff
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
        CohortSummary.objects.filter(cohort_id=cohort_id).update(
            state=CohortSummary.State.QUEUED if retrying else CohortSummary.State.FAILED,
            error=message[:2000],
        )
    except Exception:  # the database itself may be what failed
        log.exception("Could not record the failed rebuild of cohort %s.", cohort_id)
    log.warning("Rebuilding the summary of cohort %s failed: %s", cohort_id, message)


@shared_task(
    name="evaluation.tasks.rebuild_open_cohorts",
    acks_late=True,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=30,
    max_retries=3,
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
        queue_rebuild(cohort_id, countdown=0, mark_changed=False)
    log.info("Nightly rebuild: queued %d cohort summaries.", len(cohort_ids))
    return len(cohort_ids)


# --- Queueing -------------------------------------------------------------------------------


def queue_rebuild(cohort_id: int, *, countdown: float | None = None, mark_changed: bool = True) -> str:
    """Queue a rebuild of one cohort's summary unless one is queued and not yet started.

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
            and summary.queued_at > now - QUEUED_EXPIRES
        )
        if pending:
            summary.save(update_fields=["source_changed_at"])
            return ALREADY_QUEUED
        previous_state = summary.state
        summary.state, summary.queued_at = CohortSummary.State.QUEUED, now
        summary.save(update_fields=["source_changed_at", "state", "queued_at"])

    if countdown is None:
        countdown = debounce_seconds()
    try:
        build_cohort_summary.apply_async(
            (cohort_id,), countdown=countdown, retry=True, retry_policy=PUBLISH_RETRY_POLICY
        )
    except BrokerUnavailable as exc:
        log.error("Could not queue the rebuild of cohort %s, broker unavailable: %s", cohort_id, exc)
        if previous_state == CohortSummary.State.QUEUED:  # a new row, or a lost queued rebuild
            previous_state = CohortSummary.State.READY if summary.built_at else CohortSummary.State.FAILED
        CohortSummary.objects.filter(pk=summary.pk, state=CohortSummary.State.QUEUED, queued_at=now).update(
            state=previous_state,
            queued_at=None,
            error=(
                f"The rebuild requested at {timezone.localtime(now):%d %b %Y %H:%M} could not be queued "
                "(the task broker did not answer). The next change or the nightly rebuild will retry."
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
