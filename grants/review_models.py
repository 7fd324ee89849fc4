"""Review models (issue 17): per-programme review settings and versioned rubrics, reviewers and
their assignments, reviews that keep every earlier version, and conflicts of interest declared
or overridden. Imported at the end of grants/models.py so Django finds them in the grants app;
every write goes through grants/review.py and grants/conflicts.py."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from grants.models import Application
from partnerships.models import Programme

SCALE_MIN, SCALE_MAX_LIMIT = 2, 10


class ReviewSettings(models.Model):
    """How a programme reviews: blind or not, whether a shared local authority is a conflict,
    how many reviewers each application gets and how far apart scores may be before the panel
    is warned."""

    programme = models.OneToOneField(Programme, on_delete=models.CASCADE, related_name="review_settings")
    blind_review = models.BooleanField(
        default=False, help_text="Reviewers do not see the applicant's partnership or school names."
    )
    conflict_same_local_authority = models.BooleanField(
        default=False,
        help_text="A reviewer linked to a school in the same local authority as a school of the "
        "partnership is conflicted.",
    )
    reviewers_per_application = models.PositiveSmallIntegerField(default=2)
    disagreement_threshold = models.DecimalField(
        max_digits=4,
        decimal_places=2,
        default=1,
        help_text="Flag an application when its reviewers' weighted scores differ by more than this.",
    )

    class Meta:
        verbose_name_plural = "review settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(reviewers_per_application__gte=1, reviewers_per_application__lte=10),
                name="reviewsettings_reviewers_1_10",
            ),
            models.CheckConstraint(
                condition=Q(disagreement_threshold__gte=0), name="reviewsettings_threshold_gte_0"
            ),
        ]

    def __str__(self):
        return f"Review settings of {self.programme}"


class Rubric(models.Model):
    """One version of a programme's rubric. Versions are never edited once a review uses them:
    changing the rubric publishes a new version (grants.review.rubric_publish)."""

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="rubrics")
    version = models.PositiveIntegerField()
    scale_max = models.PositiveSmallIntegerField(default=5, help_text="Scores run from 1 to this.")
    is_current = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["programme", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "version"], name="rubric_unique_version"),
            models.UniqueConstraint(
                fields=["programme"], condition=Q(is_current=True), name="rubric_one_current_per_programme"
            ),
            models.CheckConstraint(
                condition=Q(scale_max__gte=SCALE_MIN, scale_max__lte=SCALE_MAX_LIMIT),
                name="rubric_scale_2_10",
            ),
        ]

    def __str__(self):
        return f"{self.programme} rubric, version {self.version}"


class RubricCriterion(models.Model):
    rubric = models.ForeignKey(Rubric, on_delete=models.PROTECT, related_name="criteria")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=120)
    guidance = models.TextField(blank=True, max_length=2000)
    weight = models.PositiveSmallIntegerField(default=1)
    # One descriptor per score point, lowest first: descriptors[0] describes a 1.
    descriptors = models.JSONField(default=list)

    class Meta:
        ordering = ["rubric", "position"]
        constraints = [
            models.UniqueConstraint(fields=["rubric", "position"], name="rubriccriterion_unique_position"),
            models.CheckConstraint(
                condition=Q(weight__gte=1, weight__lte=100), name="rubriccriterion_weight_1_100"
            ),
        ]

    def __str__(self):
        return f"{self.name} (weight {self.weight})"


class ProgrammeReviewer(models.Model):
    """A person who may review a programme's applications without being its staff (an external
    reviewer). Programme staff may review too."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="reviewers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviewer_of")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["programme", "user"], name="programmereviewer_unique")]

    def __str__(self):
        return f"{self.user} reviews {self.programme}"


