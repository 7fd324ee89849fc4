"""Impact evaluation (comparison groups, difference-in-differences), process evaluation and
360Giving exports, per cohort. Staff of the cohort's programme and admins only; pages read stored
results and never recompute the matching."""

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Max
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from clusters.models import Cluster
from evaluation import giving360, impact, impact_data, impact_plans, impact_runs, outcomes, process
from evaluation.impact_forms import PlanForm
from evaluation.impact_services import (
    comparison_groups_request,
    plan_amend_request,
    plan_freeze_request,
    planned_outcomes_with_data,
)
from evaluation.models import OUTCOME_CHOICES, AnalysisPlan, ComparisonGroup, OutcomeValue, PlanDraw
from partnerships.models import Partnership, School
from partnerships.selectors import cohorts_for
from portal.csvexport import csv_response
from portal.decorators import staff_required

OUTCOMES = [value for value, _ in OUTCOME_CHOICES]


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


def _plan_summary(plan) -> dict | None:
    """The plan in words, for the pages."""
    if plan is None:
        return None
    c = plan.content
    return {
        "plan": plan,
        "intact": impact_plans.plan_intact(plan) if plan.is_frozen else None,
        "primary": impact_data.outcome_label(c["primary_outcome"]),
        "secondary": [impact_data.outcome_label(o) for o in c.get("secondary_outcomes", [])],
        "window": c["window"],
        "matching": c["matching"],
        "robustness": c["robustness"],
        "estimator": c["estimator"],
        "pupil_sd": [
            (impact_data.outcome_label(o), sd)
            for o, sd in c.get("effect_size", {}).get("pupil_sd", {}).items()
        ],
    }


def _multiple_outcomes(groups, plan) -> None:
    """Mark each group primary or secondary under its plan version and give the secondary outcomes
    Holm-adjusted p-values (only among those estimated under the current frozen version)."""
    content = plan.content if plan else {}
    primary, secondary = content.get("primary_outcome"), content.get("secondary_outcomes", [])
    p_values = {}
    for g in groups:
        g.role = "primary" if g.measure == primary else ("secondary" if g.measure in secondary else "")
        g.same_plan = plan is not None and g.plan_id == plan.pk
        if g.role == "secondary" and g.same_plan and g.estimate.get("p_used") is not None:
            p_values[g.measure] = g.estimate["p_used"]
    adjusted = impact.holm(p_values)
    for g in groups:
        g.holm = adjusted.get(g.measure)
    return len(p_values)


def _detail(selected, cohort) -> None:
    """What the selected outcome's section needs beyond the stored row."""
    analysis = selected.analysis or {}
    selected.unit = impact_data.UNITS[selected.measure]
    kept = set(analysis.get("window", {}).get("kept", []))
    dropped = {d["year"]: d["reason"].split(":")[0] for d in analysis.get("window", {}).get("dropped", [])}
    if selected.trends:
        selected.trend_rows = [
            (year, t, c, dropped.get(year) if kept and year not in kept else None)
            for year, t, c in zip(
                selected.trends["years"],
                selected.trends["participants"],
                selected.trends["comparison"],
                strict=True,
            )
        ]
    variant_labels = dict(PlanDraw.Variant.choices)
    selected.draw_rows = [
        {**d, "variant_label": variant_labels.get(d["variant"], d["variant"])}
        for d in analysis.get("draws", [])
    ]
    schools = School.objects.in_bulk([row["school_id"] for row in selected.unmatched])
    for row in selected.unmatched:
        school = schools.get(row["school_id"])
        row["name"], row["urn"] = (school.name, school.urn) if school else ("(no longer in the register)", "")
    benchmarks = analysis.get("benchmarks") or []
    selected.benchmarks = benchmarks


def _sources(outcome: str, pairs) -> list[dict]:
    """Where the matched schools' values of the outcome come from: file, publication, how many
    values and when last imported (their predecessors' values included, as the panels use them)."""
    ids = {pair.participant_id for pair in pairs} | {pair.comparison_id for pair in pairs}
    if not ids:
        return []
    ids |= {old for olds in outcomes.predecessor_ids(ids).values() for old in olds}
    measures = impact_data.outcome_measures(outcome)
    return list(
        OutcomeValue.objects.filter(measure__in=measures, school_id__in=list(ids))
        .values("source", "publication", "is_synthetic")
        .annotate(values=Count("id"), latest=Max("imported_at"))
        .order_by("-latest", "source")
    )


