"""Grant applications, their budget, review and decision, audit trail, payments and
end-of-grant report. Every write goes through grants/services.py."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, Length
from django.db.models.lookups import GreaterThan, LessThanOrEqual

from clusters.models import CPDActivity
from partnerships.models import Cohort, Partnership

MONEY = {"max_digits": 10, "decimal_places": 2}


class Application(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"
        COMPLETED = "completed", "Completed"

    reference = models.CharField(max_length=40, unique=True, null=True, blank=True)
    partnership = models.OneToOneField(Partnership, on_delete=models.PROTECT, related_name="application")
    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, related_name="applications")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)

    aims = models.TextField(blank=True, max_length=10000)
    local_stem_issue = models.TextField(blank=True, max_length=10000)
    planned_teacher_cpd = models.TextField(blank=True, max_length=10000)
    # The teacher CPD hours the partnership plans over the grant: the process evaluation's
    # "delivered of plan" (fidelity), as a cluster's CPD plan items give it for a cluster.
    planned_cpd_hours = models.DecimalField(
        "Planned teacher CPD hours", max_digits=6, decimal_places=1, null=True, blank=True
    )
    planned_student_activities = models.TextField(blank=True, max_length=10000)
    timeline = models.TextField(blank=True, max_length=10000)
    declaration_accurate = models.BooleanField(default=False)
    declaration_state_funded = models.BooleanField(default=False)
    declaration_data_sharing = models.BooleanField(default=False)

    # The programme's cap when the application was started: the database checks
    # requested <= grant_cap, so even a bypassed service cannot ask for more.
    grant_cap = models.DecimalField(**MONEY)
    requested = models.DecimalField(**MONEY, default=Decimal("0.00"))
    awarded = models.DecimalField(**MONEY, null=True, blank=True)

    current_step = models.PositiveSmallIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-created_at"]
        indexes = [
            models.Index(fields=["cohort", "status"]),
            models.Index(fields=["status", "submitted_at"]),
            # The review queue's order: page 1 walks this index and stops after a page (docs/performance.md).
            models.Index(fields=["-submitted_at", "-created_at", "-id"], name="application_queue_order"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(requested__gte=0), name="application_requested_gte_0"),
            models.CheckConstraint(
                condition=Q(planned_cpd_hours__isnull=True)
                | Q(planned_cpd_hours__gt=0, planned_cpd_hours__lte=1000),
                name="application_planned_cpd_hours_0_1000",
            ),
            models.CheckConstraint(
                condition=Q(requested__lte=F("grant_cap")), name="application_requested_lte_cap"
            ),
            models.CheckConstraint(
                condition=Q(awarded__isnull=True) | Q(awarded__gte=0, awarded__lte=F("requested")),
                name="application_awarded_0_to_requested",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "completed"]) | Q(awarded__isnull=False),
                name="application_approved_has_award",
            ),
        ]

    def __str__(self):
        return self.reference or f"Draft application for {self.partnership}"

    @property
    def final_report(self):
        """The end-of-grant report, or None (a grant has one report of each kind)."""
        return self.reports.filter(kind="final").first()


class BudgetLine(models.Model):
    class Category(models.TextChoices):
        SUPPLY_COVER = "supply_cover", "Supply cover"
        TRAVEL = "travel", "Travel"
        RESOURCES = "resources", "Resources and equipment"
        EXTERNAL_PROVIDER = "external_provider", "External provider"
        OTHER = "other", "Other"

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="budget_lines")
    category = models.CharField(max_length=20, choices=Category.choices)
    amount = models.DecimalField(**MONEY)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="budgetline_amount_gt_0")]

    def __str__(self):
        return f"{self.get_category_display()}: £{self.amount:,.2f}"


# What each audit action reads as in histories, CSVs and e-mails (issue 21): `AuditEvent.action`
# is free text (no choices: adding one is not a migration), so the words live here and are
# registered with portal.labels in GrantsConfig.ready. tests/portal/test_words.py fails on an
# action a service records without an entry.
# Every audit action in words: the one source (issue 21). Pages, CSVs, filters and e-mails read it
# through portal.labels ("audit_action"); the history sentences (grants.history) read it too.
AUDIT_ACTIONS = {
    "started": "Application started",
    "submitted": "Submitted",
    "resubmitted": "Resubmitted after changes",
    "scored": "Scored",
    "approved": "Approved",
    "rejected": "Rejected",
    "changes_requested": "Changes requested",
    "withdrawn": "Withdrawn",
    "withdrawn_claim_rejected": "Withdrawn: the lead's claim to the school was refused",
    "below_minimum": "Fell below the minimum of schools",
    "payment_paid": "Instalment marked paid",
    "payment_part_paid": "Part of an instalment paid",
    "report_submitted": "Report submitted",
    "report_resubmitted": "Report resubmitted after comments",
    "report_accepted": "Report accepted",
    "interim_report_accepted": "Interim report accepted",
    "report_returned": "Report returned with comments",
    "agreement_offered": "Grant agreement offered",
    "agreement_accepted": "Grant agreement accepted",
    "agreement_declined": "Grant agreement declined",
    "agreement_lapsed": "Grant agreement lapsed (not accepted in time)",
    "schedule_changed": "Payment schedule changed",
    "payment_released": "Payment released",
    "payment_cancelled": "Payment cancelled",
    "payment_reclaimed": "Payment reclaimed",
    "deadline_extended": "Submission deadline extended",
    "window_reopened": "Submission window reopened",
    "variation_requested": "Budget change asked for",
    "variation_approved": "Budget change approved",
    "variation_refused": "Budget change refused",
    # the review side (grants.review), shown to programme staff only
    "reviewed": "Review recorded",
    "review_revised": "Review revised",
    "reviewer_assigned": "Reviewer assigned",
    "reviewer_unassigned": "Reviewer unassigned",
    "conflict_declared": "Conflict of interest declared",
    "conflict_overridden": "Conflict of interest overridden",
    "panel_approved": "Approved by the panel",
}


class AuditEvent(models.Model):
    """Append-only: one row per state change or decision, never edited or deleted."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="audit_events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=40)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.action} by {self.actor} at {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Audit events cannot be deleted.")

    @classmethod
    def record(cls, application, *, by, action, from_status="", to_status="", comment="") -> "AuditEvent":
        return cls.objects.create(
            application=application,
            actor=by,
            action=action,
            from_status=from_status,
            to_status=to_status,
            comment=comment,
        )


class ProgrammeFinanceEvent(models.Model):
    """Append-only history of a programme's finance set-up (grants.programme_finance): who changed
    its cost codes (which every finance export carries), its payment schedule template or its
    agreement terms, when, and from what to what. Never edited or deleted (here, and by a
    PostgreSQL trigger, migration 0019)."""

    class Action(models.TextChoices):
        COST_CODES = "cost_codes", "Cost codes changed"
        SCHEDULE_TEMPLATE = "schedule_template", "Payment schedule template changed"
        TERMS_PUBLISHED = "terms_published", "Agreement terms published"

    programme = models.ForeignKey(
        "partnerships.Programme", on_delete=models.PROTECT, related_name="finance_events"
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["programme", "-at"], name="grants_progfinevent_recent")]

    def __str__(self):
        return f"{self.get_action_display()} by {self.actor} at {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("The finance set-up's history cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("The finance set-up's history cannot be deleted.")


