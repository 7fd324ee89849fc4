"""Cohort summaries (built by Celery), outcome measures, comparison groups and impact estimates."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from partnerships.models import Cohort, Phase, School


class CohortSummary(models.Model):
    """Figures for one cohort, rebuilt by evaluation.tasks.build_cohort_summary.

    The dashboards read only this row, so their cost does not grow with the cohort.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    cohort = models.OneToOneField(Cohort, on_delete=models.CASCADE, related_name="summary")
    data = models.JSONField(default=dict)
    built_at = models.DateTimeField(null=True, blank=True)
    # Rebuild bookkeeping: the dashboard shows progress and whether data changed since built_at.
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    source_changed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "cohort summaries"

    def __str__(self):
        return f"Summary of {self.cohort}"


# --- Outcomes, comparison groups and impact estimates (issue #7) ---------------------------


class Measure(models.TextChoices):
    """Outcome measures, per school and academic year (the year in which the academic year ends:
    2016 is 2015/16, as in the DfE performance tables)."""

    KS2_RWM_EXPECTED = (
        "ks2_rwm_expected",
        "KS2: % expected standard in reading, writing and maths",
    )
    KS2_SCIENCE_TA = "ks2_science_ta", "KS2: % expected standard in science (teacher assessment)"
    KS4_ATTAINMENT8 = "ks4_attainment8", "KS4: Attainment 8"
    KS4_PROGRESS8 = "ks4_progress8", "KS4: Progress 8"
    KS4_ATTAINMENT8_DISADVANTAGED = (
        "ks4_att8_disadvantaged",
        "KS4: Attainment 8 of disadvantaged pupils",
    )
    KS4_ATTAINMENT8_OTHER = "ks4_att8_other", "KS4: Attainment 8 of other (non-disadvantaged) pupils"
    KS4_TRIPLE_SCIENCE = "ks4_triple_science", "KS4: % entering triple science"
    POST16_STEM_ALEVEL_ENTRIES = "post16_stem_alevel_entries", "Post-16: entries to STEM A-levels"
    STEM_TEACHER_RETENTION = "stem_teacher_retention", "STEM teacher retention rate (%)"


# Allowed range of each measure, inclusive; the database checks the same ranges.
MEASURE_RANGES: dict[str, tuple[Decimal, Decimal | None]] = {
    Measure.KS2_RWM_EXPECTED: (Decimal(0), Decimal(100)),
    Measure.KS2_SCIENCE_TA: (Decimal(0), Decimal(100)),
    Measure.KS4_ATTAINMENT8: (Decimal(0), Decimal(90)),
    Measure.KS4_PROGRESS8: (Decimal(-5), Decimal(5)),
    Measure.KS4_ATTAINMENT8_DISADVANTAGED: (Decimal(0), Decimal(90)),
    Measure.KS4_ATTAINMENT8_OTHER: (Decimal(0), Decimal(90)),
    Measure.KS4_TRIPLE_SCIENCE: (Decimal(0), Decimal(100)),
    Measure.POST16_STEM_ALEVEL_ENTRIES: (Decimal(0), None),
    Measure.STEM_TEACHER_RETENTION: (Decimal(0), Decimal(100)),
}

# Which phases of school report each measure (the others are not matched on it).
MEASURE_PHASES: dict[str, tuple[str, ...]] = {
    Measure.KS2_RWM_EXPECTED: (Phase.PRIMARY, Phase.ALL_THROUGH),
    Measure.KS2_SCIENCE_TA: (Phase.PRIMARY, Phase.ALL_THROUGH),
    Measure.KS4_ATTAINMENT8: (Phase.SECONDARY, Phase.ALL_THROUGH),
    Measure.KS4_PROGRESS8: (Phase.SECONDARY, Phase.ALL_THROUGH),
    Measure.KS4_ATTAINMENT8_DISADVANTAGED: (Phase.SECONDARY, Phase.ALL_THROUGH),
    Measure.KS4_ATTAINMENT8_OTHER: (Phase.SECONDARY, Phase.ALL_THROUGH),
    Measure.KS4_TRIPLE_SCIENCE: (Phase.SECONDARY, Phase.ALL_THROUGH),
    Measure.POST16_STEM_ALEVEL_ENTRIES: (
        Phase.SECONDARY,
        Phase.ALL_THROUGH,
        Phase.SIXTEEN_PLUS,
        Phase.FE_COLLEGE,
    ),
    Measure.STEM_TEACHER_RETENTION: tuple(Phase.values),
}

