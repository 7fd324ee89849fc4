"""Payment schedules and payments, as the finance team works (issue 19). Every write that moves
money: keyword-only, check who may (PermissionDenied), lock, validate (ValidationError with a
plain-English message), save, audit, message.

    scheduled → released → paid (one or more transfers: date, amount, reference, who)
    scheduled | released (nothing paid) → cancelled (reason);   paid | part paid → reclaimed (reason)

The rules, each also held by the database:
- a grant's instalments add up to its award, to the penny (service; PostgreSQL deferred
  constraint trigger `payment_schedule_sums_to_award`, migration 0011);
- nothing is released before the grant agreement is accepted (service; trigger
  `payment_release_needs_agreement`), for every grant awarded with an agreement;
- an instalment is never paid for more than it is, nor the same transfer recorded twice
  (service under the row lock; `payment_paid_within_amount`, `paymentrecord_reference_once`,
  trigger `paymentrecord_matches_paid`).

Rounding of a schedule (schedule_amounts): fixed amounts are exact; a percentage is of the
award, rounded half up to the penny; the remaining balance (award − fixed − percentages) is
split equally between the "remaining balance" instalments, the odd pennies going to the earliest.
So £12,000 in three remaining-balance thirds is £4,000.00 each, and £10,000 is £3,333.34 +
£3,333.33 + £3,333.33. A template without a remaining-balance step must have percentages that
add up to exactly 100 and no fixed amount; its last instalment takes the rounding difference.
"""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import DecimalField, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from grants import notifications
from grants.models import Application, AuditEvent, GrantAgreement, Payment, PaymentRecord, ScheduleStep
from portal.money import PENNY, format_gbp, money
from portal.roles import is_finance

P = Payment.Status
T = Payment.Trigger
REASON_LIMIT = 5000
REFERENCE_LIMIT = 100
ZERO = Decimal("0.00")
MONEY_FIELD = DecimalField(max_digits=12, decimal_places=2)
# Conditions under which an instalment may be released (besides an accepted agreement).
REPORT_TRIGGERS = (T.ON_INTERIM_REPORT, T.ON_FINAL_REPORT)


@dataclass(frozen=True)
class Instalment:
    amount: Decimal
    trigger: str
    due_on: date | None = None


def _ensure_finance(by) -> None:
    if not is_finance(by):
        raise PermissionDenied("Only the finance team can do this.")


def _reason(reason, field="reason") -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({field: "Give the reason: it is kept in the grant's history."})
    if len(reason) > REASON_LIMIT:
        raise ValidationError({field: f"Keep it to {REASON_LIMIT:,} characters (it has {len(reason):,})."})
    return reason


def _audit(application, *, by, action, comment) -> None:
    AuditEvent.record(
        application,
        by=by,
        action=action,
        from_status=application.status,
        to_status=application.status,
        comment=comment,
    )


# --- Schedules ----------------------------------------------------------------------------------


def default_steps(programme) -> list[ScheduleStep]:
    """A programme without a template: its first-instalment percentage when the agreement is
    accepted, the rest when the end-of-grant report is accepted (the portal's old rule)."""
    steps = []
    if programme.first_instalment_percent:
        steps.append(
            ScheduleStep(
                kind=ScheduleStep.Kind.PERCENT,
                percent=Decimal(programme.first_instalment_percent),
                trigger=T.AGREEMENT_ACCEPTED,
            )
        )
    steps.append(ScheduleStep(kind=ScheduleStep.Kind.REMAINDER, trigger=T.ON_FINAL_REPORT))
    return steps


def template_problems(steps) -> list[str]:
    """What makes a list of steps unusable as a template (for the admin and the award)."""
    problems = []
    if not steps:
        return ["Add at least one instalment."]
    remainders = [s for s in steps if s.kind == ScheduleStep.Kind.REMAINDER]
    percents = sum((s.percent or ZERO for s in steps if s.kind == ScheduleStep.Kind.PERCENT), ZERO)
    fixed = [s for s in steps if s.kind == ScheduleStep.Kind.FIXED]
    if percents > 100:
        problems.append(f"The percentages add up to {percents}%, more than 100%.")
    if not remainders and (percents != 100 or fixed):
        problems.append(
            "Without a “remaining balance” instalment the percentages must add up to exactly 100% and "
            "there can be no fixed amount: add a remaining-balance instalment."
        )
    for step in steps:
        if (step.trigger == T.ON_DATE) != (step.due_on is not None):
            problems.append("An instalment paid on a date needs its date (and only that kind has one).")
    return problems


