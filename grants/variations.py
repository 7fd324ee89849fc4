"""Budget variations after award (issue 19): the lead school asks to move money from one budget
line to another, with a reason; programme staff approve or refuse it. The award never changes:
a variation moves money between the lines of the approved budget and adds none.

    requested → approved (the varied budget is the approved budget plus every approved move)
    requested → refused (with the reason, told to the lead school)

The rules, each also held by the database:
- a move is of more than £0.00, between two different lines, with a reason (CHECK constraints
  on grants_budgetvariation);
- an approved move never takes a line below £0.00 (service under the application's row lock;
  PostgreSQL trigger `budgetvariation_keeps_lines_above_zero`, which takes the same lock, so two
  staff approving at once cannot both spend the same pounds);
- an approved or refused variation is final, and the approved budget lines and the award are
  frozen once the grant is awarded (triggers `budgetvariation_decided_is_final`,
  `budgetline_frozen_after_award`, `application_award_fixed`; migration 0012).

Spend in the reports is asked and checked against the varied budget (`varied_budget`).
"""

from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

import messaging
from grants import selectors
from grants.models import Application, AuditEvent, BudgetLine, BudgetVariation
from partnerships.models import SchoolLead
from portal.money import format_gbp

V = BudgetVariation.Status
REASON_LIMIT = 5000
ZERO = Decimal("0.00")


def varied_budget(application, *, lines=None, variations=None) -> dict[str, Decimal]:
    """{category: amount} of the approved budget with every approved move applied (a category
    emptied by moves stays, at £0.00). Two queries (or none, given both)."""
    budget: dict[str, Decimal] = {}
    for line in application.budget_lines.all() if lines is None else lines:
        budget[line.category] = budget.get(line.category, ZERO) + line.amount
    approved = (
        application.variations.filter(status=V.APPROVED)
        if variations is None
        else [v for v in variations if v.status == V.APPROVED]
    )
    for v in approved:
        budget[v.from_category] = budget.get(v.from_category, ZERO) - v.amount
        budget[v.to_category] = budget.get(v.to_category, ZERO) + v.amount
    order = list(BudgetLine.Category.values)
    return dict(sorted(budget.items(), key=lambda kv: order.index(kv[0])))


def budget_rows(application) -> list[dict]:
    """For the pages: each line's approved amount, the moves, and the varied amount."""
    lines = list(application.budget_lines.all())
    variations = list(application.variations.all())
    approved = varied_budget(application, lines=lines, variations=[])
    varied = varied_budget(application, lines=lines, variations=variations)
    return [
        {
            "category": c,
            "label": BudgetLine.Category(c).label,
            "approved": approved.get(c, ZERO),
            "change": varied[c] - approved.get(c, ZERO),
            "varied": varied[c],
        }
        for c in varied
    ]


def may_ask(user, application) -> bool:
    """A verified lead of the lead school, while the grant runs."""
    return (
        application.status == Application.Status.APPROVED
        and selectors.is_lead_of(user, application.partnership)
        and SchoolLead.objects.filter(
            user=user, school_id=application.partnership.lead_school_id, verified_at__isnull=False
        ).exists()
    )


def may_decide(user, application) -> bool:
    return selectors.may_review(user, application) and not selectors.has_conflict_of_interest(
        user, application
    )


def _reason(text, field) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError({field: "Give the reason: it is kept in the grant's history."})
    if len(text) > REASON_LIMIT:
        raise ValidationError({field: f"Keep it to {REASON_LIMIT:,} characters (it has {len(text):,})."})
    return text


def _lock(application_id: int) -> Application:
    return (
        Application.objects.select_for_update(of=("self",))
        .select_related("partnership__lead_school", "cohort__programme")
        .get(pk=application_id)
    )


def _describe(v) -> str:
    return (
        f"{format_gbp(v.amount)} from {v.get_from_category_display().lower()} to "
        f"{v.get_to_category_display().lower()}"
    )


def _check_fits(application, from_category, amount) -> None:
    available = varied_budget(application).get(from_category, ZERO)
    if amount > available:
        raise ValidationError(
            {
                "amount": f"{format_gbp(amount)} is more than the {format_gbp(available)} left in "
                f"{BudgetLine.Category(from_category).label.lower()}."
            }
        )


