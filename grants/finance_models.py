"""Finance models (issue 19): a programme's payment schedule template, the transfers that pay an
instalment, the grant agreement a lead accepts before money moves, and the school's payee
details. Imported by grants/models.py (Django registers them there); every write goes through
grants/payments.py, grants/agreements.py or grants/payees.py."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import GreaterThan

from grants.models import MONEY, Application, BudgetLine, Payment
from partnerships.models import Programme, School

NON_EMPTY = GreaterThan(Length("reference"), 0)


class ScheduleStep(models.Model):
    """One instalment of a programme's payment schedule template, applied to every award of the
    programme (grants.payments.schedule_for_award)."""

    class Kind(models.TextChoices):
        PERCENT = "percent", "A percentage of the award"
        FIXED = "fixed", "A fixed amount"
        REMAINDER = "remainder", "The remaining balance"

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="schedule_steps")
    sequence = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    amount = models.DecimalField(**MONEY, null=True, blank=True)
    trigger = models.CharField(max_length=20, choices=Payment.Trigger.choices)
    due_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["programme", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "sequence"], name="schedulestep_unique_sequence"),
            models.CheckConstraint(
                condition=(Q(kind="percent", percent__gt=0, percent__lte=100, amount__isnull=True))
                | Q(kind="fixed", amount__gt=0, percent__isnull=True)
                | Q(kind="remainder", amount__isnull=True, percent__isnull=True),
                name="schedulestep_kind_has_its_value",
            ),
            models.CheckConstraint(
                condition=Q(trigger="on_date", due_on__isnull=False)
                | (~Q(trigger="on_date") & Q(due_on__isnull=True)),
                name="schedulestep_date_trigger_has_date",
            ),
            models.CheckConstraint(condition=~Q(trigger="on_approval"), name="schedulestep_not_on_approval"),
        ]

    def __str__(self):
        return f"{self.programme}: instalment {self.sequence}"


class PaymentRecord(models.Model):
    """One transfer finance made against a released instalment: the date, the amount, the
    reference from the finance system and who recorded it. Several make a partial payment;
    together they never exceed the instalment (Payment.paid_amount, checked by
    `payment_paid_within_amount`, and by the trigger `paymentrecord_matches_paid` on
    PostgreSQL)."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="records")
    amount = models.DecimalField(**MONEY)
    paid_on = models.DateField()
    reference = models.CharField(max_length=100)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["payment", "recorded_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="paymentrecord_amount_gt_0"),
            models.CheckConstraint(condition=NON_EMPTY, name="paymentrecord_has_reference"),
            # The same transfer recorded twice (a double click, two finance officers) is refused.
            models.UniqueConstraint(fields=["payment", "reference"], name="paymentrecord_reference_once"),
        ]

    def __str__(self):
        return f"£{self.amount:,.2f} on {self.paid_on:%d %b %Y} ({self.reference})"

    def delete(self, *args, **kwargs):
        raise ValidationError("A recorded payment cannot be deleted: reclaim it instead.")