def schedule_amounts(steps, award: Decimal) -> list[Instalment]:
    """The instalments of `award` under `steps` (the rounding rule is in the module's docstring).
    Zero instalments are left out."""
    award = money(award)
    problems = template_problems(steps)
    if problems:
        raise ValidationError("This programme's payment schedule cannot be used: " + " ".join(problems))
    amounts: list[Decimal | None] = []
    for step in steps:
        if step.kind == ScheduleStep.Kind.FIXED:
            amounts.append(money(step.amount))
        elif step.kind == ScheduleStep.Kind.PERCENT:
            amounts.append(money(award * step.percent / 100))
        else:
            amounts.append(None)
    left = award - sum((a for a in amounts if a is not None), ZERO)
    remainder_slots = [i for i, a in enumerate(amounts) if a is None]
    if left < 0 and remainder_slots:
        raise ValidationError(
            {
                "amount": f"This programme's payment schedule needs {format_gbp(award - left)} in fixed and "
                f"percentage instalments, more than the award of {format_gbp(award)}."
            }
        )
    if remainder_slots:
        share = (left / len(remainder_slots)).quantize(PENNY, rounding=ROUND_DOWN)
        odd = int((left - share * len(remainder_slots)) / PENNY)
        for n, i in enumerate(remainder_slots):
            amounts[i] = share + (PENNY if n < odd else ZERO)
    else:
        amounts[-1] += left  # percentages of exactly 100%: the last takes the rounding
    instalments = [
        Instalment(amount, step.trigger, step.due_on) for step, amount in zip(steps, amounts, strict=True)
    ]
    total = sum((i.amount for i in instalments), ZERO)
    assert total == award, (total, award)
    return [i for i in instalments if i.amount > 0]


def programme_steps(programme) -> list[ScheduleStep]:
    return list(programme.schedule_steps.order_by("sequence")) or default_steps(programme)


def schedule_apply(application: Application, *, award: Decimal) -> list[Payment]:
    """At award (inside application_approve's transaction): the programme's schedule as
    scheduled instalments. Nothing is released: the agreement comes first."""
    instalments = schedule_amounts(programme_steps(application.cohort.programme), award)
    return [
        Payment.objects.create(
            application=application, sequence=n, amount=i.amount, trigger=i.trigger, due_on=i.due_on
        )
        for n, i in enumerate(instalments, start=1)
    ]


def _parse_instalments(rows) -> list[Instalment]:
    from grants.services import _amount  # the one parser of typed amounts

    parsed, errors = [], []
    triggers = {t for t in T.values if t != T.ON_APPROVAL}
    for number, row in enumerate(rows, start=1):
        trigger = row.get("trigger")
        if trigger not in triggers:
            errors.append(f"Instalment {number}: choose when it is paid.")
            continue
        try:
            amount = _amount(row.get("amount"), "instalments")
        except ValidationError:
            errors.append(f"Instalment {number}: enter an amount in pounds and pence.")
            continue
        if amount <= 0:
            errors.append(f"Instalment {number}: the amount must be more than £0.00.")
        due_on = row.get("due_on") or None
        if isinstance(due_on, str):
            try:
                due_on = date.fromisoformat(due_on)
            except ValueError:
                errors.append(f"Instalment {number}: enter the date as YYYY-MM-DD.")
                continue
        if trigger == T.ON_DATE and due_on is None:
            errors.append(f"Instalment {number}: give the date it is paid on.")
        if trigger != T.ON_DATE:
            due_on = None
        parsed.append(Instalment(amount, trigger, due_on))
    if errors:
        raise ValidationError({"instalments": errors})
    return parsed


