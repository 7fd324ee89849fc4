"""Aspire-style clusters of schools, their needs analysis and CPD plan, and the CPD
activities (of partnerships and clusters alike) with teachers' feedback."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from partnerships.models import Cohort, Partnership, School


class FocusArea(models.TextChoices):
    LEADERSHIP = "leadership", "Leadership"
    GREAT_TEACHING = "great_teaching", "Great teaching"
    SCIENCE_CAPITAL = "science_capital", "Science capital"
    CAREERS_GUIDANCE = "careers_guidance", "Careers guidance"


class Cluster(models.Model):
    class Status(models.TextChoices):
        FORMING = "forming", "Forming"
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"

    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, related_name="clusters")
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.FORMING)
    schools = models.ManyToManyField(School, through="ClusterMembership", related_name="clusters")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["cohort", "name"], name="cluster_unique_name_per_cohort")
        ]

    def __str__(self):
        return self.name


class ClusterReport(models.Model):
    """A cluster's final report at the end of delivery: written by programme staff or a verified
    lead of a cluster school, accepted by programme staff. Accepting it completes the cluster (the
    only way to "completed": PostgreSQL trigger `cluster_completed_has_accepted_report`,
    clusters migration 0006)."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        ACCEPTED = "accepted", "Accepted"

    cluster = models.OneToOneField(Cluster, on_delete=models.PROTECT, related_name="final_report")
    summary = models.TextField("What the cluster delivered and learned", max_length=10000)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SUBMITTED)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField()
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status="submitted") | Q(accepted_at__isnull=False),
                name="clusterreport_accepted_has_date",
            )
        ]

    def __str__(self):
        return f"Final report of {self.cluster}"


class ClusterMembership(models.Model):
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="memberships")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="cluster_memberships")
    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, related_name="+")
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["school", "cohort"], name="clustermembership_one_cluster_per_cohort"
            ),
        ]

    def __str__(self):
        return f"{self.school} in {self.cluster}"


class NeedsQuestionnaire(models.Model):
    """A school's needs analysis questionnaire over the four focus areas: the school's verified
    lead fills it in (autosaved as a draft, answers in NeedsAnalysis rows), submits it, and
    programme staff review it before writing the school's CPD plan items."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        REVIEWED = "reviewed", "Reviewed by staff"

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="questionnaires")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    saved_at = models.DateTimeField(auto_now=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(blank=True, max_length=5000)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cluster", "school"], name="needsquestionnaire_one_per_school"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(submitted_at__isnull=False),
                name="needsquestionnaire_submitted_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(status="reviewed") | Q(reviewed_at__isnull=False),
                name="needsquestionnaire_reviewed_has_date",
            ),
        ]

    def __str__(self):
        return f"Needs analysis of {self.school} in {self.cluster}"


class NeedsAnalysis(models.Model):
    """One answer of the needs analysis: a score (1 = greatest need, 5 = strong; empty while the
    questionnaire is a draft) and notes per school and focus area."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="needs")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    focus_area = models.CharField(max_length=20, choices=FocusArea.choices)
    score = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    notes = models.TextField(blank=True, max_length=5000)

    class Meta:
        verbose_name_plural = "needs analyses"
        constraints = [
            models.UniqueConstraint(fields=["cluster", "school", "focus_area"], name="needs_unique_per_area"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=1, score__lte=5), name="needs_score_1_5"
            ),
        ]

    def __str__(self):
        return f"{self.school} · {self.get_focus_area_display()}: {self.score}"