def variation_request(
    *, application_id: int, by, from_category, to_category, amount, reason
) -> BudgetVariation:
    """A verified lead of the lead school asks to move `amount` between two budget lines."""
    from grants.services import _amount  # the one parser of typed amounts

    with transaction.atomic():
        application = _lock(application_id)
        if not may_ask(by, application):
            raise PermissionDenied("Only a verified lead of the lead school can ask to change the budget.")
        errors = {}
        categories = BudgetLine.Category.values
        if from_category not in categories:
            errors["from_category"] = "Choose the budget line the money comes from."
        if to_category not in categories:
            errors["to_category"] = "Choose the budget line the money goes to."
        elif from_category == to_category:
            errors["to_category"] = "Choose a different line from the one the money comes from."
        if errors:
            raise ValidationError(errors)
        amount = _amount(amount, "amount")
        if amount <= 0:
            raise ValidationError({"amount": "Enter an amount of more than £0.00."})
        reason = _reason(reason, "reason")
        _check_fits(application, from_category, amount)
        variation = BudgetVariation.objects.create(
            application=application,
            from_category=from_category,
            to_category=to_category,
            amount=amount,
            reason=reason,
            requested_by=by,
            requested_at=timezone.now(),
        )
        AuditEvent.record(
            application,
            by=by,
            action="variation_requested",
            from_status=application.status,
            to_status=application.status,
            comment=f"Asked to move {_describe(variation)}. Reason: {reason}",
        )
        messaging.send(
            "budget_variation_requested",
            selectors.programme_staff(application),
            {
                "name": _name(application),
                "paragraphs": [
                    f"{application.partnership.lead_school.name} asks to move {_describe(variation)} in the "
                    f"budget of {_name(application)}. The award stays {format_gbp(application.awarded)}.",
                ],
                "kept": [f"Their reason: {reason}"],
                "link": reverse("grants:budget_variations", args=[application.pk]),
                "link_label": "Decide on the budget change",
            },
            about=application,
        )
    return variation


def _name(application) -> str:
    return f"{application.reference or 'Draft'} · {application.partnership.name}"


def variation_decide(*, variation_id: int, by, approve: bool, comment: str = "") -> BudgetVariation:
    """Programme staff approve (the move must still fit) or refuse (with a reason) a variation.
    The lead school is told either way. Deciding again changes nothing."""
    application_id = BudgetVariation.objects.values_list("application_id", flat=True).get(pk=variation_id)
    with transaction.atomic():
        application = _lock(application_id)
        variation = BudgetVariation.objects.select_for_update().get(pk=variation_id)
        if not may_decide(by, application):
            raise PermissionDenied("Only staff of this programme without a conflict of interest can decide.")
        if variation.status != V.REQUESTED:
            if variation.status == (V.APPROVED if approve else V.REFUSED):
                return variation  # a second click
            raise ValidationError(f"This budget change is already {variation.get_status_display().lower()}.")
        if application.status != Application.Status.APPROVED:
            raise ValidationError(
                f"The grant is {application.get_status_display().lower()}: its budget no longer changes."
            )
        comment = (comment or "").strip()
        if approve:
            if len(comment) > REASON_LIMIT:
                raise ValidationError({"comment": f"Keep it to {REASON_LIMIT:,} characters."})
            _check_fits(application, variation.from_category, variation.amount)
        else:
            comment = _reason(comment, "comment")
        variation.status = V.APPROVED if approve else V.REFUSED
        variation.decided_by, variation.decided_at, variation.decision_comment = by, timezone.now(), comment
        variation.save(update_fields=["status", "decided_by", "decided_at", "decision_comment"])
        AuditEvent.record(
            application,
            by=by,
            action="variation_approved" if approve else "variation_refused",
            from_status=application.status,
            to_status=application.status,
            comment=f"{'Approved' if approve else 'Refused'}: move {_describe(variation)}."
            + (f" {comment}" if comment else ""),
        )
        varied = varied_budget(application)
        messaging.send(
            "budget_variation_decided",
            selectors.application_leads(application),
            {
                "name": _name(application),
                "approved": approve,
                "paragraphs": [
                    (
                        f"Your request to move {_describe(variation)} was approved. Report spend against "
                        "the changed budget."
                        if approve
                        else f"Your request to move {_describe(variation)} was refused."
                    ),
                    f"The award stays {format_gbp(application.awarded)}.",
                ],
                "kept": [f"Programme staff wrote: {comment}"] if comment else [],
                "items": [f"{BudgetLine.Category(c).label}: {format_gbp(a)}" for c, a in varied.items()],
                "link": reverse("grants:budget_variations", args=[application.pk]),
                "link_label": "Your grant's budget",
            },
            about=application,
        )
    return variation


def varied_total(application) -> Decimal:
    """The total of the varied budget: always the total of the approved budget lines."""
    return application.budget_lines.aggregate(t=Sum("amount"))["t"] or ZERO