def schedule_change(*, application_id: int, by, instalments: list[dict], reason: str) -> list[Payment]:
    """Finance changes one grant's schedule: the instalments not yet released are replaced by
    `instalments` ({amount, trigger, due_on}); with those already released, paid or closed they
    must add up to the award, to the penny."""
    _ensure_finance(by)
    with transaction.atomic():
        application = Application.objects.select_for_update(of=("self",)).get(pk=application_id)
        if application.status != Application.Status.APPROVED:
            raise ValidationError(
                "Only an approved grant's schedule can change; this one is "
                f"{application.get_status_display().lower()}."
            )
        reason = _reason(reason)
        new = _parse_instalments(instalments)
        payments = list(application.payments.select_for_update().order_by("sequence"))
        kept = [p for p in payments if p.status != P.SCHEDULED]
        total = sum((p.amount for p in kept), ZERO) + sum((i.amount for i in new), ZERO)
        if total != application.awarded:
            gap = application.awarded - total
            raise ValidationError(
                {
                    "instalments": f"The instalments add up to {format_gbp(total)}, but the award is "
                    f"{format_gbp(application.awarded)}: "
                    + (f"{format_gbp(gap)} short." if gap > 0 else f"{format_gbp(-gap)} over.")
                }
            )
        before = "; ".join(
            f"{p.sequence}: {format_gbp(p.amount)} {p.get_trigger_display().lower()}" for p in payments
        )
        Payment.objects.filter(pk__in=[p.pk for p in payments if p.status == P.SCHEDULED]).delete()
        start = max((p.sequence for p in kept), default=0) + 1
        created = [
            Payment.objects.create(
                application=application, sequence=n, amount=i.amount, trigger=i.trigger, due_on=i.due_on
            )
            for n, i in enumerate(new, start=start)
        ]
        after = "; ".join(
            f"{p.sequence}: {format_gbp(p.amount)} {p.get_trigger_display().lower()}"
            for p in [*kept, *created]
        )
        _audit(
            application,
            by=by,
            action="schedule_changed",
            comment=f"Payment schedule changed. Reason: {reason}\nBefore: {before}\nAfter: {after}",
        )
    return created


# --- Releasing -----------------------------------------------------------------------------------


def agreement_accepted(application) -> bool:
    """No agreement (an award made before agreements existed) counts as accepted."""
    agreement = GrantAgreement.objects.filter(application_id=application.pk).first()
    return agreement is None or agreement.status == GrantAgreement.Status.ACCEPTED


def release_blocker(payment: Payment, *, today: date | None = None) -> str:
    """Why this instalment cannot be released now, or "" when it can."""
    today = today or timezone.localdate()
    application = payment.application
    if payment.status != P.SCHEDULED:
        return f"Instalment {payment.sequence} is {payment.get_status_display().lower()}, not scheduled."
    if application.status != Application.Status.APPROVED and payment.trigger != T.ON_FINAL_REPORT:
        return f"The grant is {application.get_status_display().lower()}."
    if not agreement_accepted(application):
        return "The lead school has not accepted the grant agreement yet: nothing can be released before."
    if payment.trigger == T.ON_DATE and payment.due_on > today:
        return f"Instalment {payment.sequence} is due on {payment.due_on:%d %B %Y}."
    if payment.trigger in REPORT_TRIGGERS:
        if payment.trigger == T.ON_FINAL_REPORT and application.status == Application.Status.COMPLETED:
            return ""
        return f"Instalment {payment.sequence} is released {payment.get_trigger_display().lower()}."
    return ""


def payment_release(*, payment_id: int, by) -> Payment:
    """Finance releases an instalment whose condition is met (agreement accepted, its date come)."""
    _ensure_finance(by)
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("application").get(pk=payment_id)
        if payment.status == P.RELEASED:
            return payment
        blocker = release_blocker(payment)
        if blocker:
            raise ValidationError(blocker)
        payment.status, payment.released_at, payment.released_by = P.RELEASED, timezone.now(), by
        payment.save(update_fields=["status", "released_at", "released_by"])
        _audit(
            payment.application,
            by=by,
            action="payment_released",
            comment=f"Instalment {payment.sequence} ({format_gbp(payment.amount)}) released.",
        )
    return payment