class CPDPlanItem(models.Model):
    """A bespoke CPD plan item: for one school of the cluster (or, without a school, for all of
    them), in one focus area, with the hours planned and the date, inside the cohort's delivery
    period (PostgreSQL trigger `cpdplanitem_in_delivery_period`, clusters migration 0004)."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="plan_items")
    school = models.ForeignKey(
        School,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty: every school",
    )
    focus_area = models.CharField(max_length=20, choices=FocusArea.choices)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=5000)
    planned_hours = models.DecimalField(max_digits=6, decimal_places=1)
    planned_on = models.DateField()

    class Meta:
        ordering = ["planned_on", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(planned_hours__gt=0, planned_hours__lte=1000), name="cpdplan_hours_0_1000"
            )
        ]

    def __str__(self):
        return self.title


class CPDActivity(models.Model):
    """CPD for teachers or a STEM activity for students, run by exactly one partnership or cluster."""

    class Kind(models.TextChoices):
        TEACHER_CPD = "teacher_cpd", "Teacher CPD"
        STUDENT_ACTIVITY = "student_activity", "Student STEM activity"
        ENRICHMENT = "enrichment", "Enrichment"

    partnership = models.ForeignKey(
        Partnership, on_delete=models.PROTECT, null=True, blank=True, related_name="activities"
    )
    cluster = models.ForeignKey(
        Cluster, on_delete=models.PROTECT, null=True, blank=True, related_name="activities"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=5000)
    held_on = models.DateField()
    hours = models.DecimalField(max_digits=6, decimal_places=1)
    teachers_reached = models.PositiveIntegerField(default=0)
    students_reached = models.PositiveIntegerField(default=0)
    focus_area = models.CharField(max_length=20, choices=FocusArea.choices, blank=True)
    schools = models.ManyToManyField(School, related_name="cpd_activities", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-held_on", "title"]
        verbose_name = "CPD activity"
        verbose_name_plural = "CPD activities"
        indexes = [
            models.Index(fields=["partnership", "held_on"]),
            models.Index(fields=["cluster", "held_on"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(partnership__isnull=False) & Q(cluster__isnull=True))
                | (Q(partnership__isnull=True) & Q(cluster__isnull=False)),
                name="cpdactivity_exactly_one_parent",
                violation_error_message="An activity belongs to exactly one partnership or one cluster.",
            ),
            models.CheckConstraint(
                condition=Q(hours__gt=0, hours__lte=1000), name="cpdactivity_hours_0_1000"
            ),
        ]

    def __str__(self):
        return self.title


class CommentTheme(models.Model):
    """A theme programme staff give teachers' survey comments: a barrier or a facilitator of
    delivery, in the programme's own words (the process evaluation groups comments by it)."""

    class Kind(models.TextChoices):
        BARRIER = "barrier", "Barrier"
        FACILITATOR = "facilitator", "Facilitator"

    programme = models.ForeignKey(
        "partnerships.Programme", on_delete=models.CASCADE, related_name="comment_themes"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    name = models.CharField(max_length=80)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["programme", "kind", "name"], name="commenttheme_unique_per_programme"
            ),
            models.CheckConstraint(condition=~Q(name=""), name="commenttheme_has_name"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.name}"


class Feedback(models.Model):
    """A teacher's feedback on an activity, on the elements the ENTHUSE evaluation found most useful."""

    RATING = [MinValueValidator(1), MaxValueValidator(5)]

    activity = models.ForeignKey(CPDActivity, on_delete=models.CASCADE, related_name="feedback")
    engaging_ideas = models.PositiveSmallIntegerField(
        "Ideas and experiments that make science engaging", validators=RATING
    )
    hands_on = models.PositiveSmallIntegerField("Hands-on activities for students", validators=RATING)
    sharing_across_schools = models.PositiveSmallIntegerField(
        "Sharing materials and approaches across schools", validators=RATING
    )
    overall_usefulness = models.PositiveSmallIntegerField("Overall usefulness", validators=RATING)
    expects_more_cpd = models.BooleanField("Expects to take part in more CPD", default=False)
    comments = models.TextField(blank=True, max_length=5000)
    submitted_at = models.DateTimeField(auto_now_add=True)
    # Answered by survey link: a one-time invitation answers once (the database holds it: one-to-one),
    # a room's answers are anonymous. Both empty: typed in by staff or a lead.
    invitation = models.OneToOneField(
        "SurveyInvitation", on_delete=models.SET_NULL, null=True, blank=True, related_name="feedback"
    )
    room = models.ForeignKey("SurveyRoom", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    school = models.ForeignKey(School, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    themes = models.ManyToManyField(CommentTheme, blank=True, related_name="comments")

    class Meta:
        verbose_name_plural = "feedback"
        constraints = [
            models.CheckConstraint(
                condition=Q(engaging_ideas__range=(1, 5))
                & Q(hands_on__range=(1, 5))
                & Q(sharing_across_schools__range=(1, 5))
                & Q(overall_usefulness__range=(1, 5)),
                name="feedback_ratings_1_5",
            ),
            models.CheckConstraint(
                condition=Q(invitation__isnull=True) | Q(room__isnull=True),
                name="feedback_one_way_in",
            ),
        ]

    def __str__(self):
        return f"Feedback on {self.activity}"


class SurveyInvitation(models.Model):
    """One teacher's invitation to the survey of an activity: a signed, expiring link
    (clusters.surveys) answered once, without an account."""

    activity = models.ForeignKey(CPDActivity, on_delete=models.CASCADE, related_name="survey_invitations")
    school = models.ForeignKey(School, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Sent by e-mail (clusters.surveys.invitations_email). The address itself is not kept: the
    # answers stay anonymous, and no teacher's address is stored.
    emailed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Survey invitation {self.pk} for {self.activity}"


class SurveyRoom(models.Model):
    """A short code for an anonymous room (the end of a session): many answers, until it expires."""

    activity = models.ForeignKey(CPDActivity, on_delete=models.CASCADE, related_name="survey_rooms")
    code = models.CharField(max_length=8, unique=True)
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Room {self.code} for {self.activity}"