@staff_required
def impact_cohort(request, cohort_id):
    cohort = _cohort(request, cohort_id)
    groups = list(ComparisonGroup.objects.filter(cohort=cohort).order_by("measure"))
    units = outcomes.participants(cohort)
    states = impact_runs.fingerprints(cohort, [g.measure for g in groups], units=units)
    plan = impact_plans.current_frozen(cohort)
    draft = impact_plans.current_plan(cohort) if plan is None else None
    for group in groups:
        group.label = impact_data.outcome_label(group.measure)
        group.inputs_changed = (
            group.state == ComparisonGroup.State.READY
            and states[group.measure][0] != group.inputs_fingerprint
        )
        group.plan_changed = group.state == ComparisonGroup.State.READY and (
            plan is None or group.plan_id != plan.pk
        )
    secondaries = _multiple_outcomes(groups, plan)
    groups.sort(key=lambda g: ({"primary": 0, "secondary": 1}.get(g.role, 2), g.label))
    wanted = request.GET.get("measure")
    if wanted is not None and wanted not in OUTCOMES:
        raise Http404("No such outcome measure.")
    ready = [g for g in groups if g.state == ComparisonGroup.State.READY and g.computed_at]
    selected = (
        next((g for g in groups if g.measure == wanted), None) if wanted else (ready[0] if ready else None)
    )
    pairs, chart, event_chart, sources = [], None, None, []
    if selected is not None:
        unit_names = _unit_names(cohort)
        pairs = list(
            selected.pairs.select_related("participant", "comparison").order_by("unit", "participant__name")
        )
        for pair in pairs:
            pair.unit_name = unit_names.get(pair.unit, pair.unit)
        sources = _sources(selected.measure, pairs)
        _detail(selected, cohort)
        if selected.trends:
            chart = {"label": selected.label, "synthetic": selected.uses_synthetic_data, **selected.trends}
        study = (selected.analysis or {}).get("event_study") or {}
        if study.get("rows"):
            event_chart = {
                "label": selected.label,
                "unit": selected.unit,
                "relative": [row["relative"] for row in study["rows"]],
                "years": [row["year"] for row in study["rows"]],
                "estimate": [row["estimate"] for row in study["rows"]],
                "low": [row["ci_low"] for row in study["rows"]],
                "high": [row["ci_high"] for row in study["rows"]],
            }
    primary_group = next((g for g in groups if g.role == "primary" and g.state == "ready"), None)
    context = {
        "cohort": cohort,
        "groups": groups,
        "selected": selected,
        "pairs": pairs,
        "sources": sources,
        "chart": chart,
        "event_chart": event_chart,
        "plan": _plan_summary(plan),
        "draft": draft,
        "secondaries_corrected": secondaries,
        "benchmarks": (primary_group or (ready[0] if ready else None)),
        "busy": any(g.is_busy for g in groups),
        "synthetic": any(g.uses_synthetic_data for g in groups),
        "has_data": bool(planned_outcomes_with_data(cohort, units=units)),
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
            "label": impact_data.outcome_label(g.measure),
            "state": g.state,
            "state_label": g.get_state_display(),
            "progress": g.progress,
            "note": g.progress_note,
            "computed_at": g.computed_at.isoformat() if g.computed_at else None,
        }
        for g in groups
    ]
    return JsonResponse({"busy": any(g["state"] in ("queued", "running") for g in data), "groups": data})


CSV_COLUMNS = [
    "outcome",
    "outcome_label",
    "role_in_plan",
    "estimate",
    "ci_low_95",
    "ci_high_95",
    "std_error",
    "p_value",
    "inference",
    "bootstrap_ci_low_95",
    "bootstrap_ci_high_95",
    "bootstrap_p_value",
    "holm_adjusted_p_value",
    "hedges_g_school_level",
    "pupil_effect_size",
    "months_progress_eef",
    "pre_trend_p_value",
    "unit",
    "schools",
    "participants",
    "comparison_schools",
    "clusters",
    "baseline_year",
    "years_compared",
    "plan_version",
    "plan_sha256",
    "synthetic_data",
    "computed_at",
    "reading",
]


@staff_required
def impact_estimates_csv(request, cohort_id):
    cohort = _cohort(request, cohort_id)
    groups = list(
        ComparisonGroup.objects.filter(cohort=cohort, state=ComparisonGroup.State.READY).order_by("measure")
    )
    plan = impact_plans.current_frozen(cohort)
    _multiple_outcomes(groups, plan)
    roles = {"primary": "primary", "secondary": "secondary", "": "not in the current plan"}
    rows = []
    for g in groups:
        e, a = g.estimate or {}, g.analysis or {}
        boot, size = a.get("bootstrap") or {}, a.get("effect_size") or {}
        pre = (a.get("event_study") or {}).get("pre_trend_test") or {}
        kept = a.get("window", {}).get("kept", [])
        rows.append(
            [
                g.measure,
                impact_data.outcome_label(g.measure),
                roles[g.role],
                *(_fmt(e.get(k)) for k in ("estimate", "ci_low", "ci_high", "std_error", "p_value")),
                {"wild_bootstrap": "wild cluster bootstrap", "cluster_robust": "cluster-robust t"}.get(
                    e.get("inference"), ""
                ),
                *(_fmt(boot.get(k)) for k in ("ci_low", "ci_high", "p_value")),
                _fmt(g.holm),
                _fmt(size.get("g")),
                _fmt(size.get("pupil_effect_size")),
                size.get("months", ""),
                _fmt(pre.get("p_value")),
                e.get("unit", ""),
                *(e.get(k, "") for k in ("schools", "participants", "comparison_schools", "clusters")),
                g.baseline_year,
                f"{kept[0]}-{kept[-1]}" if kept else "",
                g.plan_version or "",
                g.plan_hash,
                "yes" if g.uses_synthetic_data else "no",
                g.computed_at.isoformat() if g.computed_at else "",
                e.get("reading", g.error),
            ]
        )
    return csv_response(f"impact-estimates-cohort-{cohort.pk}.csv", CSV_COLUMNS, rows)


