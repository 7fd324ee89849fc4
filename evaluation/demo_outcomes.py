"""SYNTHETIC outcome data for the demo, so that a newcomer sees a full evaluation page for the
ENTHUSE Partnerships 2014–16 cohort. Called by `seed_demo` after evaluation.demo (which seeds
that cohort); idempotent: a second run adds and changes nothing.

Nothing here is real. Every outcome row is flagged `is_synthetic` and the pages say so; the
comparison schools are made up, named "Synthetic comparison school NNNN", with URNs in the
reserved range 990001–999999 (real URNs are six-digit numbers well below it). Outcomes are given
to the cohort's schools and to these synthetic schools only, never to other schools in the
register. The figures come from a fixed random seed, so they are the same on every machine:
three in five comparison schools resemble a participant (same phase, mostly the same region and
Ofsted rating, similar size and % FSM), the others are drawn from a broad "national" spread, and
the programme has a small built-in effect on some measures and none on others.

The timeline is a real evaluation's: the years before the start are loaded first, the cohort's
analysis plan is frozen and its comparison schools drawn (as at the first award, before any
result after the start exists), then the later years are loaded and the estimates computed. The
plan page therefore shows a plan frozen with no post-programme result in the portal.
"""

import zlib
from decimal import Decimal

import numpy as np
import pandas as pd

from evaluation import impact_plans, impact_runs, impact_services, outcomes
from evaluation.models import MEASURE_RANGES, ComparisonGroup, Measure, OutcomeValue
from partnerships.models import Cohort, Funding, OfstedRating, Phase, School

PROGRAMME_SLUG = "enthuse-partnerships"
COHORT_NAME = "2014–16"
URN_BASE = 990000
COMPARISON_SCHOOLS = {Phase.PRIMARY: 2000, Phase.SECONDARY: 1500}
YEARS = range(2011, 2019)
SOURCE = "synthetic demo data (evaluation/demo_outcomes.py)"
SYNTHETIC_TYPE = "Synthetic comparison school (demo data)"
SEED = 2014

REGIONS = {
    "North West": ["Blackpool", "Oldham", "Lancashire"],
    "North East": ["Sunderland", "County Durham"],
    "Yorkshire and the Humber": ["Bradford", "Doncaster", "North Yorkshire"],
    "East Midlands": ["Derby", "Nottinghamshire"],
    "West Midlands": ["Stoke-on-Trent", "Birmingham"],
    "East of England": ["Norfolk", "Suffolk"],
    "London": ["Hackney", "Newham"],
    "South East": ["Kent", "East Sussex"],
    "South West": ["Cornwall", "Plymouth"],
}
OFSTED = [
    OfstedRating.OUTSTANDING,
    OfstedRating.GOOD,
    OfstedRating.REQUIRES_IMPROVEMENT,
    OfstedRating.INADEQUATE,
]
OFSTED_SHARE = [0.2, 0.64, 0.13, 0.03]
OFSTED_EFFECT = {
    OfstedRating.OUTSTANDING: 4.0,
    OfstedRating.GOOD: 1.0,
    OfstedRating.REQUIRES_IMPROVEMENT: -3.0,
    OfstedRating.INADEQUATE: -6.0,
}

# measure: (phases, level, effect of 10 points of FSM, yearly trend, school spread, noise,
#           built-in programme effect after the start)
MODEL = {
    Measure.KS2_RWM_EXPECTED: ((Phase.PRIMARY,), 62.0, -4.0, 1.2, 7.0, 3.0, 1.0),
    Measure.KS2_SCIENCE_TA: ((Phase.PRIMARY,), 80.0, -3.0, 0.5, 5.0, 2.5, 3.0),
    Measure.KS4_ATTAINMENT8: ((Phase.SECONDARY,), 48.0, -3.0, 0.2, 4.0, 1.5, 0.0),
    Measure.KS4_PROGRESS8: ((Phase.SECONDARY,), 0.0, -0.15, 0.0, 0.3, 0.12, 0.05),
    Measure.KS4_TRIPLE_SCIENCE: ((Phase.SECONDARY,), 35.0, -4.0, 1.0, 8.0, 3.0, 4.0),
    Measure.POST16_STEM_ALEVEL_ENTRIES: ((Phase.SECONDARY,), 60.0, -6.0, 1.0, 15.0, 6.0, 0.0),
    Measure.STEM_TEACHER_RETENTION: ((Phase.PRIMARY, Phase.SECONDARY), 85.0, -1.5, 0.0, 5.0, 3.0, 2.0),
}
# Disadvantaged and other pupils' Attainment 8 follow the school's Attainment 8: the gap (other
# minus disadvantaged) is about 13 points, wider where fewer pupils are disadvantaged, and the
# programme narrows it by GAP_NARROWING after the start.
GAP_MEAN, GAP_SPREAD, GAP_NOISE, GAP_NARROWING = 13.0, 3.0, 1.5, 1.0
# The demo plan's pupil-level standard deviation of the primary outcome (KS2 science, a % of
# pupils at the expected standard: a yes/no outcome at about 80% has an SD of about 40 points).
DEMO_PUPIL_SD = {Measure.KS2_SCIENCE_TA: 40.0}


