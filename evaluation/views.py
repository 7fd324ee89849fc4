"""Dashboards: programmes → cohorts → a cohort's summary (cards, charts, tables), its
partnerships, a rebuild button with a status endpoint, and CSV export of every table.

The cohort page reads only the stored CohortSummary row (fetched with the cohort), so its
query count does not grow with the cohort. Admins see every programme; programme staff see
their own (partnerships.selectors); anything else is a 404.
"""

import logging

from django.contrib import messages
from django.core.paginator import InvalidPage, Paginator
from django.db.models import Count, Prefetch, Q
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from evaluation import impact_data, tasks
from evaluation.models import CohortSummary
from evaluation.summaries import chart_data, summary_tables
from partnerships.models import Cohort, Membership
from partnerships.selectors import cohorts_for, partnerships_for, programmes_for
from portal.csvexport import csv_response
from portal.decorators import staff_required
from portal.pagecache import page_cache

log = logging.getLogger(__name__)

PARTNERSHIPS_PER_PAGE = 50
# A rebuild "running" for longer than this has most likely lost its worker.
RUNNING_STALLS_AFTER_SECONDS = 600


def _summary_of(cohort: Cohort) -> CohortSummary | None:
    try:
        return cohort.summary  # fetched with select_related: no query
    except CohortSummary.DoesNotExist:
        return None


def _status(summary: CohortSummary | None) -> dict:
    """What the page and the status endpoint say about a summary's freshness and progress."""
    if summary is None:
        return {"state": "missing", "label": "Not built yet", "built_at": None, "stale": True, "busy": False}
    stale = summary.built_at is None or bool(
        summary.source_changed_at and summary.source_changed_at > summary.built_at
    )
    busy = summary.state in (CohortSummary.State.QUEUED, CohortSummary.State.RUNNING) and (
        summary.queued_at is not None or summary.state == CohortSummary.State.RUNNING
    )
    label = summary.get_state_display()
    if summary.state == CohortSummary.State.QUEUED and summary.queued_at is None:
        busy, label = False, "Not built yet" if summary.built_at is None else "Ready"
    if (
        summary.state == CohortSummary.State.RUNNING
        and summary.started_at
        and (timezone.now() - summary.started_at).total_seconds() > RUNNING_STALLS_AFTER_SECONDS
    ):
        label = "Running for a long time (the worker may have stopped)"
    return {
        "state": summary.state,
        "label": label,
        "busy": busy,
        "stale": stale,
        "built_at": summary.built_at.isoformat() if summary.built_at else None,
        "queued_at": summary.queued_at.isoformat() if summary.queued_at else None,
        "started_at": summary.started_at.isoformat() if summary.started_at else None,
        "source_changed_at": summary.source_changed_at.isoformat() if summary.source_changed_at else None,
        "error": summary.error,
    }


def _cohort_or_404(request, pk: int) -> Cohort:
    return get_object_or_404(cohorts_for(request.user).select_related("summary"), pk=pk)


@page_cache
@staff_required
def dashboard(request):
    """Programmes the user may see, each with its cohorts."""
    programmes = programmes_for(request.user).prefetch_related(
        Prefetch("cohorts", queryset=Cohort.objects.select_related("summary"))
    )
    return render(request, "evaluation/dashboard.html", {"programmes": programmes})


@staff_required
def programme_dashboard(request, pk: int):
    programme = get_object_or_404(programmes_for(request.user), pk=pk)
    cohorts = [
        (cohort, _summary_of(cohort), _status(_summary_of(cohort)))
        for cohort in programme.cohorts.select_related("summary")
    ]
    return render(request, "evaluation/programme.html", {"programme": programme, "cohorts": cohorts})