# --- The analysis plan -------------------------------------------------------------------------


@staff_required
def impact_plan(request, cohort_id):
    cohort = _cohort(request, cohort_id)
    versions = list(cohort.analysis_plans.select_related("created_by", "frozen_by").order_by("-version"))
    current = versions[0] if versions else None
    draws = []
    if current is not None:
        variant_labels = dict(PlanDraw.Variant.choices)
        for draw in current.draws.order_by("outcome", "variant", "sequence"):
            draw.outcome_label = impact_data.outcome_label(draw.outcome)
            draw.variant_label = variant_labels[draw.variant]
            draw.intact = impact_plans.draw_intact(draw)
            draws.append(draw)
    for version in versions:
        version.intact = impact_plans.plan_intact(version) if version.is_frozen else None
        version.summary = _plan_summary(version)
    form = PlanForm(plan=current or _default_plan(cohort))
    context = {
        "cohort": cohort,
        "versions": versions,
        "current": _plan_summary(current),
        "draws": draws,
        "form": form,
        "default": current is None,
    }
    return render(request, "evaluation/impact_plan.html", context)


def _default_plan(cohort):
    return AnalysisPlan(cohort=cohort, version=1, content=impact_plans.default_content(cohort))


@require_POST
@staff_required
def impact_plan_amend(request, cohort_id):
    cohort = _cohort(request, cohort_id)
    current = impact_plans.current_plan(cohort)
    base = current or _default_plan(cohort)
    form = PlanForm(request.POST, plan=base)
    if form.is_valid():
        try:
            plan = plan_amend_request(
                cohort_id=cohort.pk,
                by=request.user,
                content=form.content(base.content),
                reason=form.cleaned_data.get("reason", ""),
            )
        except PermissionDenied:
            raise Http404("No such cohort.") from None
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(None if field not in form.fields else field, errors)
        else:
            if plan.is_frozen:
                messages.success(
                    request, f"Version {plan.version} of the plan is frozen, dated today, with your reason."
                )
            else:
                messages.success(
                    request, "The draft plan is saved. It is frozen at the cohort's first award."
                )
            return redirect("evaluation:impact_plan", cohort_id=cohort.pk)
    versions = list(cohort.analysis_plans.order_by("-version"))
    context = {
        "cohort": cohort,
        "versions": versions,
        "current": _plan_summary(current),
        "draws": [],
        "form": form,
        "default": current is None,
    }
    return render(request, "evaluation/impact_plan.html", context, status=400)


@require_POST
@staff_required
def impact_plan_freeze(request, cohort_id):
    cohort = _cohort(request, cohort_id)
    before = impact_plans.current_frozen(cohort)
    try:
        plan = plan_freeze_request(cohort_id=cohort.pk, by=request.user)
    except PermissionDenied:
        raise Http404("No such cohort.") from None
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("evaluation:impact_plan", cohort_id=cohort.pk)
    if before is None:
        messages.success(
            request, f"Version {plan.version} of the plan is frozen; its comparison groups are being drawn."
        )
    else:
        messages.info(request, f"Version {plan.version} was already frozen; nothing changed.")
    return redirect("evaluation:impact_plan", cohort_id=cohort.pk)


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
        "dosage": process.school_dosage(cohort),
        "comment_themes": process.comment_themes(cohort),
        "csv_tables": PROCESS_CSV,
        "chart": {
            "labels": [u.name for u in figures["units"]],
            "delivered": [float(u.cpd_hours) for u in figures["units"]],
            "planned": [
                None if u.planned_hours is None else float(u.planned_hours) for u in figures["units"]
            ],
        },
        **figures,
    }
    return render(request, "evaluation/process_cohort.html", context)


PROCESS_CSV = {
    "delivery": "Delivery and reach",
    "schools": "Dosage per school",
    "feedback": "Ratings per partnership and cluster",
    "elements": "CPD elements ranked",
    "barriers": "Barriers",
    "facilitators": "Facilitators",
    "comment_themes": "Comments by theme",
}


@staff_required
def process_cohort_csv(request, cohort_id, table):
    """Each table of the process page as CSV: the same figures as the page."""
    cohort = _cohort(request, cohort_id)
    if table not in PROCESS_CSV:
        raise Http404("There is no such table.")
    figures = process.cohort_process(cohort)
    themes = process.comment_themes(cohort) if table == "comment_themes" else None
    _, header, rows = process.process_tables(figures, process.school_dosage(cohort), themes)[table]
    return csv_response(f"process-{cohort.pk}-{table}.csv", header, rows)


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