class Score(models.Model):
    class Criterion(models.TextChoices):
        NEED = "need", "Need"
        PARTNERSHIP_STRENGTH = "partnership_strength", "Partnership strength"
        CPD_QUALITY = "cpd_quality", "CPD quality"
        VALUE_FOR_MONEY = "value_for_money", "Value for money"

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="scores")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    criterion = models.CharField(max_length=24, choices=Criterion.choices)
    score = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    comment = models.TextField(blank=True, max_length=5000)
    scored_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["application", "reviewer", "criterion"], name="score_once_per_criterion"
            ),
            models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="score_1_5"),
        ]

    def __str__(self):
        return f"{self.get_criterion_display()}: {self.score}"


class Payment(models.Model):
    """One instalment of an award: scheduled -> released -> paid (in one or more transfers,
    `PaymentRecord`), or cancelled (nothing paid) / reclaimed (paid, then money asked back),
    each with a reason. The instalments of a grant always add up to its award, to the penny
    (grants/payments.py; PostgreSQL trigger `payment_schedule_sums_to_award`)."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        RELEASED = "released", "Released"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled"
        RECLAIMED = "reclaimed", "Reclaimed"

    class Trigger(models.TextChoices):
        ON_APPROVAL = "on_approval", "On approval"  # awards before issue 19 (no agreement)
        AGREEMENT_ACCEPTED = "agreement_accepted", "When the grant agreement is accepted"
        ON_INTERIM_REPORT = "on_interim_report", "When the interim report is accepted"
        ON_FINAL_REPORT = "on_final_report", "When the end-of-grant report is accepted"
        ON_DATE = "on_date", "On a date"

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="payments")
    sequence = models.PositiveSmallIntegerField()
    amount = models.DecimalField(**MONEY)
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    due_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    paid_at = models.DateTimeField(null=True, blank=True)
    # The sum of its transfers (PaymentRecord), kept by the service under the row's lock.
    paid_amount = models.DecimalField(**MONEY, default=Decimal("0.00"))
    reclaimed_amount = models.DecimalField(**MONEY, default=Decimal("0.00"))
    reason = models.TextField(blank=True, max_length=5000)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["application", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["application", "sequence"], name="payment_unique_sequence"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="payment_amount_gte_0"),
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(paid_at__isnull=False), name="payment_paid_has_date"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["scheduled", "cancelled"]) | Q(released_at__isnull=False),
                name="payment_released_has_date",
            ),
            models.CheckConstraint(
                condition=Q(paid_amount__gte=0, paid_amount__lte=F("amount")),
                name="payment_paid_within_amount",
            ),
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(paid_amount=F("amount")), name="payment_paid_in_full"
            ),
            models.CheckConstraint(
                condition=Q(paid_amount=0) | Q(status__in=["released", "paid", "reclaimed"]),
                name="payment_paid_only_when_released",
            ),
            models.CheckConstraint(
                condition=Q(reclaimed_amount__gte=0, reclaimed_amount__lte=F("paid_amount"))
                & (Q(reclaimed_amount=0) | Q(status="reclaimed")),
                name="payment_reclaimed_within_paid",
            ),
            models.CheckConstraint(
                condition=Q(trigger="on_date", due_on__isnull=False)
                | (~Q(trigger="on_date") & Q(due_on__isnull=True)),
                name="payment_date_trigger_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["cancelled", "reclaimed"]) | GreaterThan(Length("reason"), 0),
                name="payment_closed_has_reason",
            ),
        ]

    def __str__(self):
        return f"Instalment {self.sequence} of {self.application}: £{self.amount:,.2f}"

    @property
    def outstanding(self) -> Decimal:
        """Released and not yet paid."""
        return self.amount - self.paid_amount if self.status == self.Status.RELEASED else Decimal("0.00")


class ReportDefinition(models.Model):
    """A report a programme asks of every grant it awards (an interim report at the end of year
    one, a final report): its due date is set at award, this many months after it. A programme
    with none asks for the final report only, due at the cohort's end (`Cohort.ends_on`)."""

    class Kind(models.TextChoices):
        INTERIM = "interim", "Interim report"
        FINAL = "final", "End-of-grant report"

    programme = models.ForeignKey(
        "partnerships.Programme", on_delete=models.CASCADE, related_name="report_definitions"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    title = models.CharField(max_length=100, blank=True)
    due_months_after_award = models.PositiveSmallIntegerField(default=12)

    class Meta:
        ordering = ["programme", "due_months_after_award", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "kind"], name="reportdefinition_once_per_kind"),
            models.CheckConstraint(
                condition=Q(due_months_after_award__gte=1, due_months_after_award__lte=60),
                name="reportdefinition_due_1_to_60_months",
            ),
        ]

    def __str__(self):
        return f"{self.title or self.get_kind_display()} ({self.programme})"