class ReviewerAssignment(models.Model):
    class How(models.TextChoices):
        MANUAL = "manual", "Assigned by hand"
        AUTO = "auto", "Assigned automatically"

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="assignments")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    how = models.CharField(max_length=6, choices=How.choices, default=How.MANUAL)
    active = models.BooleanField(default=True)
    assigned_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["application", "assigned_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "reviewer"],
                condition=Q(active=True),
                name="reviewerassignment_one_active",
            ),
            models.CheckConstraint(
                condition=Q(active=True) | Q(ended_at__isnull=False), name="reviewerassignment_ended_has_date"
            ),
        ]

    def __str__(self):
        return f"{self.reviewer} reviews {self.application}"


class Review(models.Model):
    """One reviewer's review of one application against one rubric version. Revising it writes a
    new Review and marks this one superseded: earlier scores and comments are never blanked."""

    class Recommendation(models.TextChoices):
        FUND = "fund", "Fund"
        FUND_WITH_CHANGES = "fund_with_changes", "Fund with changes"
        DO_NOT_FUND = "do_not_fund", "Do not fund"

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    rubric = models.ForeignKey(Rubric, on_delete=models.PROTECT, related_name="reviews")
    recommendation = models.CharField(max_length=20, choices=Recommendation.choices)
    comment = models.TextField(
        blank=True, max_length=5000, help_text="Shown to programme staff and the panel."
    )
    private_note = models.TextField(blank=True, max_length=5000, help_text="Only the reviewer sees this.")
    # Σ weight × score / Σ weight, on the rubric's scale: stored so the queue and panel sort in SQL.
    weighted_score = models.DecimalField(max_digits=5, decimal_places=3)
    is_current = models.BooleanField(default=True)
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["application", "reviewer", "-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "reviewer"],
                condition=Q(is_current=True),
                name="review_one_current_per_reviewer",
            ),
            models.CheckConstraint(
                condition=Q(recommendation__in=["fund", "fund_with_changes", "do_not_fund"]),
                name="review_recommendation_valid",
            ),
            models.CheckConstraint(
                condition=Q(weighted_score__gte=1, weighted_score__lte=SCALE_MAX_LIMIT),
                name="review_weighted_score_in_range",
            ),
        ]

    def __str__(self):
        return f"Review of {self.application} by {self.reviewer}"


class CriterionScore(models.Model):
    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="scores")
    criterion = models.ForeignKey(RubricCriterion, on_delete=models.PROTECT, related_name="+")
    score = models.PositiveSmallIntegerField()
    scale_max = models.PositiveSmallIntegerField()  # the rubric's, copied so the database can check the range
    comment = models.TextField(blank=True, max_length=5000)

    class Meta:
        ordering = ["review", "criterion__position"]
        constraints = [
            models.UniqueConstraint(fields=["review", "criterion"], name="criterionscore_once_per_criterion"),
            models.CheckConstraint(
                condition=Q(score__gte=1, score__lte=F("scale_max")), name="criterionscore_score_in_scale"
            ),
            models.CheckConstraint(
                condition=Q(scale_max__gte=SCALE_MIN, scale_max__lte=SCALE_MAX_LIMIT),
                name="criterionscore_scale_2_10",
            ),
        ]

    def __str__(self):
        return f"{self.criterion.name}: {self.score}/{self.scale_max}"


class ConflictDeclaration(models.Model):
    """A reviewer says they are conflicted for an application (the register cannot know every
    tie). Never removed: the reviewer is not assigned to the application again."""

    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="conflict_declarations"
    )
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(max_length=2000)
    declared_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["application", "reviewer"], name="conflictdeclaration_once"),
        ]

    def __str__(self):
        return f"{self.reviewer} declared a conflict on {self.application}"


class ConflictOverride(models.Model):
    """Programme staff decided that a conflict found in the register does not matter here (the
    reviewer left the school, say), with their reason. Audited; auto-assignment never uses it."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="conflict_overrides")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(max_length=2000)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["application", "reviewer"], name="conflictoverride_once")
        ]

    def __str__(self):
        return f"Conflict of {self.reviewer} on {self.application} overridden by {self.by}"