class AgreementTerms(models.Model):
    """A version of a programme's grant agreement terms and award conditions. The newest
    published version is offered with each award; an agreement keeps the exact text it offered."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="agreement_terms")
    version = models.CharField(max_length=40)
    conditions = models.TextField(max_length=20000)
    published_at = models.DateTimeField()

    class Meta:
        ordering = ["programme", "-published_at"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "version"], name="agreementterms_version_once")
        ]

    def __str__(self):
        return f"{self.programme} terms {self.version}"


class GrantAgreement(models.Model):
    """The agreement offered with an award: offered → accepted (name, role, time, the exact terms
    version), or declined (with a reason), or lapsed (not accepted by `respond_by`). No
    instalment of a grant with an agreement is released before it is accepted (grants.payments
    and the PostgreSQL trigger `payment_release_needs_agreement`)."""

    class Status(models.TextChoices):
        OFFERED = "offered", "Waiting for the lead to accept"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        LAPSED = "lapsed", "Not accepted by the deadline"

    application = models.OneToOneField(Application, on_delete=models.PROTECT, related_name="agreement")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OFFERED)
    terms_version = models.CharField(max_length=40)
    terms_text = models.TextField()
    terms_sha256 = models.CharField(max_length=64)
    offered_at = models.DateTimeField()
    respond_by = models.DateField()
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    responded_at = models.DateTimeField(null=True, blank=True)
    signed_name = models.CharField(max_length=200, blank=True)
    signed_role = models.CharField(max_length=200, blank=True)
    decline_reason = models.TextField(blank=True, max_length=5000)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="accepted")
                | Q(
                    GreaterThan(Length("signed_name"), 0),
                    GreaterThan(Length("signed_role"), 0),
                    responded_by__isnull=False,
                    responded_at__isnull=False,
                ),
                name="grantagreement_accepted_is_signed",
            ),
            models.CheckConstraint(
                condition=~Q(status="declined") | GreaterThan(Length("decline_reason"), 0),
                name="grantagreement_declined_has_reason",
            ),
        ]

    def __str__(self):
        return f"Grant agreement of {self.application} ({self.get_status_display().lower()})"


class PayeeDetails(models.Model):
    """Where a school's grant is paid: its finance contact and bank account. Shown masked to
    everyone but the finance team; every change is audited (PayeeChange) and confirmed by e-mail
    to the school's verified leads (grants.payees)."""

    school = models.OneToOneField(School, on_delete=models.PROTECT, related_name="payee")
    finance_contact_name = models.CharField(max_length=200)
    finance_contact_email = models.EmailField()
    account_name = models.CharField(max_length=18)  # BACS allows 18 characters
    sort_code = models.CharField(max_length=6)
    account_number = models.CharField(max_length=8)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "payee details"
        constraints = [
            models.CheckConstraint(
                condition=Q(sort_code__regex=r"^[0-9]{6}$"), name="payee_sort_code_6_digits"
            ),
            models.CheckConstraint(
                condition=Q(account_number__regex=r"^[0-9]{8}$"), name="payee_account_number_8_digits"
            ),
            models.CheckConstraint(
                condition=GreaterThan(Length("account_name"), 0), name="payee_has_account_name"
            ),
        ]

    def __str__(self):
        return f"Payee details of {self.school}"

    @property
    def sort_code_masked(self) -> str:
        return f"••-••-{self.sort_code[-2:]}"

    @property
    def account_number_masked(self) -> str:
        return f"••••{self.account_number[-4:]}"

    @property
    def sort_code_display(self) -> str:
        return f"{self.sort_code[:2]}-{self.sort_code[2:4]}-{self.sort_code[4:]}"


class PayeeChange(models.Model):
    """Append-only: who changed a school's payee details, when, and which fields (bank numbers
    masked: the audit trail never holds a full account number)."""

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="payee_changes")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    fields = models.JSONField(default=list)
    summary = models.TextField()

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"Payee details of {self.school} changed by {self.changed_by} at {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("Payee changes cannot be edited.")
        super().save(*args, **kwargs)


class BudgetVariation(models.Model):
    """After the award, the lead asks to move money from one budget line to another, with a
    reason; programme staff approve or refuse it (grants.variations). A variation moves money
    and never adds any: the award, and the total of the budget, stay as decided. An approved
    variation is final (PostgreSQL triggers, grants migration 0012: it never leaves a line below
    zero, and it cannot be changed or deleted)."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Waiting for a decision"
        APPROVED = "approved", "Approved"
        REFUSED = "refused", "Refused"

    Category = BudgetLine.Category

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="variations")
    from_category = models.CharField(max_length=20, choices=BudgetLine.Category.choices)
    to_category = models.CharField(max_length=20, choices=BudgetLine.Category.choices)
    amount = models.DecimalField(**MONEY)
    reason = models.TextField(max_length=5000)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True, max_length=5000)

    class Meta:
        ordering = ["application", "requested_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="budgetvariation_amount_gt_0"),
            models.CheckConstraint(
                condition=~Q(from_category=models.F("to_category")),
                name="budgetvariation_moves_between_lines",
            ),
            models.CheckConstraint(
                condition=GreaterThan(Length("reason"), 0), name="budgetvariation_has_reason"
            ),
            models.CheckConstraint(
                condition=Q(status="requested", decided_by__isnull=True, decided_at__isnull=True)
                | Q(status__in=["approved", "refused"], decided_by__isnull=False, decided_at__isnull=False),
                name="budgetvariation_decided_has_who_and_when",
            ),
            models.CheckConstraint(
                condition=~Q(status="refused") | GreaterThan(Length("decision_comment"), 0),
                name="budgetvariation_refused_has_reason",
            ),
        ]

    def __str__(self):
        return (
            f"£{self.amount:,.2f} from {self.get_from_category_display().lower()} to "
            f"{self.get_to_category_display().lower()} ({self.get_status_display().lower()})"
        )


ZERO = Decimal("0.00")
