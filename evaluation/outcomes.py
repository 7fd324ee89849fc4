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
from partnerships.lineage import Lineage
from partnerships.models import Cohort, Funding, Membership, School, SchoolLink

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


# --- Following a school across an academy conversion (GIAS links, partnerships.lineage) -----


def predecessor_ids(school_ids=None) -> dict[int, list[int]]:
    """Current school id → ids of the register's schools that came before it, from
    the GIAS links: an academy converter's outcomes under its old URN are the same school's. Only
    schools that are some school's current URN appear; `school_ids` limits the keys. Two queries
    (none more when there are no links)."""
    chains = Lineage.everything().chains()  # urn -> the urns it has had since, oldest first
    if not chains:
        return {}
    urns = set(chains) | {urn for path in chains.values() for urn in path}
    by_urn = dict(School.objects.filter(urn__in=urns).values_list("urn", "id"))
    wanted = None if school_ids is None else set(school_ids)
    found: dict[int, list[int]] = {}
    for old, path in chains.items():
        # The school is now the latest URN of its line that is in the register.
        now = next((by_urn[urn] for urn in reversed(path) if urn in by_urn), None)
        old_id = by_urn.get(old)
        if old_id is None or now is None or (wanted is not None and now not in wanted):
            continue
        found.setdefault(now, []).append(old_id)
    return found


def current_ids(school_ids) -> dict[int, int]:
    """School id → the id of the school it is now (itself, unless it converted into a school that
    is in the register)."""
    mapping = {school_id: school_id for school_id in school_ids}
    for new_id, olds in predecessor_ids().items():
        for old_id in olds:
            if old_id in mapping:
                mapping[old_id] = new_id
    return mapping


def outcome_rows(measures, *, school_ids=None, years=None) -> list[tuple[int, int, str, Decimal]]:
    """(school, year, measure, value) rows, each school carrying its predecessors' values for the
    years it has none of its own (a year two predecessors both have is left out: the register
    cannot say which is the school). With `school_ids`, only those schools' rows."""
    sources = predecessor_ids(school_ids)
    rows = OutcomeValue.objects.filter(measure__in=list(measures))
    if school_ids is not None:
        ids = set(school_ids) | {old for olds in sources.values() for old in olds}
        rows = rows.filter(school_id__in=list(ids))
    if years is not None:
        rows = rows.filter(year__in=list(years))
    found = list(rows.values_list("school_id", "year", "measure", "value"))
    if not sources:
        return found
    keep = None if school_ids is None else set(school_ids)
    own = {(school_id, year, measure) for school_id, year, measure, _ in found}
    successor_of = {old: new for new, olds in sources.items() for old in olds}
    carried: dict[tuple[int, int, str], list[Decimal]] = {}
    result = []
    for school_id, year, measure, value in found:
        if keep is None or school_id in keep:
            result.append((school_id, year, measure, value))
        new = successor_of.get(school_id)
        if new is not None and (new, year, measure) not in own:
            carried.setdefault((new, year, measure), []).append(value)
    result += [(*key, values[0]) for key, values in carried.items() if len(values) == 1]
    return result


def participants(cohort: Cohort) -> dict[int, str]:
    """School id → its unit ("partnership:<id>" or "cluster:<id>"): schools confirmed in the
    cohort's awarded (approved or completed) partnerships, and schools in the cohort's clusters.
    A school that has since converted counts under its current URN (GIAS links)."""
    units = _participants(cohort)
    now = current_ids(units)
    moved = {}
    for school_id, unit in units.items():
        moved.setdefault(now[school_id], unit)
    return moved


def _participants(cohort: Cohort) -> dict[int, str]:
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
    return ids | set(current_ids(ids).values())


def matching_frame(cohort: Cohort, measure: str, *, units: dict[int, str] | None = None) -> pd.DataFrame:
    """One row per participant and candidate school of the measure's phases, with the
    pre-programme (baseline year) value of the measure; candidates only when they have one."""
    units = participants(cohort) if units is None else units
    year = baseline_year(cohort)
    baseline = {school_id: value for school_id, _, _, value in outcome_rows([measure], years=[year])}
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
    # Converters whose baseline value is their predecessor's (they have none of their own).
    carried = set(predecessor_ids()) & set(baseline)
    converters = School.objects.filter(
        phase__in=MEASURE_PHASES[measure], is_open=True, funding=Funding.STATE, id__in=list(carried)
    ).exclude(id__in=list(units))
    seen = set()
    for row in [*candidates.values(*fields), *converters.values(*fields)]:
        if row["id"] not in excluded and row["id"] not in seen:
            seen.add(row["id"])
            schools.append(row)
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
    rows = [
        (school_id, year, value)
        for school_id, year, _, value in outcome_rows([measure], school_ids=list(unit_of))
    ]
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
    Five queries whatever the number of measures."""
    units = participants(cohort) if units is None else units
    by_measure = {
        row["measure"]: row
        for row in OutcomeValue.objects.filter(measure__in=measures)
        .values("measure")
        .annotate(n=Count("id"), latest=Max("updated_at"))
    }
    schools = School.objects.aggregate(n=Count("id"), latest=Max("updated_at"))
    links = SchoolLink.objects.aggregate(n=Count("id"), latest=Max("updated_at"))
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
            f"{links['n']}@{links['latest']}",
        ]
        latest = max(
            (t for t in (found["latest"], schools["latest"], links["latest"]) if t is not None), default=None
        )
        states[measure] = (hashlib.sha256("|".join(parts).encode()).hexdigest(), latest)
    return states


def inputs_state(cohort: Cohort, measure: str, *, units: dict[int, str] | None = None) -> tuple[str, object]:
    return inputs_states(cohort, [measure], units=units)[measure]


def measures_with_data(cohort: Cohort, *, units: dict[int, str] | None = None) -> list[str]:
    """Measures for which some participant has a pre-programme value."""
    units = participants(cohort) if units is None else units
    found = {
        measure
        for _, _, measure, _ in outcome_rows(
            Measure.values, school_ids=list(units), years=[baseline_year(cohort)]
        )
    }
    return [measure for measure in Measure.values if measure in found]
