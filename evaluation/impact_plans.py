"""Pre-registered analysis plans: their content and hash, freezing, amendments as new versions, and
the comparison groups drawn under them (evaluation.models.AnalysisPlan and PlanDraw).

- A cohort's plan starts as a draft with the default content (`default_content`), which staff may
  edit until it is frozen.
- It is frozen at the cohort's first award (evaluation.impact_signals listens for it and queues
  evaluation.tasks.freeze_plan_on_award), or earlier by staff, or, failing both, when an
  estimate is first asked for (and the page then says so).
- Freezing records the sha256 of the canonical JSON of the content and how many post-programme
  outcome values were already in the portal; then comparison groups are drawn for every outcome
  and matching variant of the plan, each stored with its own hash. Schools awarded later are
  drawn when their award comes in, as a later draw of the same version.
- Any later change is a new version, frozen at once, dated, with a reason. Unchanged matching
  carries the draws over (same hashes); changed matching draws afresh, and the draw records how
  many post-programme values existed when it was made.
"""

import copy
import hashlib
import json
from collections import Counter

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from evaluation import impact_data, matching, outcomes
from evaluation.models import OUTCOME_CHOICES, AnalysisPlan, Measure, PlanDraw
from partnerships.models import Cohort, Phase, School
from partnerships.selectors import cohorts_for

OUTCOMES = [value for value, _ in OUTCOME_CHOICES]
SCHEMA = 1
V = PlanDraw.Variant
NO_DATA = "no pre-programme outcome"  # evaluation.matching's reason for a school without one


def canonical_json(content) -> str:
    """One text for one content: keys sorted, no spaces, UTF-8; floats as Python writes them."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def content_hash(content) -> str:
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def default_content(cohort: Cohort, *, units: dict[int, str] | None = None) -> dict:
    """The plan a cohort starts with (staff review it before the first award): science attainment
    of the phase most participants are in as the primary outcome; every other outcome the
    participants' phases report, and the disadvantaged gap, as secondary outcomes."""
    units = outcomes.participants(cohort) if units is None else units
    phases = Counter(School.objects.filter(id__in=list(units)).values_list("phase", flat=True))
    secondary_led = phases.get(Phase.SECONDARY, 0) > phases.get(Phase.PRIMARY, 0)
    primary = Measure.KS4_ATTAINMENT8 if secondary_led else Measure.KS2_SCIENCE_TA
    reported = set(phases) or {Phase.PRIMARY, Phase.SECONDARY}
    secondary = [
        o
        for o in OUTCOMES
        if o != primary and o not in impact_data.GAP_PARTS and set(impact_data.outcome_phases(o)) & reported
    ]
    return {
        "schema": SCHEMA,
        "primary_outcome": str(primary),
        "secondary_outcomes": [str(o) for o in secondary],
        "window": {"years_before": 4, "years_after": 4},
        "matching": {
            "exact_on": "phase",
            "covariates": [
                "region",
                "Ofsted rating",
                "size (pupils)",
                "% FSM",
                "the outcome before the start",
            ],
            "pre_years": 1,
            "caliper_sd": 0.2,
            "ratio": "1:1",
            "with_replacement": False,
        },
        "robustness": {
            "school_fixed_effects": True,
            "balanced_panel": True,
            "two_pre_years": 2,
            "caliper_narrow_sd": 0.1,
            "caliper_wide_sd": 0.5,
        },
        "estimator": {
            "model": "value ~ participant + year effects + participant x after start (OLS)",
            "cluster": "partnership or cluster (a comparison school in its participant's)",
            "alpha": 0.05,
            "wild_bootstrap_below_clusters": 50,
            "bootstrap_replications": 9999,
            "bootstrap_seed": 20140901,
            "secondary_correction": "holm",
        },
        "effect_size": {"pupil_sd": {}},
    }


