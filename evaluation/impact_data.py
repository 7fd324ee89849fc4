"""Data for the analyses under a plan: outcome labels and units (the disadvantaged gap among them),
matching frames with one or two pre-programme years, panels, the CPD dose of each school and the
benchmark figures. Reads the database in a few queries; the statistics are in evaluation.impact.

The panels come from evaluation.outcomes (so a change there, such as following a school across an
academy conversion, reaches every analysis); the gap is derived here from its two measures.
"""

from collections import defaultdict

import pandas as pd
from django.db.models import Avg, Count, Q

from clusters.models import CPDActivity
from evaluation import outcomes
from evaluation.models import GAP, GAP_LABEL, MEASURE_PHASES, ComparisonGroup, Measure, OutcomeValue
from partnerships.models import Cohort, Funding, School

GAP_PARTS = (Measure.KS4_ATTAINMENT8_OTHER, Measure.KS4_ATTAINMENT8_DISADVANTAGED)
UNITS = {**outcomes.MEASURE_UNITS, GAP: "points"}
UNITS.setdefault(Measure.KS4_ATTAINMENT8_DISADVANTAGED, "points")
UNITS.setdefault(Measure.KS4_ATTAINMENT8_OTHER, "points")
LOWER_IS_BETTER = {GAP}
# Benchmarks: attainment (the headline measure of each phase) and retention, beside % FSM.
BENCHMARK_MEASURES = (Measure.KS2_RWM_EXPECTED, Measure.KS4_ATTAINMENT8, Measure.STEM_TEACHER_RETENTION)


def outcome_label(outcome: str) -> str:
    return GAP_LABEL if outcome == GAP else Measure(outcome).label


def outcome_measures(outcome: str) -> tuple[str, ...]:
    """The stored measures an outcome is computed from."""
    return GAP_PARTS if outcome == GAP else (outcome,)


def outcome_phases(outcome: str) -> tuple[str, ...]:
    return MEASURE_PHASES[outcome_measures(outcome)[0]]


def values(outcome: str, *, school_ids, years=None) -> dict[tuple[int, int], float]:
    """(school, year) → value (a converter carrying its predecessor's values); for the gap, other
    pupils' minus disadvantaged pupils' Attainment 8 where a school has both."""
    rows = outcomes.outcome_rows(outcome_measures(outcome), school_ids=list(school_ids), years=years)
    by_measure = defaultdict(dict)
    for school_id, year, measure, value in rows:
        by_measure[measure][(school_id, year)] = float(value)
    if outcome != GAP:
        return by_measure[outcome]
    other, disadvantaged = (by_measure[m] for m in GAP_PARTS)
    return {key: other[key] - disadvantaged[key] for key in other.keys() & disadvantaged.keys()}


def matching_frame(
    cohort: Cohort,
    outcome: str,
    *,
    units: dict[int, str],
    participants: set[int] | None = None,
    exclude: set[int] = frozenset(),
    pre_years: int = 1,
    cache: dict | None = None,
) -> tuple[pd.DataFrame, list[int]]:
    """The frame for evaluation.matching: `participants` (default all) and the candidates not in
    `exclude` (comparison schools already drawn), with the outcome in the baseline year (and the
    year before it, as `baseline_2`, when matching on two years). Returns the frame and the years."""
    base = outcomes.baseline_year(cohort)
    years = [base - k for k in range(pre_years)]
    measure = outcome_measures(outcome)[0]
    key = ("frame", cohort.pk, measure)
    if cache is not None and key in cache:
        frame = cache[key].copy()
    else:
        frame = outcomes.matching_frame(cohort, measure, units=units)
        if cache is not None:
            cache[key] = frame.copy()
    if participants is not None:
        frame = frame[~frame["treated"] | frame["school_id"].isin(participants)]
    frame = frame[frame["treated"] | ~frame["school_id"].isin(exclude)].reset_index(drop=True)
    if outcome == GAP or pre_years > 1:
        vkey = ("values", cohort.pk, outcome, tuple(years))
        if cache is not None and vkey in cache:
            found = cache[vkey]
        else:
            found = values(outcome, school_ids=frame["school_id"].tolist(), years=years)
            if cache is not None:
                cache[vkey] = found
        for k, year in enumerate(years):
            column = "baseline" if k == 0 else f"baseline_{k + 1}"
            frame[column] = [found.get((int(school), year)) for school in frame["school_id"]]
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame, years


def did_panel(outcome: str, *, pairs: list[dict], units: dict[int, str], baseline: int) -> pd.DataFrame:
    if outcome != GAP:
        return outcomes.did_panel(outcome, pairs=pairs, units=units, baseline=baseline)
    other, disadvantaged = (
        outcomes.did_panel(m, pairs=pairs, units=units, baseline=baseline) for m in GAP_PARTS
    )
    merged = other.merge(
        disadvantaged[["school_id", "year", "value"]], on=["school_id", "year"], suffixes=("", "_d")
    )
    merged["value"] = merged["value"] - merged["value_d"]
    return merged.drop(columns=["value_d"])