class EndOfGrantReport(models.Model):
    """A grantee's report: the final (end-of-grant) report, or an interim one. Reviewed by staff:
    submitted → accepted, or returned with comments → (revised) submitted → accepted."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        RETURNED = "returned", "Returned with comments"
        ACCEPTED = "accepted", "Accepted"

    Kind = ReportDefinition.Kind

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="reports")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.FINAL)
    due_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    activities = models.ManyToManyField(CPDActivity, blank=True, related_name="+")
    teachers_reached = models.PositiveIntegerField(default=0)
    students_reached = models.PositiveIntegerField(default=0)
    outcomes = models.TextField(blank=True, max_length=10000)
    barriers = models.JSONField(default=list, blank=True)
    facilitators = models.JSONField(default=list, blank=True)
    # ENTHUSE-style impact questions: {question key: answer key} (grants/reports.py IMPACT_QUESTIONS).
    impact = models.JSONField(default=dict, blank=True)
    staff_comment = models.TextField(blank=True, max_length=5000)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["application", "kind"], name="report_once_per_kind"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.application}"


class ReportSpend(models.Model):
    report = models.ForeignKey(EndOfGrantReport, on_delete=models.CASCADE, related_name="spend")
    category = models.CharField(max_length=20, choices=BudgetLine.Category.choices)
    spent = models.DecimalField(**MONEY)
    explanation = models.CharField(max_length=1000, blank=True)  # why spend differs from the budget

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "category"], name="reportspend_once_per_category"),
            models.CheckConstraint(condition=Q(spent__gte=0), name="reportspend_spent_gte_0"),
        ]

    def __str__(self):
        return f"{self.get_category_display()}: £{self.spent:,.2f}"


MESSAGE_BODY_MAX = 5000


class ApplicationMessage(models.Model):
    """One message of an application's conversation between its lead school and programme
    staff. A staff note (`staff_only`) is never shown or sent to the applicant."""

    BODY_MAX = MESSAGE_BODY_MAX

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(max_length=BODY_MAX)
    staff_only = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    GreaterThan(Length("body"), 0), LessThanOrEqual(Length("body"), MESSAGE_BODY_MAX)
                ),
                name="applicationmessage_body_length",
            )
        ]

    def __str__(self):
        return f"{'Staff note' if self.staff_only else 'Message'} by {self.author} on {self.application_id}"


# --- Files: attachments on applications and evidence on reports (issue 20) -------------------

ATTACHMENT_HARD_MAX_BYTES = 25 * 1024 * 1024  # no attachment type may allow more (a database check)


class AttachmentType(models.Model):
    """A file a programme asks applicants for: required or optional, one per application or one
    per partner school (a letter of support), the formats it accepts and its size limit."""

    class Format(models.TextChoices):
        PDF = "pdf", "PDF document"
        DOCX = "docx", "Word document (.docx)"
        XLSX = "xlsx", "Excel spreadsheet (.xlsx)"
        CSV = "csv", "CSV file"
        PNG = "png", "PNG image"
        JPEG = "jpeg", "JPEG image"

    programme = models.ForeignKey(
        "partnerships.Programme", on_delete=models.CASCADE, related_name="attachment_types"
    )
    name = models.CharField(max_length=100)
    help_text = models.CharField(max_length=500, blank=True)
    required = models.BooleanField(default=False)
    per_partner_school = models.BooleanField(
        default=False, help_text="One file for each confirmed partner school (a letter of support)."
    )
    formats = models.JSONField(default=list, help_text='Format keys the type accepts, e.g. ["pdf"].')
    max_bytes = models.PositiveIntegerField(default=10 * 1024 * 1024)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["programme", "order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "name"], name="attachmenttype_unique_name"),
            models.CheckConstraint(
                condition=Q(max_bytes__gt=0, max_bytes__lte=ATTACHMENT_HARD_MAX_BYTES),
                name="attachmenttype_max_bytes_bounded",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.programme})"


def _attachment_path(instance, filename) -> str:
    # The stored name never carries the uploader's name: a random key and the detected extension.
    import uuid

    ext = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    return f"attachments/{instance.application_id}/{uuid.uuid4().hex}.{ext}"


class Attachment(models.Model):
    """One stored file. An application's attachment has a type (and a school, for a per-school
    type); a report's evidence has a report. A file frozen with a submitted version is never
    changed or deleted: replacing it marks it superseded and stores a new row."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the virus check"
        CLEAN = "clean", "Ready"
        QUARANTINED = "quarantined", "Quarantined"

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="attachments")
    attachment_type = models.ForeignKey(
        AttachmentType, on_delete=models.PROTECT, null=True, blank=True, related_name="attachments"
    )
    school = models.ForeignKey(
        "partnerships.School", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    report = models.ForeignKey(
        "grants.EndOfGrantReport", on_delete=models.PROTECT, null=True, blank=True, related_name="evidence"
    )
    file = models.FileField(upload_to=_attachment_path, max_length=200)
    original_name = models.CharField(max_length=255)
    download_name = models.CharField(max_length=120)
    format = models.CharField(max_length=8, choices=AttachmentType.Format.choices)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    scan_note = models.CharField(max_length=200, blank=True)
    caption = models.CharField(max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)
    frozen_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["uploaded_at", "pk"]
        indexes = [models.Index(fields=["application", "superseded_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(size__gt=0, size__lte=ATTACHMENT_HARD_MAX_BYTES), name="attachment_size_bounded"
            ),
            models.CheckConstraint(
                condition=Q(attachment_type__isnull=False, report__isnull=True)
                | Q(attachment_type__isnull=True, report__isnull=False, school__isnull=True),
                name="attachment_type_xor_report",
            ),
            models.CheckConstraint(
                condition=Q(superseded_at__isnull=True) | Q(frozen_at__isnull=False),
                name="attachment_only_frozen_superseded",
            ),
            # One current file per type (and school) of an application.
            models.UniqueConstraint(
                F("application"),
                F("attachment_type"),
                Coalesce("school", Value(0)),
                condition=Q(superseded_at__isnull=True, attachment_type__isnull=False),
                name="attachment_one_current_per_type",
            ),
        ]

    def __str__(self):
        return f"{self.download_name} ({self.get_status_display()})"

    @property
    def servable(self) -> bool:
        return self.status == self.Status.CLEAN


# The review models (issue 17) live in their own module; importing them here registers them
# with the grants app.
# Finance (issue 19): schedules, transfers, agreements, payee details. Kept in their own module;
# imported here so that Django registers them with the grants app.
from grants.extension_models import DeadlineExtension  # noqa: E402
from grants.finance_models import (  # noqa: E402
    AgreementTerms,
    BudgetVariation,
    GrantAgreement,
    PayeeChange,
    PayeeDetails,
    PaymentRecord,
    ScheduleStep,
)
from grants.review_models import (  # noqa: E402
    ConflictDeclaration,
    ConflictOverride,
    CriterionScore,
    ProgrammeReviewer,
    Review,
    ReviewerAssignment,
    ReviewSettings,
    Rubric,
    RubricCriterion,
)

__all__ = [
    "MONEY",
    "AgreementTerms",
    "Application",
    "ApplicationMessage",
    "Attachment",
    "AttachmentType",
    "AuditEvent",
    "BudgetLine",
    "BudgetVariation",
    "ConflictDeclaration",
    "ConflictOverride",
    "CriterionScore",
    "DeadlineExtension",
    "EndOfGrantReport",
    "GrantAgreement",
    "PayeeChange",
    "PayeeDetails",
    "Payment",
    "PaymentRecord",
    "ProgrammeReviewer",
    "ReportSpend",
    "Review",
    "ReviewSettings",
    "ReviewerAssignment",
    "Rubric",
    "RubricCriterion",
    "ScheduleStep",
    "Score",
]