def release_on(application: Application, *, trigger: str, by, now=None) -> int:
    """A report was accepted (inside that service's transaction): its instalments are released,
    if the agreement is accepted (else they wait, and finance releases them after). Returns how
    many."""
    if not agreement_accepted(application):
        return 0
    now = now or timezone.now()
    released = application.payments.filter(status=P.SCHEDULED, trigger=trigger).update(
        status=P.RELEASED, released_at=now, released_by=by
    )
    return released


# --- Paying ---------------------------------------------------------------------------------------


def payment_record(*, payment_id: int, by, amount, paid_on, reference: str) -> PaymentRecord:
    """Finance records a transfer against a released instalment: all of what is outstanding, or
    part of it (a partial payment). Never more than is outstanding; the same reference twice on
    one instalment is the same transfer and is refused. The lead school gets a remittance notice."""
    from grants.services import _amount

    _ensure_finance(by)
    amount = _amount(amount, "amount")
    reference = (reference or "").strip()
    if not reference:
        raise ValidationError({"reference": "Enter the payment reference from the finance system."})
    if len(reference) > REFERENCE_LIMIT:
        raise ValidationError({"reference": f"Keep the reference to {REFERENCE_LIMIT} characters."})
    if isinstance(paid_on, str):
        try:
            paid_on = date.fromisoformat(paid_on)
        except ValueError:
            raise ValidationError({"paid_on": "Enter the date as YYYY-MM-DD."}) from None
    if not isinstance(paid_on, date):
        raise ValidationError({"paid_on": "Enter the date the money left the account."})
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("application").get(pk=payment_id)
        if payment.status != P.RELEASED:
            if payment.status == P.PAID:
                raise ValidationError(f"Instalment {payment.sequence} has already been paid in full.")
            raise ValidationError(
                f"Instalment {payment.sequence} has not been released yet: it is "
                f"{payment.get_status_display().lower()}."
            )
        if amount <= 0:
            raise ValidationError({"amount": "Enter an amount of more than £0.00."})
        outstanding = payment.amount - payment.paid_amount
        if amount > outstanding:
            raise ValidationError(
                {
                    "amount": f"{format_gbp(amount)} is more than the {format_gbp(outstanding)} still to pay "
                    "on "
                    f"instalment {payment.sequence}."
                }
            )
        if payment.records.filter(reference=reference).exists():
            raise ValidationError(
                {
                    "reference": f"A transfer with the reference “{reference}” is already recorded on this "
                    "instalment."
                }
            )
        today = timezone.localdate()
        if paid_on > today:
            raise ValidationError({"paid_on": "The payment date cannot be in the future."})
        if paid_on < timezone.localdate(payment.released_at):
            raise ValidationError(
                {
                    "paid_on": "The instalment was released on "
                    f"{timezone.localdate(payment.released_at):%d %B %Y}."
                }
            )
        record = PaymentRecord.objects.create(
            payment=payment, amount=amount, paid_on=paid_on, reference=reference, recorded_by=by
        )
        payment.paid_amount += amount
        fields = ["paid_amount"]
        if payment.paid_amount == payment.amount:
            payment.status, payment.paid_at = P.PAID, timezone.now()
            fields += ["status", "paid_at"]
        payment.save(update_fields=fields)
        in_full = payment.status == P.PAID
        _audit(
            payment.application,
            by=by,
            action="payment_paid" if in_full else "payment_part_paid",
            comment=f"Instalment {payment.sequence}: {format_gbp(amount)} paid on {paid_on:%d %B %Y}, "
            "reference "
            f"{reference}"
            + ("" if in_full else f"; {format_gbp(payment.amount - payment.paid_amount)} still to pay."),
        )
        notifications.send_remittance(record)
    return record


def payment_cancel(*, payment_id: int, by, reason: str) -> Payment:
    """An instalment with nothing paid will not be paid (the award stays as decided)."""
    _ensure_finance(by)
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("application").get(pk=payment_id)
        if payment.status == P.CANCELLED:
            return payment
        if payment.status not in (P.SCHEDULED, P.RELEASED) or payment.paid_amount > 0:
            raise ValidationError(
                f"Instalment {payment.sequence} has money paid on it: reclaim it instead of cancelling."
            )
        reason = _reason(reason)
        payment.status, payment.reason, payment.closed_at = P.CANCELLED, reason, timezone.now()
        payment.save(update_fields=["status", "reason", "closed_at"])
        _audit(
            payment.application,
            by=by,
            action="payment_cancelled",
            comment=f"Instalment {payment.sequence} ({format_gbp(payment.amount)}) cancelled. "
            f"Reason: {reason}",
        )
    return payment


