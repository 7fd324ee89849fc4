"""Outcome data: who took part in a cohort, the candidate comparison schools, and the frames the
matching and the difference-in-differences need (read from the database, in a few queries)."""

import hashlib
from datetime import date
from decimal import Decimal

import pandas as pd
from django.db.models import Count, Max

from clusters.models import ClusterMembership
from evaluation.models import MEASURE_PHASES, MEASURE_RANGES, Measure, OutcomeValue
from grants.models import Application
from partnerships.models import Cohort, Funding, Membership, School

PERCENTAGE_POINTS = "percentage points"
MEASURE_UNITS = {
    Measure.KS2_RWM_EXPECTED: PERCENTAGE_POINTS,
    Measure.KS2_SCIENCE_TA: PERCENTAGE_POINTS,
    Measure.KS4_ATTAINMENT8: "points",
    Measure.KS4_PROGRESS8: "points",
    Measure.KS4_TRIPLE_SCIENCE: PERCENTAGE_POINTS,
    Measure.POST16_STEM_ALEVEL_ENTRIES: "entries",
    Measure.STEM_TEACHER_RETENTION: PERCENTAGE_POINTS,
}
AWARDED_STATUSES = (Application.Status.APPROVED, Application.Status.COMPLETED)


def measure_label(measure: str) -> str:
    return Measure(measure).label


def value_in_range(measure: str, value: Decimal) -> bool:
    low, high = MEASURE_RANGES[measure]
    return value >= low and (high is None or value <= high)


def baseline_year(cohort: Cohort) -> int:
    """The last academic year that ended before the cohort started (years end on 31 August)."""
    start = cohort.starts_on
    return start.year if start >= date(start.year, 9, 1) else start.year - 1


def participants(cohort: Cohort) -> dict[int, str]:
    """School id → its unit ("partnership:<id>" or "cluster:<id>"): schools confirmed in the
    cohort's awarded (approved or completed) partnerships, and schools in the cohort's clusters."""
    units = {}
    members = Membership.objects.filter(
        cohort=cohort,
        status=Membership.Status.CONFIRMED,
        partnership__application__status__in=AWARDED_STATUSES,
    ).values_list("school_id", "partnership_id")
    for school_id, partnership_id in members:
        units[school_id] = f"partnership:{partnership_id}"
    for school_id, cluster_id in ClusterMembership.objects.filter(cohort=cohort).values_list(
        "school_id", "cluster_id"
    ):
        units.setdefault(school_id, f"cluster:{cluster_id}")
    return units


def ever_participated_ids() -> set[int]:
    """Schools that took part in any cohort of any programme: never comparison schools."""
    ids = set(
        Membership.objects.filter(status=Membership.Status.CONFIRMED).values_list("school_id", flat=True)
    )
    ids.update(ClusterMembership.objects.values_list("school_id", flat=True))
    return ids


def matching_frame(cohort: Cohort, measure: str, *, units: dict[int, str] | None = None) -> pd.DataFrame:
    """One row per participant and candidate school of the measure's phases, with the
    pre-programme (baseline year) value of the measure; candidates only when they have one."""
    units = participants(cohort) if units is None else units
    year = baseline_year(cohort)
    baseline = dict(OutcomeValue.objects.filter(measure=measure, year=year).values_list("school_id", "value"))
    excluded = ever_participated_ids() - set(units)
    fields = ["id", "phase", "region", "pupils", "fsm_percent", "ofsted_rating"]
    schools = list(
        School.objects.filter(phase__in=MEASURE_PHASES[measure], id__in=list(units)).values(*fields)
    )
    candidates = School.objects.filter(
        phase__in=MEASURE_PHASES[measure],
        is_open=True,
        funding=Funding.STATE,
        outcomes__measure=measure,
        outcomes__year=year,
    ).exclude(id__in=list(units))
    schools += [row for row in candidates.values(*fields) if row["id"] not in excluded]
    frame = pd.DataFrame.from_records(
        [
            {
                "school_id": row["id"],
                "treated": row["id"] in units,
                "phase": row["phase"],
                "region": row["region"],
                "ofsted": row["ofsted_rating"],
                "pupils": row["pupils"],
                "fsm": None if row["fsm_percent"] is None else float(row["fsm_percent"]),
                "baseline": float(baseline[row["id"]]) if row["id"] in baseline else None,
            }
            for row in schools
        ],
        columns=["school_id", "treated", "phase", "region", "ofsted", "pupils", "fsm", "baseline"],
    )
    return frame


def did_panel(measure: str, *, pairs: list[dict], units: dict[int, str], baseline: int) -> pd.DataFrame:
    """Outcome values of the matched schools in every year, flagged treated/post, with the unit
    (a comparison school carries its participant's unit)."""
    unit_of = {}
    for pair in pairs:
        unit_of[pair["participant"]] = units[pair["participant"]]
        unit_of[pair["comparison"]] = units[pair["participant"]]
    treated = {pair["participant"] for pair in pairs}
    rows = OutcomeValue.objects.filter(measure=measure, school_id__in=list(unit_of)).values_list(
        "school_id", "year", "value"
    )
    return pd.DataFrame.from_records(
        [
            {
                "school_id": school_id,
                "treated": int(school_id in treated),
                "year": year,
                "value": float(value),
                "post": int(year > baseline),
                "unit": unit_of[school_id],
            }
            for school_id, year, value in rows
        ],
        columns=["school_id", "treated", "year", "value", "post", "unit"],
    )


def inputs_states(cohort: Cohort, measures: list[str], *, units: dict[int, str] | None = None) -> dict:
    """measure → (fingerprint, latest change) of everything a comparison group is computed from:
    the participants and their units, the measure's outcome values and the schools register.
    Four queries whatever the number of measures."""
    units = participants(cohort) if units is None else units
    by_measure = {
        row["measure"]: row
        for row in OutcomeValue.objects.filter(measure__in=measures)
        .values("measure")
        .annotate(n=Count("id"), latest=Max("updated_at"))
    }
    schools = School.objects.aggregate(n=Count("id"), latest=Max("updated_at"))
    members = ",".join(f"{school}={unit}" for school, unit in sorted(units.items()))
    states = {}
    for measure in measures:
        found = by_measure.get(measure, {"n": 0, "latest": None})
        parts = [
            measure,
            str(cohort.starts_on),
            members,
            f"{found['n']}@{found['latest']}",
            f"{schools['n']}@{schools['latest']}",
        ]
        latest = max((t for t in (found["latest"], schools["latest"]) if t is not None), default=None)
        states[measure] = (hashlib.sha256("|".join(parts).encode()).hexdigest(), latest)
    return states


def inputs_state(cohort: Cohort, measure: str, *, units: dict[int, str] | None = None) -> tuple[str, object]:
    return inputs_states(cohort, [measure], units=units)[measure]


def measures_with_data(cohort: Cohort, *, units: dict[int, str] | None = None) -> list[str]:
    """Measures for which some participant has a pre-programme value."""
    units = participants(cohort) if units is None else units
    found = set(
        OutcomeValue.objects.filter(school_id__in=list(units), year=baseline_year(cohort))
        .values_list("measure", flat=True)
        .distinct()
    )
    return [measure for measure in Measure.values if measure in found]