@page_cache
@staff_required
def cohort_dashboard(request, pk: int):
    cohort = _cohort_or_404(request, pk)
    summary = _summary_of(cohort)
    data = summary.data if summary and summary.built_at else {}
    tables = summary_tables(data)
    chart_names = ["phase", "money", "activities_by_month", "region"]
    return render(
        request,
        "evaluation/cohort.html",
        {
            "cohort": cohort,
            "summary": summary,
            "data": data,
            "status": _status(summary),
            "chart_tables": [tables[name] for name in chart_names],
            "other_tables": [table for name, table in tables.items() if name not in chart_names],
            "charts": chart_data(data),
            "benchmarks": impact_data.stored_benchmarks(cohort),  # issue 22: one query
        },
    )


@never_cache
@require_GET
@staff_required
def cohort_status(request, pk: int):
    """JSON for the page's progress poll: state, built_at, staleness, error."""
    cohort = _cohort_or_404(request, pk)
    return JsonResponse(_status(_summary_of(cohort)))


@require_POST
@staff_required
def cohort_rebuild(request, pk: int):
    cohort = _cohort_or_404(request, pk)
    try:
        outcome = tasks.queue_rebuild(cohort.pk, mark_changed=False, force=True)
    except Exception:  # with eager tasks (no broker configured) the build runs here
        log.exception("Rebuild of cohort %s failed", cohort.pk)
        outcome = "failed"
    text = {
        tasks.QUEUED: "A rebuild of this cohort's summary has been queued.",
        tasks.ALREADY_QUEUED: "A rebuild is already queued; it will include every change so far.",
        tasks.BROKER_DOWN: "The rebuild could not be queued: the task queue is not answering. "
        "Try again later; the nightly rebuild will also pick it up.",
        "failed": "The rebuild failed; the previous figures are still shown.",
    }[outcome]
    ok = outcome in (tasks.QUEUED, tasks.ALREADY_QUEUED)
    if "application/json" in request.headers.get("Accept", ""):
        summary = CohortSummary.objects.filter(cohort=cohort).first()
        return JsonResponse({"message": text, **_status(summary)}, status=202 if ok else 503)
    (messages.success if ok else messages.error)(request, text)
    return redirect("evaluation:cohort", pk=cohort.pk)


@staff_required
def cohort_partnerships(request, pk: int):
    """Drill-down: the cohort's partnerships, paginated (live data, not the summary)."""
    cohort = _cohort_or_404(request, pk)
    partnerships = _partnership_rows(request, cohort)
    paginator = Paginator(partnerships, PARTNERSHIPS_PER_PAGE)
    try:
        page = paginator.page(request.GET.get("page", 1))
    except InvalidPage:
        raise Http404("There is no such page of partnerships.") from None
    return render(request, "evaluation/cohort_partnerships.html", {"cohort": cohort, "page": page})


def _partnership_rows(request, cohort):
    return (
        partnerships_for(request.user)
        .filter(cohort=cohort)
        .select_related("lead_school", "application")
        .annotate(
            confirmed_schools=Count("memberships", filter=Q(memberships__status=Membership.Status.CONFIRMED))
        )
        .order_by("name", "pk")
    )


@staff_required
def cohort_export(request, pk: int, table: str):
    """One table of the cohort page as CSV (`partnerships` exports the drill-down list)."""
    cohort = _cohort_or_404(request, pk)
    if table == "partnerships":
        headers = ["Partnership", "Lead school", "Lead URN", "Status", "Confirmed schools", "Awarded (£)"]
        rows = (
            [
                p.name,
                p.lead_school.name,
                p.lead_school.urn,
                p.get_status_display(),
                p.confirmed_schools,
                getattr(getattr(p, "application", None), "awarded", None) or "",
            ]
            for p in _partnership_rows(request, cohort).iterator(chunk_size=500)
        )
    else:
        summary = _summary_of(cohort)
        tables = summary_tables(summary.data if summary and summary.built_at else {})
        if table not in tables:
            raise Http404(f"There is no table called {table!r}.")
        headers, rows = tables[table].headers, tables[table].csv_rows
    return csv_response(f"cohort-{cohort.pk}-{table}.csv", headers, rows)