def validate_content(content: dict) -> dict:
    """Refuse a plan that cannot be carried out; return it unchanged when it can."""
    errors = {}
    primary, secondary = content.get("primary_outcome"), content.get("secondary_outcomes") or []
    if primary not in OUTCOMES:
        errors["primary_outcome"] = "Choose the primary outcome."
    unknown = [o for o in secondary if o not in OUTCOMES]
    if unknown:
        errors["secondary_outcomes"] = "Unknown outcome."
    elif primary in secondary:
        errors["secondary_outcomes"] = "The primary outcome cannot also be a secondary outcome."
    elif len(set(secondary)) != len(secondary):
        errors["secondary_outcomes"] = "An outcome is listed twice."
    window = content.get("window", {})
    for key, low, high in (("years_before", 2, 10), ("years_after", 1, 10)):
        value = window.get(key)
        if not isinstance(value, int) or not low <= value <= high:
            errors[key] = f"Enter a whole number of years from {low} to {high}."
    caliper = content.get("matching", {}).get("caliper_sd")
    if not isinstance(caliper, int | float) or not 0 < caliper <= 1:
        errors["caliper_sd"] = "Enter a caliper above 0 and at most 1 standard deviation."
    for outcome, sd in content.get("effect_size", {}).get("pupil_sd", {}).items():
        if outcome not in OUTCOMES or not isinstance(sd, int | float) or not 0 < sd < 1000:
            errors["pupil_sd"] = "Enter a pupil-level standard deviation above 0."
    if errors:
        raise ValidationError(errors)
    return content


def plan_outcomes(content: dict) -> list[str]:
    return [content["primary_outcome"], *content.get("secondary_outcomes", [])]


def variants(content: dict) -> dict[str, dict]:
    """Matching variant → its specification (pre-programme years matched on, caliper)."""
    m, r = content["matching"], content["robustness"]
    return {
        V.MAIN: {"pre_years": m["pre_years"], "caliper_sd": m["caliper_sd"]},
        V.TWO_PRE_YEARS: {"pre_years": r["two_pre_years"], "caliper_sd": m["caliper_sd"]},
        V.CALIPER_NARROW: {"pre_years": m["pre_years"], "caliper_sd": r["caliper_narrow_sd"]},
        V.CALIPER_WIDE: {"pre_years": m["pre_years"], "caliper_sd": r["caliper_wide_sd"]},
    }


# --- Reading -------------------------------------------------------------------------------


def current_plan(cohort: Cohort) -> AnalysisPlan | None:
    return AnalysisPlan.objects.filter(cohort=cohort).order_by("-version").first()


def current_frozen(cohort: Cohort) -> AnalysisPlan | None:
    return AnalysisPlan.objects.filter(cohort=cohort, frozen_at__isnull=False).order_by("-version").first()


def plan_intact(plan: AnalysisPlan) -> bool:
    return content_hash(plan.content) == plan.content_hash


def draw_payload(draw: PlanDraw) -> dict:
    return {
        "outcome": draw.outcome,
        "variant": draw.variant,
        "sequence": draw.sequence,
        "pre_years": draw.pre_years,
        "pairs": draw.pairs,
        "unmatched": draw.unmatched,
    }


def draw_intact(draw: PlanDraw) -> bool:
    return content_hash(draw_payload(draw)) == draw.content_hash


def drawn_pairs(plan: AnalysisPlan, outcome: str, variant: str, *, units: dict[int, str]) -> list[dict]:
    """Every pair drawn for the outcome and variant under the plan, for participants still taking
    part (a school whose partnership was withdrawn drops out with its comparison school)."""
    pairs = []
    for draw in plan.draws.filter(outcome=outcome, variant=variant).order_by("sequence"):
        pairs += [p for p in draw.pairs if p["participant"] in units]
    return pairs


# --- Writing -------------------------------------------------------------------------------


def _ensure_can_plan(by, cohort_id: int) -> None:
    if by is not None and not cohorts_for(by).filter(pk=cohort_id).exists():
        raise PermissionDenied("You cannot plan this cohort's evaluation.")