OUTCOME_YEAR_MIN, OUTCOME_YEAR_MAX = 1990, 2100

# Outcomes an analysis can estimate: every measure, and the disadvantaged gap derived from two of
# them (never stored as an OutcomeValue: other pupils' Attainment 8 minus disadvantaged pupils').
GAP = "ks4_att8_gap"
GAP_LABEL = "KS4: disadvantaged gap in Attainment 8 (other pupils minus disadvantaged pupils)"
OUTCOME_CHOICES = [*Measure.choices, (GAP, GAP_LABEL)]


def _range_condition() -> Q:
    condition = Q()
    for measure, (low, high) in MEASURE_RANGES.items():
        bounds = Q(measure=measure, value__gte=low)
        if high is not None:
            bounds &= Q(value__lte=high)
        condition |= bounds
    return condition


class OutcomeValue(models.Model):
    """One school's value of one outcome measure in one academic year."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="outcomes")
    year = models.PositiveSmallIntegerField(
        help_text="Year in which the academic year ends (2016 = 2015/16)."
    )
    measure = models.CharField(max_length=32, choices=Measure.choices)
    value = models.DecimalField(max_digits=8, decimal_places=2)
    is_synthetic = models.BooleanField(
        default=False, help_text="Made-up demo data, never real school results."
    )
    source = models.CharField(max_length=200, blank=True, help_text="File it was imported from.")
    publication = models.CharField(
        max_length=100, blank=True, help_text='The release it comes from, e.g. "2023/24 revised".'
    )
    imported_at = models.DateTimeField(null=True, blank=True, help_text="When this value was last imported.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["measure", "year", "school"]
        indexes = [models.Index(fields=["measure", "year"])]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "year", "measure"], name="outcomevalue_unique_school_year_measure"
            ),
            models.CheckConstraint(
                condition=Q(year__gte=OUTCOME_YEAR_MIN, year__lte=OUTCOME_YEAR_MAX),
                name="outcomevalue_year_1990_2100",
            ),
            models.CheckConstraint(condition=_range_condition(), name="outcomevalue_value_in_measure_range"),
        ]

    def __str__(self):
        return f"{self.school} {self.year} {self.measure}: {self.value}"


class ComparisonGroup(models.Model):
    """A cohort's matched comparison group for one outcome measure, with the balance table and the
    difference-in-differences estimate, computed by evaluation.tasks.compute_comparison_group.

    Pages read only this row and its pairs: nothing is recomputed on view. `inputs_fingerprint`
    records the data it was computed from, so a page can say when the inputs have changed since.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="comparison_groups")
    measure = models.CharField(max_length=32, choices=OUTCOME_CHOICES)
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Per cent done while running.")
    progress_note = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    inputs_changed_at = models.DateTimeField(
        null=True, blank=True, help_text="Latest change to the outcomes, schools or memberships used."
    )
    inputs_fingerprint = models.CharField(max_length=64, blank=True)
    baseline_year = models.PositiveSmallIntegerField(null=True, blank=True)
    method = models.JSONField(default=dict, blank=True)
    balance = models.JSONField(default=list, blank=True)
    unmatched = models.JSONField(default=list, blank=True)
    estimate = models.JSONField(default=dict, blank=True)
    trends = models.JSONField(default=dict, blank=True)
    uses_synthetic_data = models.BooleanField(default=False)
    # Issue 22: the analysis plan version that produced the estimate, and everything around it
    # (event study, robustness, attrition, effect size, bootstrap, dose, benchmarks, window).
    plan = models.ForeignKey(
        "AnalysisPlan", on_delete=models.SET_NULL, null=True, blank=True, related_name="groups"
    )
    plan_version = models.PositiveSmallIntegerField(null=True, blank=True)
    plan_hash = models.CharField(max_length=64, blank=True)
    analysis = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["cohort", "measure"]
        constraints = [
            models.UniqueConstraint(
                fields=["cohort", "measure"], name="comparisongroup_unique_cohort_measure"
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="comparisongroup_progress_lte_100"),
        ]

    def __str__(self):
        return f"Comparison group for {self.cohort} on {self.get_measure_display()}"

    @property
    def is_busy(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)


