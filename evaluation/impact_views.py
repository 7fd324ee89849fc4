"""Impact evaluation (comparison groups, difference-in-differences), process evaluation and
360Giving exports, per cohort. Staff of the cohort's programme and admins only; pages read stored
results and never recompute the matching."""

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from clusters.models import Cluster
from evaluation import giving360, outcomes, process
from evaluation.impact_services import comparison_groups_request
from evaluation.models import ComparisonGroup, Measure
from partnerships.models import Partnership, School
from partnerships.selectors import cohorts_for
from portal.csvexport import csv_response
from portal.decorators import staff_required


def _cohort(request, cohort_id):
    return get_object_or_404(cohorts_for(request.user), pk=cohort_id)


@staff_required
def impact_index(request):
    cohorts = (
        cohorts_for(request.user)
        .annotate(groups=Count("comparison_groups"))
        .order_by("programme__name", "-starts_on")
    )
    return render(request, "evaluation/impact_index.html", {"cohorts": cohorts})


def _unit_names(cohort) -> dict[str, str]:
    names = {
        f"partnership:{pk}": name
        for pk, name in Partnership.objects.filter(cohort=cohort).values_list("pk", "name")
    }
    names.update(
        {
            f"cluster:{pk}": name
            for pk, name in Cluster.objects.filter(cohort=cohort).values_list("pk", "name")
        }
    )
    return names


@staff_required
def impact_cohort(request, cohort_id):
    cohort = _cohort(request, cohort_id)
    groups = list(ComparisonGroup.objects.filter(cohort=cohort).order_by("measure"))
    units = outcomes.participants(cohort)
    states = outcomes.inputs_states(cohort, [g.measure for g in groups], units=units)
    for group in groups:
        group.label = outcomes.measure_label(group.measure)
        group.inputs_changed = (
            group.state == ComparisonGroup.State.READY
            and states[group.measure][0] != group.inputs_fingerprint
        )
    wanted = request.GET.get("measure")
    if wanted is not None and wanted not in Measure.values:
        raise Http404("No such outcome measure.")
    ready = [g for g in groups if g.state == ComparisonGroup.State.READY and g.computed_at]
    selected = (
        next((g for g in groups if g.measure == wanted), None) if wanted else (ready[0] if ready else None)
    )
    pairs = []
    if selected is not None:
        unit_names = _unit_names(cohort)
        pairs = list(
            selected.pairs.select_related("participant", "comparison").order_by("unit", "participant__name")
        )
        for pair in pairs:
            pair.unit_name = unit_names.get(pair.unit, pair.unit)
        selected.unit = outcomes.MEASURE_UNITS[selected.measure]
        schools = School.objects.in_bulk([row["school_id"] for row in selected.unmatched])
        for row in selected.unmatched:
            school = schools.get(row["school_id"])
            row["name"], row["urn"] = (
                (school.name, school.urn) if school else ("(no longer in the register)", "")
            )
    chart = None
    if selected is not None and selected.trends:
        chart = {"label": selected.label, "synthetic": selected.uses_synthetic_data, **selected.trends}
        selected.trend_rows = list(
            zip(
                selected.trends["years"],
                selected.trends["participants"],
                selected.trends["comparison"],
                strict=True,
            )
        )
    context = {
        "cohort": cohort,
        "groups": groups,
        "selected": selected,
        "pairs": pairs,
        "chart": chart,
        "busy": any(g.is_busy for g in groups),
        "synthetic": any(g.uses_synthetic_data for g in groups),
        "has_data": bool(outcomes.measures_with_data(cohort, units=units)),
    }
    return render(request, "evaluation/impact_cohort.html", context)