def _post_values(cohort: Cohort, content: dict, units: dict[int, str]) -> int:
    measures = {m for o in plan_outcomes(content) for m in impact_data.outcome_measures(o)}
    return impact_data.post_values(cohort, measures, school_ids=units)


def plan_draft(*, cohort_id: int, by=None) -> AnalysisPlan:
    """The cohort's current plan, creating the default draft when it has none."""
    _ensure_can_plan(by, cohort_id)
    with transaction.atomic():
        cohort = Cohort.objects.select_for_update().get(pk=cohort_id)
        plan = current_plan(cohort)
        if plan is None:
            content = default_content(cohort)
            plan = AnalysisPlan.objects.create(
                cohort=cohort, version=1, content=content, content_hash=content_hash(content), created_by=by
            )
    return plan


def plan_freeze(*, cohort_id: int, by=None, because: str) -> AnalysisPlan:
    """Freeze the cohort's draft (creating the default one if needed). Freezing a frozen plan
    changes nothing. Comparison groups are drawn afterwards (plan_draw_all), outside this lock."""
    _ensure_can_plan(by, cohort_id)
    with transaction.atomic():
        cohort = Cohort.objects.select_for_update().get(pk=cohort_id)
        plan = current_plan(cohort)
        if plan is not None and plan.is_frozen:
            return plan
        if plan is None:
            content = default_content(cohort)
            plan = AnalysisPlan(cohort=cohort, version=1, content=content, created_by=by)
        validate_content(plan.content)
        units = outcomes.participants(cohort)
        plan.content_hash = content_hash(plan.content)
        plan.frozen_at, plan.frozen_by, plan.frozen_because = timezone.now(), by, because[:200]
        plan.post_values_at_freeze = _post_values(cohort, plan.content, units)
        plan.save()
    return plan


def plan_amend(*, cohort_id: int, by, content: dict, reason: str = "") -> AnalysisPlan:
    """Change the plan. A draft is edited in place (its hash follows its content). A frozen plan is
    never changed: the change becomes version n + 1, frozen at once, with the reason; draws are
    carried over when the matching is unchanged, and drawn afresh otherwise (plan_draw_all)."""
    _ensure_can_plan(by, cohort_id)
    content = validate_content(copy.deepcopy(content))
    reason = (reason or "").strip()
    with transaction.atomic():
        cohort = Cohort.objects.select_for_update().get(pk=cohort_id)
        plan = current_plan(cohort)
        if plan is not None and canonical_json(plan.content) == canonical_json(content):
            raise ValidationError({"__all__": "Nothing changed: the plan already says this."})
        if plan is None or not plan.is_frozen:
            if plan is None:
                plan = AnalysisPlan(cohort=cohort, version=1, created_by=by)
            plan.content, plan.content_hash = content, content_hash(content)
            plan.save()
            return plan
        if not reason:
            raise ValidationError({"reason": "Say why the frozen plan is being changed."})
        units = outcomes.participants(cohort)
        amended = AnalysisPlan.objects.create(
            cohort=cohort,
            version=plan.version + 1,
            content=content,
            content_hash=content_hash(content),
            reason=reason[:2000],
            created_by=by,
            frozen_at=timezone.now(),
            frozen_by=by,
            frozen_because=f"amendment of version {plan.version}",
            post_values_at_freeze=_post_values(cohort, content, units),
        )
        if variants(content) == variants(plan.content):
            PlanDraw.objects.bulk_create(
                [
                    PlanDraw(
                        plan=amended,
                        outcome=d.outcome,
                        variant=d.variant,
                        sequence=d.sequence,
                        drawn_at=d.drawn_at,
                        reason=f"carried over from version {plan.version} ({d.reason})"[:200],
                        pre_years=d.pre_years,
                        pairs=d.pairs,
                        unmatched=d.unmatched,
                        balance=d.balance,
                        method=d.method,
                        post_values_at_draw=d.post_values_at_draw,
                        content_hash=d.content_hash,
                    )
                    for d in plan.draws.filter(outcome__in=plan_outcomes(content))
                ]
            )
    return amended