def demo_cohort() -> Cohort | None:
    return Cohort.objects.filter(programme__slug=PROGRAMME_SLUG, name=COHORT_NAME).first()


def seed(*, users=None, stdout=None):
    cohort = demo_cohort()
    if cohort is None:
        if stdout:
            stdout.write("Synthetic outcomes: no ENTHUSE 2014–16 cohort to evaluate; skipped.")
        return
    participant_units = outcomes.participants(cohort)
    participants = list(School.objects.filter(id__in=list(participant_units)).order_by("urn"))
    comparison = _comparison_schools(participants)
    base = outcomes.baseline_year(cohort)
    ids = set(participant_units)
    rows = _outcome_rows(participants, comparison, participant_ids=ids)
    created = _store([row for row in rows if row.year <= base])
    plan = _freeze_plan(cohort)
    created += _store([row for row in rows if row.year > base])
    computed = _comparison_groups(cohort)
    if stdout:
        stdout.write(
            f"Synthetic outcomes (demo only): {len(comparison)} synthetic comparison schools, "
            f"{created} new outcome values; analysis plan version {plan.version} frozen before the "
            f"post-programme years; {computed} estimate(s) computed for {cohort}."
        )


def _freeze_plan(cohort: Cohort):
    """As at the first award: the plan (the default, with the demo's pupil-level SD) frozen and its
    comparison schools drawn while only the years before the start are in the portal."""
    plan = impact_plans.current_frozen(cohort)
    if plan is None:
        draft = impact_plans.plan_draft(cohort_id=cohort.pk)
        content = {
            **draft.content,
            "effect_size": {"pupil_sd": {str(k): v for k, v in DEMO_PUPIL_SD.items()}},
        }
        if content != draft.content:
            impact_plans.plan_amend(cohort_id=cohort.pk, by=None, content=content)
        plan = impact_plans.plan_freeze(
            cohort_id=cohort.pk, by=None, because="first award (demo: before any post-programme result)"
        )
    impact_plans.plan_draw_all(plan_id=plan.pk, reason="drawn at freezing (first award)")
    return plan


def _comparison_schools(participants: list[School]) -> list[School]:
    rng = np.random.default_rng(SEED)
    wanted, number = {}, 0
    for phase, count in COMPARISON_SCHOOLS.items():
        templates = [s for s in participants if s.phase == phase]
        for _ in range(count):
            number += 1
            urn = URN_BASE + number
            template = templates[rng.integers(len(templates))] if templates and rng.random() < 0.6 else None
            if template is not None:
                region = template.region if rng.random() < 0.9 else rng.choice(list(REGIONS))
                ofsted = template.ofsted_rating if rng.random() < 0.9 else rng.choice(OFSTED, p=OFSTED_SHARE)
                fsm = float(template.fsm_percent or 20) + rng.normal(0, 4)
                pupils = (template.pupils or (300 if phase == Phase.PRIMARY else 900)) * rng.lognormal(
                    0, 0.15
                )
            else:
                region = rng.choice(list(REGIONS))
                ofsted = rng.choice(OFSTED, p=OFSTED_SHARE)
                fsm = rng.gamma(3.0, 5.0)
                pupils = rng.normal(280, 100) if phase == Phase.PRIMARY else rng.normal(950, 300)
            authorities = REGIONS.get(region, ["Unknown"])
            wanted[urn] = School(
                urn=urn,
                name=f"Synthetic comparison school {number:04d} ({Phase(phase).label.lower()})",
                phase=phase,
                establishment_type=SYNTHETIC_TYPE,
                funding=Funding.STATE,
                local_authority=authorities[int(rng.integers(len(authorities)))],
                region=str(region),
                pupils=int(max(40, round(pupils))),
                fsm_percent=Decimal(str(round(min(max(fsm, 1.0), 80.0), 1))),
                ofsted_rating=str(ofsted),
                is_open=True,
                is_synthetic=True,  # never searchable, eligible or invitable; badged where shown
            )
    existing = set(School.objects.filter(urn__in=list(wanted)).values_list("urn", flat=True))
    # Rows an earlier demo made before the flag existed are marked now.
    School.objects.filter(
        urn__in=list(existing), establishment_type=SYNTHETIC_TYPE, is_synthetic=False
    ).update(is_synthetic=True)
    School.objects.bulk_create([s for urn, s in wanted.items() if urn not in existing], batch_size=500)
    return list(School.objects.filter(urn__in=list(wanted)).order_by("urn"))