@require_POST
@staff_required
def impact_compute(request, cohort_id):
    cohort = _cohort(request, cohort_id)
    try:
        queued = comparison_groups_request(cohort_id=cohort.pk, by=request.user)
    except PermissionDenied:
        raise Http404("No such cohort.") from None
    if queued:
        messages.success(
            request, f"Computing {len(queued)} comparison group(s); this page shows their progress."
        )
    else:
        messages.info(request, "Nothing to compute: no outcome data for this cohort, or already in progress.")
    return redirect("evaluation:impact_cohort", cohort_id=cohort.pk)


@never_cache
@staff_required
def impact_status(request, cohort_id):
    cohort = _cohort(request, cohort_id)
    groups = ComparisonGroup.objects.filter(cohort=cohort).order_by("measure")
    data = [
        {
            "measure": g.measure,
            "state": g.state,
            "progress": g.progress,
            "note": g.progress_note,
            "computed_at": g.computed_at.isoformat() if g.computed_at else None,
        }
        for g in groups
    ]
    return JsonResponse({"busy": any(g["state"] in ("queued", "running") for g in data), "groups": data})


@staff_required
def impact_estimates_csv(request, cohort_id):
    cohort = _cohort(request, cohort_id)
    header = [
        "measure",
        "measure_label",
        "estimate",
        "ci_low_95",
        "ci_high_95",
        "std_error",
        "p_value",
        "unit",
        "schools",
        "participants",
        "comparison_schools",
        "clusters",
        "baseline_year",
        "synthetic_data",
        "computed_at",
        "reading",
    ]
    rows = []
    for g in ComparisonGroup.objects.filter(cohort=cohort, state=ComparisonGroup.State.READY).order_by(
        "measure"
    ):
        e = g.estimate or {}
        rows.append(
            [
                g.measure,
                outcomes.measure_label(g.measure),
                *(_fmt(e.get(k)) for k in ("estimate", "ci_low", "ci_high", "std_error", "p_value")),
                e.get("unit", ""),
                *(e.get(k, "") for k in ("schools", "participants", "comparison_schools", "clusters")),
                g.baseline_year,
                "yes" if g.uses_synthetic_data else "no",
                g.computed_at.isoformat() if g.computed_at else "",
                e.get("reading", g.error),
            ]
        )
    return csv_response(f"impact-estimates-cohort-{cohort.pk}.csv", header, rows)


def _fmt(value):
    return "" if value is None else f"{value:.4f}"


@staff_required
def process_cohort(request, cohort_id):
    cohort = _cohort(request, cohort_id)
    figures = process.cohort_process(cohort)
    context = {
        "cohort": cohort,
        "elements": process.ELEMENTS.values(),
        "rankings": [
            (f"{cohort.programme.name}, all cohorts", figures["programme_ranking"]),
            (f"This cohort ({cohort.name})", figures["cohort_ranking"]),
        ],
        "tag_tables": [("Barriers", figures["barriers"]), ("Facilitators", figures["facilitators"])],
        **figures,
    }
    return render(request, "evaluation/process_cohort.html", context)


def _grants(request, cohort_id) -> tuple:
    cohort = _cohort(request, cohort_id)
    applications = list(giving360.awarded_applications(cohort_id=cohort.pk))
    if not applications:
        raise Http404("No awarded grants in this cohort yet.")
    return cohort, applications


@staff_required
def export_360giving_json(request, cohort_id):
    cohort, applications = _grants(request, cohort_id)
    body = json.dumps(giving360.package(applications), indent=2, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="360giving-cohort-{cohort.pk}-{stamp}.json"'
    return response


@staff_required
def export_360giving_xlsx(request, cohort_id):
    """The same grants as a spreadsheet for people: every cell is stored as text, so no value is
    ever evaluated as a formula (docs/evaluation.md, "360Giving")."""
    cohort, applications = _grants(request, cohort_id)
    body = giving360.as_xlsx([giving360.grant(a) for a in applications])
    response = HttpResponse(body, content_type=giving360.XLSX_CONTENT_TYPE)
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="360giving-cohort-{cohort.pk}-{stamp}.xlsx"'
    return response
