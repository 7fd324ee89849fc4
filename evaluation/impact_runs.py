"""The computations behind the impact page, run by the Celery tasks in evaluation.tasks
(never inside a request): freezing a plan at an award and drawing its comparison groups, and
estimating one outcome under the cohort's frozen plan. Results are stored on ComparisonGroup
(and MatchedPair); pages only read them.

Import direction: impact_services → tasks → impact_runs → impact_plans, impact_data,
impact, matching, outcomes (no cycle)."""

import hashlib
import logging

import pandas as pd
from django.db import transaction
from django.utils import timezone

from evaluation import impact, impact_data, impact_plans, matching, outcomes
from evaluation.models import AnalysisPlan, ComparisonGroup, MatchedPair, OutcomeValue, PlanDraw
from grants.models import Application
from partnerships.models import Cohort

log = logging.getLogger(__name__)
V = PlanDraw.Variant
LATE_DRAW = "drawn after freezing, when estimates were computed"
ROBUSTNESS = [
    ("main", "Main estimate (as planned)"),
    ("school_fixed_effects", "School fixed effects"),
    ("balanced_panel", "Balanced panel: schools observed in every year"),
    (V.TWO_PRE_YEARS, "Matched on two pre-programme years"),
    (V.CALIPER_NARROW, "Narrower caliper"),
    (V.CALIPER_WIDE, "Wider caliper"),
]


def _progress(group_id: int, percent: int, note: str) -> None:
    ComparisonGroup.objects.filter(pk=group_id).update(progress=min(percent, 100), progress_note=note[:200])


# --- Freezing at the award -----------------------------------------------------------------


def freeze_on_award(*, cohort_id: int, application_id: int | None = None) -> AnalysisPlan | None:
    """An award came in: freeze the cohort's plan if it is not yet frozen (the first award), then
    draw comparison schools for every participant not yet drawn (the schools of this award)."""
    if not Cohort.objects.filter(pk=cohort_id).exists():
        return None
    reference = (
        Application.objects.filter(pk=application_id).values_list("reference", flat=True).first()
        if application_id
        else None
    )
    plan = impact_plans.current_frozen(Cohort(pk=cohort_id))
    if plan is None:
        plan = impact_plans.plan_freeze(
            cohort_id=cohort_id, by=None, because=f"first award{f' ({reference})' if reference else ''}"
        )
        reason = "drawn at freezing (first award)"
    else:
        reason = f"schools awarded after freezing{f' ({reference})' if reference else ''}"
    impact_plans.plan_draw_all(plan_id=plan.pk, reason=reason)
    return plan


# --- One outcome under the plan --------------------------------------------------------------


def fingerprints(cohort: Cohort, outcome_list: list[str], *, units: dict[int, str]) -> dict:
    """outcome → (fingerprint, latest change) of its inputs (the gap: both of its measures)."""
    measures = sorted({m for o in outcome_list for m in impact_data.outcome_measures(o)})
    states = outcomes.inputs_states(cohort, measures, units=units)
    result = {}
    for outcome in outcome_list:
        parts = [states[m] for m in impact_data.outcome_measures(outcome)]
        if len(parts) == 1:
            result[outcome] = parts[0]
        else:
            joined = "|".join(p[0] for p in parts)
            latest = max((p[1] for p in parts if p[1] is not None), default=None)
            result[outcome] = (hashlib.sha256(joined.encode()).hexdigest(), latest)
    return result


def _window(content: dict, base: int, outcome: str, years: list[int]) -> dict:
    window = content["window"]
    span = list(range(base - window["years_before"] + 1, base + window["years_after"] + 1))
    kept, dropped = impact.comparable_years(outcome, baseline=base, years=sorted(set(span) | set(years)))
    outside = [y for y in kept if y not in span]
    kept = [y for y in kept if y in span]
    dropped += [{"year": y, "reason": "outside the plan's analysis window"} for y in outside]
    return {"span": [span[0], span[-1]], "kept": kept, "dropped": sorted(dropped, key=lambda d: d["year"])}