def plan_draw_all(*, plan_id: int, reason: str, outcomes_wanted=None, progress=None) -> int:
    """Draw comparison schools for every participant not yet drawn, for each outcome (default:
    the plan's) and matching variant. Returns the number of draws stored."""
    plan = AnalysisPlan.objects.select_related("cohort").get(pk=plan_id)
    wanted = plan_outcomes(plan.content) if outcomes_wanted is None else outcomes_wanted
    units = outcomes.participants(plan.cohort)
    with_data = set(outcomes.measures_with_data(plan.cohort, units=units))  # one query
    wanted = [o for o in wanted if set(impact_data.outcome_measures(o)) <= with_data]
    stored, steps, cache = 0, max(len(wanted) * 4, 1), {}
    for i, outcome in enumerate(wanted):
        for j, variant in enumerate(variants(plan.content)):
            if progress:
                progress(int(100 * (4 * i + j) / steps), f"Drawing comparison schools: {outcome}")
            stored += int(
                plan_draw(
                    plan=plan, outcome=outcome, variant=variant, units=units, reason=reason, cache=cache
                )
            )
    return stored


def plan_draw(
    *, plan: AnalysisPlan, outcome: str, variant: str, units: dict[int, str], reason: str, cache=None
) -> bool:
    """One draw for the participants of `outcome`'s phases not yet drawn under this plan and
    variant, from the candidates not yet used. Stores nothing when nobody is waiting or no
    participant has the pre-programme values yet (they are drawn once the data are in)."""
    spec = variants(plan.content)[variant]
    with transaction.atomic():
        AnalysisPlan.objects.select_for_update().get(pk=plan.pk)  # one drawer at a time per plan
        earlier = list(plan.draws.filter(outcome=outcome, variant=variant))
        # drawn already: matched, or left unmatched for a reason other than missing data
        done = {p["participant"] for d in earlier for p in d.pairs} | {
            u["school_id"] for d in earlier for u in d.unmatched if u["reason"] != NO_DATA
        }
        used = {p["comparison"] for d in earlier for p in d.pairs}
        frame, years = impact_data.matching_frame(
            plan.cohort, outcome, units=units, exclude=used, pre_years=spec["pre_years"], cache=cache
        )
        waiting = frame[frame["treated"] & ~frame["school_id"].isin(done)]
        frame = frame[~frame["treated"] | ~frame["school_id"].isin(done)]
        baseline_columns = ["baseline", *(f"baseline_{k + 1}" for k in range(1, spec["pre_years"]))]
        if waiting.empty or waiting[baseline_columns].isna().any(axis=1).all():
            return False
        extra = {
            f"baseline_{k + 1}": f"Outcome {k} year(s) before the baseline" for k in range(1, len(years))
        }
        result = matching.match(frame, caliper_sd=spec["caliper_sd"], extra_baselines=extra)
        pairs = sorted(
            (
                {
                    "participant": p["participant"],
                    "comparison": p["comparison"],
                    "unit": units[p["participant"]],
                    "participant_score": round(p["participant_score"], 6),
                    "comparison_score": round(p["comparison_score"], 6),
                }
                for p in result.pairs
            ),
            key=lambda p: p["participant"],
        )
        draw = PlanDraw(
            plan=plan,
            outcome=outcome,
            variant=variant,
            sequence=len(earlier) + 1,
            drawn_at=timezone.now(),
            reason=reason[:200],
            pre_years=years,
            pairs=pairs,
            unmatched=sorted(result.unmatched, key=lambda u: u["school_id"]),
            balance=result.balance,
            method=result.method,
            post_values_at_draw=impact_data.post_values(
                plan.cohort, impact_data.outcome_measures(outcome), school_ids=list(units)
            ),
        )
        draw.content_hash = content_hash(draw_payload(draw))
        draw.save()
    return True