class MatchedPair(models.Model):
    """A participating school and the comparison school matched to it (1:1, without replacement:
    the database refuses one comparison school twice in a group)."""

    group = models.ForeignKey(ComparisonGroup, on_delete=models.CASCADE, related_name="pairs")
    participant = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    comparison = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    unit = models.CharField(max_length=40, help_text="Partnership or cluster of the participant.")
    participant_score = models.FloatField(help_text="Propensity score.")
    comparison_score = models.FloatField()

    class Meta:
        ordering = ["group", "participant__name"]
        constraints = [
            models.UniqueConstraint(fields=["group", "participant"], name="matchedpair_participant_once"),
            models.UniqueConstraint(fields=["group", "comparison"], name="matchedpair_comparison_once"),
            models.CheckConstraint(
                condition=~Q(participant=F("comparison")), name="matchedpair_not_matched_to_itself"
            ),
        ]

    def __str__(self):
        return f"{self.participant} ↔ {self.comparison}"


# --- Pre-registered analysis plans and the comparison groups drawn under them (issue 22) ----


class AnalysisPlan(models.Model):
    """One version of a cohort's analysis plan: primary and secondary outcomes, analysis window,
    matching specification and estimator (`content`, written by evaluation.impact_plans).

    A draft (frozen_at empty) may be edited; freezing fixes it and its sha256 `content_hash`
    (of the canonical JSON of `content`). It is frozen at the cohort's first award (the award
    signal, evaluation.impact_signals) or earlier by staff. A frozen version never changes: a
    later change is a new, dated version with a reason. The database keeps one draft per cohort,
    numbers versions from 1, and refuses a later version without a reason or a frozen one
    without a hash.
    """

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="analysis_plans")
    version = models.PositiveSmallIntegerField()
    content = models.JSONField()
    content_hash = models.CharField(max_length=64, help_text="sha256 of the canonical JSON of content.")
    reason = models.TextField(blank=True, max_length=2000, help_text="Why this version replaced the last.")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    frozen_at = models.DateTimeField(null=True, blank=True)
    frozen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    frozen_because = models.CharField(max_length=200, blank=True)
    post_values_at_freeze = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Post-programme outcome values of participating schools in the portal when frozen.",
    )

    class Meta:
        ordering = ["cohort", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["cohort", "version"], name="analysisplan_unique_cohort_version"),
            models.UniqueConstraint(
                fields=["cohort"],
                condition=Q(frozen_at__isnull=True),
                name="analysisplan_one_draft_per_cohort",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="analysisplan_version_from_1"),
            models.CheckConstraint(
                condition=Q(version=1) | ~Q(reason=""), name="analysisplan_amendment_has_reason"
            ),
            models.CheckConstraint(
                condition=Q(frozen_at__isnull=True) | Q(content_hash__regex=r"^[0-9a-f]{64}$"),
                name="analysisplan_frozen_has_hash",
            ),
        ]

    def __str__(self):
        return f"Analysis plan for {self.cohort}, version {self.version}"

    @property
    def is_frozen(self) -> bool:
        return self.frozen_at is not None


class PlanDraw(models.Model):
    """A comparison group drawn under a plan version for one outcome and one matching variant
    (the main specification or a robustness one), stored with the sha256 of its canonical JSON.
    Draws are only ever added: schools awarded after freezing get a later `sequence`."""

    class Variant(models.TextChoices):
        MAIN = "main", "Main specification"
        TWO_PRE_YEARS = "two_pre_years", "Matched on two pre-programme years"
        CALIPER_NARROW = "caliper_narrow", "Narrower caliper"
        CALIPER_WIDE = "caliper_wide", "Wider caliper"

    plan = models.ForeignKey(AnalysisPlan, on_delete=models.CASCADE, related_name="draws")
    outcome = models.CharField(max_length=32, choices=OUTCOME_CHOICES)
    variant = models.CharField(max_length=16, choices=Variant.choices)
    sequence = models.PositiveSmallIntegerField(default=1)
    drawn_at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=200)
    pre_years = models.JSONField(default=list, help_text="Pre-programme years matched on.")
    pairs = models.JSONField(default=list)
    unmatched = models.JSONField(default=list)
    balance = models.JSONField(default=list)
    method = models.JSONField(default=dict)
    post_values_at_draw = models.PositiveIntegerField(
        default=0, help_text="Post-programme outcome values of the participants in the portal when drawn."
    )
    content_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["plan", "outcome", "variant", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "outcome", "variant", "sequence"], name="plandraw_unique_sequence"
            ),
            models.CheckConstraint(
                condition=Q(content_hash__regex=r"^[0-9a-f]{64}$"), name="plandraw_has_hash"
            ),
        ]

    def __str__(self):
        return f"{self.get_variant_display()} draw {self.sequence} for {self.outcome} ({self.plan})"