def _row(key: str, label: str, panel: pd.DataFrame, **kwargs) -> dict:
    try:
        fit = impact.did_estimate(panel, **kwargs)
    except impact.NotEstimable as exc:
        return {"key": key, "label": label, "error": str(exc)}
    return {"key": key, "label": label, **fit.as_dict()}


def comparison_group_compute(*, group_id: int) -> ComparisonGroup:
    """Estimate one outcome of the cohort under its frozen plan (freezing the draft first if
    nobody has) and store everything the page shows. Idempotent: running again replaces it."""
    group = ComparisonGroup.objects.select_related("cohort").get(pk=group_id)
    ComparisonGroup.objects.filter(pk=group_id).update(
        state=ComparisonGroup.State.RUNNING, started_at=timezone.now(), error=""
    )
    cohort, outcome = group.cohort, group.measure
    _progress(group_id, 5, "Reading the analysis plan")
    plan = impact_plans.current_frozen(cohort) or impact_plans.plan_freeze(
        cohort_id=cohort.pk, by=None, because="estimates were asked for before anyone froze the plan"
    )
    content = plan.content
    units = outcomes.participants(cohort)
    fingerprint, changed_at = fingerprints(cohort, [outcome], units=units)[outcome]
    base = outcomes.baseline_year(cohort)
    cache = {}  # the matching frame is read once for every draw and the balance table
    frame, _years = impact_data.matching_frame(cohort, outcome, units=units, cache=cache)
    if not frame["treated"].any():
        raise impact.NotEstimable("No participating school reports this measure.")
    for step, variant in enumerate(impact_plans.variants(content)):
        _progress(group_id, 10 + 10 * step, "Drawing comparison schools for participants not yet drawn")
        impact_plans.plan_draw(
            plan=plan, outcome=outcome, variant=variant, units=units, reason=LATE_DRAW, cache=cache
        )
    draws = list(plan.draws.filter(outcome=outcome).order_by("variant", "sequence"))
    pairs_of = {
        variant: impact_plans.drawn_pairs(plan, outcome, variant, units=units)
        for variant in impact_plans.variants(content)
    }
    pairs = pairs_of[V.MAIN]
    _progress(group_id, 55, "Estimating the difference in differences")
    full = impact_data.did_panel(outcome, pairs=pairs, units=units, baseline=base)
    window = _window(content, base, outcome, sorted(full["year"].unique().tolist()) if len(full) else [])
    panel = full[full["year"].isin(window["kept"])]
    estimator = content["estimator"]
    unit = impact_data.UNITS[outcome]
    label = impact_data.outcome_label(outcome)
    lower_is_better = outcome in impact_data.LOWER_IS_BETTER
    estimate, error, analysis = {}, "", {"window": window}
    try:
        fit = impact.did_estimate(panel)
        estimate = {**fit.as_dict(), "unit": unit, "inference": "cluster_robust"}
        if fit.clusters < estimator["wild_bootstrap_below_clusters"]:
            _progress(group_id, 65, f"Wild cluster bootstrap ({fit.clusters} clusters)")
            boot = impact.wild_cluster_bootstrap(
                panel, replications=estimator["bootstrap_replications"], seed=estimator["bootstrap_seed"]
            )
            analysis["bootstrap"] = boot
            if boot["ci_low"] is not None and boot["ci_high"] is not None:
                estimate["inference"] = "wild_bootstrap"
        used = analysis.get("bootstrap") if estimate["inference"] == "wild_bootstrap" else None
        estimate["p_used"] = used["p_value"] if used else estimate["p_value"]
        shown = {**estimate, **({"ci_low": used["ci_low"], "ci_high": used["ci_high"]} if used else {})}
        estimate["reading"] = impact.reading(
            shown, measure_label=label, unit=unit, lower_is_better=lower_is_better
        )
        estimate["ci_used"] = [shown["ci_low"], shown["ci_high"]]
        pupil_sd = content.get("effect_size", {}).get("pupil_sd", {}).get(outcome)
        analysis["effect_size"] = impact.hedges_g(estimate, panel, baseline=base, pupil_sd=pupil_sd)
    except impact.NotEstimable as exc:
        error = f"No estimate: {exc}"
    _progress(group_id, 75, "Event study and robustness")
    try:
        analysis["event_study"] = impact.event_study(panel, baseline=base)
    except impact.NotEstimable as exc:
        analysis["event_study"] = {"error": str(exc)}
    rows = []
    for key, row_label in ROBUSTNESS:
        if key == "main":
            rows.append(_row(key, row_label, panel))
        elif key == "school_fixed_effects":
            rows.append(_row(key, row_label, panel, school_effects=True))
        elif key == "balanced_panel":
            rows.append(_row(key, row_label, impact.balanced(panel)))
        else:
            other = impact_data.did_panel(outcome, pairs=pairs_of[key], units=units, baseline=base)
            rows.append(_row(key, row_label, other[other["year"].isin(window["kept"])]))
    spec = impact_plans.variants(content)
    for row in rows:
        if row["key"] in spec:
            row["spec"] = spec[row["key"]]
    analysis["robustness"] = rows
    analysis["attrition"] = impact.attrition(
        panel, matched={1: len(pairs), 0: len(pairs)}, years=window["kept"]
    )
    _progress(group_id, 85, "Dose and response, benchmarks")
    doses = impact_data.cpd_doses(cohort, units)
    try:
        analysis["dose"] = impact.dose_response(panel, {s: d["hours"] for s, d in doses.items()})
    except impact.NotEstimable as exc:
        analysis["dose"] = {"error": str(exc)}
    comparison_ids = {p["comparison"] for p in pairs}
    latest = max(window["kept"]) if window["kept"] else base
    if outcome == content["primary_outcome"]:  # cohort-wide figures: once, with the primary outcome
        analysis["benchmarks"] = [
            impact_data.benchmarks(cohort, units=units, comparison_ids=comparison_ids, year=year)
            for year in sorted({base, latest})
        ]
    analysis["draws"] = [
        {
            "variant": d.variant,
            "sequence": d.sequence,
            "drawn_at": d.drawn_at.isoformat(),
            "reason": d.reason,
            "pairs": len(d.pairs),
            "pre_years": d.pre_years,
            "post_values_at_draw": d.post_values_at_draw,
            "content_hash": d.content_hash,
            "intact": impact_plans.draw_intact(d),
        }
        for d in draws
    ]
    main_draws = [d for d in draws if d.variant == V.MAIN]
    matched = {p["participant"] for p in pairs}
    unmatched = [
        u
        for d in main_draws
        for u in d.unmatched
        if u["school_id"] in units and u["school_id"] not in matched
    ]
    full_frame, _ = impact_data.matching_frame(cohort, outcome, units=units, cache=cache)
    balance = (
        matching.balance_table(
            full_frame[full_frame["baseline"].notna()],
            matched_participants=list(matched),
            comparison_ids=list(comparison_ids),
        )
        if len(full_frame)
        else []
    )
    method = {
        **(main_draws[0].method if main_draws else {}),
        "participants": int(frame["treated"].sum()),
        "candidates": int((~frame["treated"]).sum()),
        "matched": len(pairs),
    }
    matched_ids = [*matched, *comparison_ids]
    synthetic = OutcomeValue.objects.filter(
        measure__in=impact_data.outcome_measures(outcome), school_id__in=matched_ids, is_synthetic=True
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
                for pair in pairs
            ],
            batch_size=1000,
        )
        group.baseline_year = base
        group.method = method
        group.balance = balance
        group.unmatched = unmatched
        group.estimate = estimate
        group.trends = impact.group_trends(full) if len(full) else {}
        group.analysis = analysis
        group.plan, group.plan_version, group.plan_hash = plan, plan.version, plan.content_hash
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