def payment_reclaim(*, payment_id: int, by, amount, reason: str) -> Payment:
    """Money paid on an instalment is asked back (misuse, an underspend): up to what was paid."""
    from grants.services import _amount

    _ensure_finance(by)
    amount = _amount(amount, "amount")
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("application").get(pk=payment_id)
        if payment.status == P.RECLAIMED:
            raise ValidationError(f"Instalment {payment.sequence} has already been reclaimed.")
        if payment.paid_amount <= 0:
            raise ValidationError(
                f"Nothing has been paid on instalment {payment.sequence}: cancel it instead."
            )
        if not 0 < amount <= payment.paid_amount:
            raise ValidationError(
                {"amount": f"Reclaim between £0.01 and the {format_gbp(payment.paid_amount)} paid."}
            )
        reason = _reason(reason)
        payment.status, payment.reclaimed_amount = P.RECLAIMED, amount
        payment.reason, payment.closed_at = reason, timezone.now()
        payment.save(update_fields=["status", "reclaimed_amount", "reason", "closed_at"])
        _audit(
            payment.application,
            by=by,
            action="payment_reclaimed",
            comment=f"{format_gbp(amount)} of instalment {payment.sequence} reclaimed. Reason: {reason}",
        )
    return payment


def schedule_total(application) -> Decimal:
    return application.payments.aggregate(t=Coalesce(Sum("amount"), ZERO, output_field=MONEY_FIELD))["t"]


# --- Commitments (the funder's accounts) -----------------------------------------------------------


@dataclass(frozen=True)
class Commitment:
    application: Application
    awarded: Decimal
    paid: Decimal
    reclaimed: Decimal
    cancelled: Decimal
    released_to_pay: Decimal
    scheduled_to_pay: Decimal

    @property
    def still_to_pay(self) -> Decimal:
        return self.released_to_pay + self.scheduled_to_pay


def commitments(cohort) -> list[Commitment]:
    """Each awarded grant of `cohort` (approved or completed): its award, what was paid and
    reclaimed, what was cancelled, and what is still to pay on released and on scheduled
    instalments (less any part paid). awarded = paid + cancelled + still to pay, to the penny.
    Two queries."""
    apps = list(
        Application.objects.filter(
            cohort=cohort, status__in=[Application.Status.APPROVED, Application.Status.COMPLETED]
        )
        .select_related("partnership__lead_school")
        .order_by("reference", "pk")
    )
    sums: dict[int, dict[str, Decimal]] = {a.pk: {} for a in apps}
    for p in Payment.objects.filter(application__in=apps).only(
        "application_id", "status", "amount", "paid_amount", "reclaimed_amount"
    ):
        s = sums[p.application_id]
        s["paid"] = s.get("paid", ZERO) + p.paid_amount
        s["reclaimed"] = s.get("reclaimed", ZERO) + p.reclaimed_amount
        open_part = p.amount - p.paid_amount
        if p.status == P.CANCELLED:
            s["cancelled"] = s.get("cancelled", ZERO) + p.amount
        elif p.status == P.RELEASED:
            s["released"] = s.get("released", ZERO) + open_part
        elif p.status == P.SCHEDULED:
            s["scheduled"] = s.get("scheduled", ZERO) + open_part
        elif p.status == P.RECLAIMED:
            s["cancelled"] = s.get("cancelled", ZERO) + open_part  # what was never paid will not be
    return [
        Commitment(
            application=a,
            awarded=a.awarded or ZERO,
            paid=sums[a.pk].get("paid", ZERO),
            reclaimed=sums[a.pk].get("reclaimed", ZERO),
            cancelled=sums[a.pk].get("cancelled", ZERO),
            released_to_pay=sums[a.pk].get("released", ZERO),
            scheduled_to_pay=sums[a.pk].get("scheduled", ZERO),
        )
        for a in apps
    ]
