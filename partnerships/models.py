"""Schools register, programmes and their cohorts, partnerships and their member schools."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Phase(models.TextChoices):
    PRIMARY = "primary", "Primary"
    SECONDARY = "secondary", "Secondary"
    ALL_THROUGH = "all_through", "All-through"
    SIXTEEN_PLUS = "16_plus", "16 plus"
    FE_COLLEGE = "fe_college", "FE college"
    OTHER = "other", "Other"


class Funding(models.TextChoices):
    STATE = "state", "State-funded"
    INDEPENDENT = "independent", "Independent"


class OfstedRating(models.TextChoices):
    OUTSTANDING = "outstanding", "Outstanding"
    GOOD = "good", "Good"
    REQUIRES_IMPROVEMENT = "requires_improvement", "Requires improvement"
    INADEQUATE = "inadequate", "Inadequate"
    NOT_RATED = "not_rated", "Not yet rated"


class School(models.Model):
    """One establishment of the DfE register (Get Information about Schools)."""

    urn = models.PositiveIntegerField("URN", unique=True)
    name = models.CharField(max_length=200)
    phase = models.CharField(max_length=16, choices=Phase.choices, default=Phase.OTHER)
    establishment_type = models.CharField(max_length=100, blank=True)
    funding = models.CharField(max_length=12, choices=Funding.choices, default=Funding.STATE)
    local_authority = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    district = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    pupils = models.PositiveIntegerField(null=True, blank=True)
    fsm_percent = models.DecimalField(
        "% FSM",
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )
    ofsted_rating = models.CharField(
        max_length=24, choices=OfstedRating.choices, default=OfstedRating.NOT_RATED
    )
    is_open = models.BooleanField(default=True)
    opportunity_area = models.CharField(max_length=60, blank=True)
    leads = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="SchoolLead", related_name="schools", blank=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["postcode"]),
            models.Index(fields=["phase", "region"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(fsm_percent__isnull=True) | Q(fsm_percent__gte=0, fsm_percent__lte=100),
                name="school_fsm_percent_0_100",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.urn})"

    @property
    def in_opportunity_area(self) -> bool:
        return bool(self.opportunity_area)


class SchoolLead(models.Model):
    """A user who acts for a school. A school may have several leads."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="school_links")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="lead_links")
    role_at_school = models.CharField(max_length=100, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "school"], name="schoollead_unique_user_school")
        ]

    def __str__(self):
        return f"{self.user} at {self.school}"


class Programme(models.Model):
    class Kind(models.TextChoices):
        PARTNERSHIPS = "partnerships", "Partnerships of schools"
        CLUSTERS = "clusters", "Clusters of schools"

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.PARTNERSHIPS)
    description = models.TextField(blank=True)
    grant_cap = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("12000.00"))
    min_schools = models.PositiveSmallIntegerField(
        default=5, help_text="Minimum confirmed schools, lead included."
    )
    cluster_size = models.PositiveSmallIntegerField(
        default=5, help_text="Exact number of schools in a cluster."
    )
    eligible_phases = models.JSONField(default=list, blank=True, help_text="Empty means every phase.")
    state_funded_only = models.BooleanField(default=True)
    eligible_ofsted_ratings = models.JSONField(default=list, blank=True, help_text="Empty means any rating.")
    opportunity_areas_only = models.BooleanField(default=False)
    first_instalment_percent = models.PositiveSmallIntegerField(
        default=50,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Share of the award paid on approval; the rest when the end-of-grant report is accepted.",
    )
    staff = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="programmes", blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(grant_cap__gte=0), name="programme_grant_cap_gte_0"),
            models.CheckConstraint(condition=Q(min_schools__gte=1), name="programme_min_schools_gte_1"),
            models.CheckConstraint(
                condition=Q(first_instalment_percent__lte=100), name="programme_instalment_lte_100"
            ),
        ]

    def __str__(self):
        return self.name


class Cohort(models.Model):
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="cohorts")
    name = models.CharField(max_length=120)
    starts_on = models.DateField()
    ends_on = models.DateField()
    applications_open_at = models.DateTimeField()
    applications_close_at = models.DateTimeField()
    budget = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))

    class Meta:
        ordering = ["-starts_on", "name"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "name"], name="cohort_unique_name_per_programme"),
            models.CheckConstraint(condition=Q(budget__gte=0), name="cohort_budget_gte_0"),
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="cohort_ends_after_start"),
            models.CheckConstraint(
                condition=Q(applications_close_at__gte=F("applications_open_at")),
                name="cohort_window_closes_after_opening",
            ),
        ]

    def __str__(self):
        return f"{self.programme.name} {self.name}"

    def is_open_for_applications(self, at=None) -> bool:
        at = at or timezone.now()
        return self.applications_open_at <= at <= self.applications_close_at

    def is_running(self, on=None) -> bool:
        on = on or timezone.localdate()
        return self.starts_on <= on <= self.ends_on


class Partnership(models.Model):
    class Status(models.TextChoices):
        FORMING = "forming", "Forming"
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        WITHDRAWN = "withdrawn", "Withdrawn"

    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, related_name="partnerships")
    name = models.CharField(max_length=200)
    lead_school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="led_partnerships")
    local_stem_issue = models.TextField("Local STEM issue to address", max_length=5000)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.FORMING)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("view_all_partnerships", "Can see every partnership")]
        indexes = [models.Index(fields=["cohort", "status"])]

    def __str__(self):
        return self.name


class Membership(models.Model):
    """A school in a partnership. `cohort` repeats the partnership's so that the
    database itself can refuse one school in two partnerships of the same cohort."""

    class Role(models.TextChoices):
        LEAD = "lead", "Lead school"
        PARTNER = "partner", "Partner school"

    class Status(models.TextChoices):
        INVITED = "invited", "Invited"
        CONFIRMED = "confirmed", "Confirmed"
        DECLINED = "declined", "Declined"

    partnership = models.ForeignKey(Partnership, on_delete=models.CASCADE, related_name="memberships")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="memberships")
    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.PARTNER)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.INVITED)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    invited_at = models.DateTimeField(default=timezone.now)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-role", "school__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "cohort"],
                condition=~Q(status="declined"),
                name="membership_one_partnership_per_cohort",
                violation_error_message="This school is already in a partnership in this cohort.",
            ),
            models.UniqueConstraint(
                fields=["partnership", "school"], name="membership_unique_school_per_partnership"
            ),
            models.UniqueConstraint(
                fields=["partnership"], condition=Q(role="lead"), name="membership_one_lead_per_partnership"
            ),
            models.CheckConstraint(
                condition=~Q(role="lead") | Q(status="confirmed"), name="membership_lead_is_confirmed"
            ),
        ]

    def __str__(self):
        return f"{self.school} in {self.partnership} ({self.get_status_display()})"