def post_values(cohort: Cohort, measures, *, school_ids) -> int:
    """How many post-programme outcome values of these schools are in the portal now: 0 means an
    analysis decided now cannot have been steered by the results."""
    return OutcomeValue.objects.filter(
        school_id__in=list(school_ids), measure__in=list(measures), year__gt=outcomes.baseline_year(cohort)
    ).count()


def cpd_doses(cohort: Cohort, units: dict[int, str]) -> dict[int, dict]:
    """Teacher-CPD delivered to each participating school by its partnership or cluster: hours of
    the activities it took part in, and teacher-hours (hours × teachers reached, shared equally
    among the schools taking part). An activity that lists no schools counts for every school of
    its partnership or cluster. Three queries."""
    partnership_ids = [int(u.split(":")[1]) for u in set(units.values()) if u.startswith("partnership:")]
    cluster_ids = [int(u.split(":")[1]) for u in set(units.values()) if u.startswith("cluster:")]
    activities = list(
        CPDActivity.objects.filter(kind=CPDActivity.Kind.TEACHER_CPD)
        .filter(Q(partnership_id__in=partnership_ids) | Q(cluster_id__in=cluster_ids))
        .values("id", "partnership_id", "cluster_id", "hours", "teachers_reached")
    )
    taking_part = defaultdict(list)
    through = CPDActivity.schools.through.objects.filter(cpdactivity_id__in=[a["id"] for a in activities])
    for activity_id, school_id in through.values_list("cpdactivity_id", "school_id"):
        taking_part[activity_id].append(school_id)
    members = defaultdict(list)
    for school, unit in units.items():
        members[unit].append(school)
    doses = {school: {"hours": 0.0, "teacher_hours": 0.0, "activities": 0} for school in units}
    for activity in activities:
        unit = (
            f"partnership:{activity['partnership_id']}"
            if activity["partnership_id"]
            else f"cluster:{activity['cluster_id']}"
        )
        schools = [s for s in taking_part.get(activity["id"], []) if s in doses] or members[unit]
        hours = float(activity["hours"])
        for school in schools:
            doses[school]["hours"] += hours
            doses[school]["teacher_hours"] += hours * activity["teachers_reached"] / len(schools)
            doses[school]["activities"] += 1
    return doses


def benchmarks(cohort: Cohort, *, units: dict[int, str], comparison_ids: set[int], year: int) -> dict:
    """% FSM, attainment and STEM teacher retention in `year` for the cohort's schools, their
    comparison schools, all schools of the cohort's local authorities, and every school in the
    register with a value (national). Means of school figures, unweighted; n beside each."""
    cohort_ids = set(units)
    las = sorted(
        {
            la
            for la in School.objects.filter(id__in=cohort_ids).values_list("local_authority", flat=True)
            if la
        }
    )
    state = School.objects.filter(is_open=True, funding=Funding.STATE)
    groups = {
        "cohort": School.objects.filter(id__in=cohort_ids),
        "comparison": School.objects.filter(id__in=comparison_ids),
        "local_authorities": state.filter(local_authority__in=las),
        "national": state,
    }
    rows = []
    fsm = {
        name: schools.aggregate(mean=Avg("fsm_percent"), n=Count("fsm_percent"))
        for name, schools in groups.items()
    }
    rows.append({"measure": "fsm", "label": "% eligible for free school meals (register)", **_cells(fsm)})
    for measure in BENCHMARK_MEASURES:
        figures = {
            name: OutcomeValue.objects.filter(measure=measure, year=year, school__in=schools).aggregate(
                mean=Avg("value"), n=Count("id")
            )
            for name, schools in groups.items()
        }
        if figures["cohort"]["n"]:
            rows.append({"measure": measure, "label": Measure(measure).label, **_cells(figures)})
    by_la = []
    if las:
        counts = (
            School.objects.filter(id__in=cohort_ids, local_authority__in=las)
            .values("local_authority")
            .annotate(n=Count("id"), fsm=Avg("fsm_percent"))
        )
        la_fsm = dict(
            state.filter(local_authority__in=las)
            .values("local_authority")
            .annotate(fsm=Avg("fsm_percent"))
            .values_list("local_authority", "fsm")
        )
        for row in counts.order_by("local_authority"):
            by_la.append(
                {
                    "local_authority": row["local_authority"],
                    "cohort_schools": row["n"],
                    "cohort_fsm": _number(row["fsm"]),
                    "la_fsm": _number(la_fsm.get(row["local_authority"])),
                }
            )
    return {"year": year, "rows": rows, "local_authorities": by_la}


def _cells(figures: dict) -> dict:
    return {name: {"mean": _number(f["mean"]), "n": f["n"]} for name, f in figures.items()}


def _number(value):
    return None if value is None else round(float(value), 2)


def stored_benchmarks(cohort: Cohort) -> list[dict]:
    """The benchmarks stored with the cohort's latest estimate that has them (one query), for the
    cohort dashboard."""
    group = (
        ComparisonGroup.objects.filter(
            cohort=cohort, state=ComparisonGroup.State.READY, analysis__has_key="benchmarks"
        )
        .order_by("-computed_at")
        .only("analysis")
        .first()
    )
    return group.analysis["benchmarks"] if group else []