def _school_rng(urn: int, measure: str) -> np.random.Generator:
    return np.random.default_rng([SEED, urn, zlib.crc32(measure.encode())])


def _outcome_rows(participants, comparison, *, participant_ids: set[int]) -> list[OutcomeValue]:
    start = outcomes.baseline_year(demo_cohort())
    rows = []
    for school in [*participants, *comparison]:
        fsm = float(school.fsm_percent if school.fsm_percent is not None else 20)
        ofsted = OFSTED_EFFECT.get(school.ofsted_rating, 0.0)
        treated = school.id in participant_ids
        for measure, (phases, level, per_fsm, trend, spread, noise, effect) in MODEL.items():
            if school.phase not in phases:
                continue
            rng = _school_rng(school.urn, measure)
            scale = spread / 7.0
            school_level = level + per_fsm * (fsm - 20) / 10 + ofsted * scale + rng.normal(0, spread)
            low, high = MEASURE_RANGES[measure]
            with_gap = measure == Measure.KS4_ATTAINMENT8
            if with_gap:
                gap_rng = _school_rng(school.urn, "gap")
                gap_level = GAP_MEAN - 0.05 * (fsm - 20) + gap_rng.normal(0, GAP_SPREAD)
            for year in YEARS:
                after = treated and year > start
                value = (
                    school_level + trend * (year - YEARS[0]) + rng.normal(0, noise) + (effect if after else 0)
                )
                values = {measure: value}
                if with_gap:
                    gap = gap_level + gap_rng.normal(0, GAP_NOISE) - (GAP_NARROWING if after else 0)
                    values[Measure.KS4_ATTAINMENT8_OTHER] = value + 0.35 * gap
                    values[Measure.KS4_ATTAINMENT8_DISADVANTAGED] = value - 0.65 * gap
                for name, figure in values.items():
                    figure = max(figure, float(low))
                    if high is not None:
                        figure = min(figure, float(high))
                    rows.append(
                        OutcomeValue(
                            school_id=school.id,
                            year=year,
                            measure=name,
                            value=Decimal(str(round(figure, 2))),
                            is_synthetic=True,
                            source=SOURCE,
                        )
                    )
    return rows


def _store(rows: list[OutcomeValue]) -> int:
    before = OutcomeValue.objects.count()
    OutcomeValue.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return OutcomeValue.objects.count() - before


def _comparison_groups(cohort: Cohort) -> int:
    """Estimate (in-process) every planned outcome whose estimate is missing, out of date or from
    an earlier plan version."""
    units = outcomes.participants(cohort)
    wanted = impact_services.planned_outcomes_with_data(cohort, units=units)
    states = impact_runs.fingerprints(cohort, wanted, units=units)
    plan = impact_plans.current_frozen(cohort)
    computed = 0
    for outcome in wanted:
        group, _ = ComparisonGroup.objects.get_or_create(cohort=cohort, measure=outcome)
        if (
            group.state == ComparisonGroup.State.READY
            and group.inputs_fingerprint == states[outcome][0]
            and group.plan_id == plan.pk
        ):
            continue
        impact_runs.comparison_group_compute(group_id=group.pk)
        computed += 1
    return computed


# --- Synthetic frames for tests and the benchmark (no database) ---------------------------


def synthetic_matching_frame(participants: int, candidates: int, *, seed: int = 1) -> pd.DataFrame:
    """Participants differ from the candidate population (more FSM, mostly one region, lower
    pre-programme results) but overlap with it well; 80% primary, 20% secondary."""
    rng = np.random.default_rng(seed)
    n = participants + candidates
    treated = np.zeros(n, dtype=bool)
    treated[:participants] = True
    phase = np.where(rng.random(n) < 0.8, Phase.PRIMARY.value, Phase.SECONDARY.value)
    fsm = np.clip(rng.normal(20, 10, n) + treated * 5, 0, 100)
    pupils = np.where(phase == Phase.PRIMARY.value, rng.normal(300, 80, n), rng.normal(1000, 250, n)).clip(30)
    regions = np.array(list(REGIONS))
    region = rng.choice(regions, n)
    region = np.where(treated & (rng.random(n) < 0.3), regions[0], region)
    ofsted = rng.choice(np.array([str(o) for o in OFSTED]), n, p=OFSTED_SHARE)
    baseline = 60 - 0.5 * fsm + rng.normal(0, 8, n)
    return pd.DataFrame(
        {
            "school_id": np.arange(1, n + 1),
            "treated": treated,
            "phase": phase,
            "region": region,
            "ofsted": ofsted,
            "pupils": pupils,
            "fsm": fsm,
            "baseline": baseline,
        }
    )
