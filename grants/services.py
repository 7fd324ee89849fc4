"""Every write on grants data that has a rule. One keyword-only function per transition:
check who may (PermissionDenied), lock, check the state and validate (ValidationError with a
plain-English message), save, audit, then notifications on commit. A repeated identical
request returns the object unchanged.

    draft → submitted → (changes_requested → submitted)* → approved | rejected
    draft | submitted → withdrawn;   approved → completed (end-of-grant report accepted)

The partnership's status follows its grant here and nowhere else (`_partnership_follows`):
approved → active, completed → completed, withdrawn or rejected → withdrawn.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from clusters.models import CPDActivity
from grants import agreements, attachments, conflicts, notifications, payments, reports, selectors
from grants.models import (
    Application,
    ApplicationMessage,
    AuditEvent,
    BudgetLine,
    EndOfGrantReport,
    Payment,
    ReportSpend,
    Score,
)
from grants.selectors import AWARDED_STATES, MONEY_FIELD, has_conflict_of_interest, is_lead_of, may_review
from partnerships.eligibility import confirmed_eligible_memberships
from partnerships.models import Cohort, Partnership, SchoolLead
from portal.money import format_gbp, money
from portal.roles import is_finance

S = Application.Status
EDITABLE_STATES = (S.DRAFT, S.CHANGES_REQUESTED)
TEXT_FIELDS = {
    "aims": "Aims of the partnership",
    "local_stem_issue": "The local STEM issue",
    "planned_teacher_cpd": "Planned teacher CPD",
    "planned_student_activities": "Planned student activities",
    "timeline": "Timeline",
}
DECLARATIONS = {
    "declaration_accurate": "The information in this application is accurate",
    "declaration_state_funded": "Every school in the partnership is state-funded",
    "declaration_data_sharing": "The schools agree to share evaluation data with the programme",
}
# The form step on which each part of the application is written (for the checklist's links).
FIELD_STEP = {
    "aims": 1,
    "local_stem_issue": 1,
    "planned_teacher_cpd": 2,
    "planned_student_activities": 2,
    "timeline": 3,
    "budget": 4,
    "declaration_accurate": 5,
    "declaration_state_funded": 5,
    "declaration_data_sharing": 5,
}
TEXT_LIMIT = 10_000
NOTE_LIMIT = 500
COMMENT_LIMIT = 5_000
MAX_BUDGET_LINES = 20
MAX_REACH = 1_000_000

BARRIER_TAGS = {
    "time": "Lack of time",
    "supply_cover": "Finding supply cover",
    "staff_turnover": "Staff turnover",
    "leadership_support": "Limited senior leadership support",
    "travel_distance": "Distance between schools",
    "timetabling": "Timetabling",
}
FACILITATOR_TAGS = {
    "leadership_support": "Senior leadership support",
    "shared_vision": "A shared vision across schools",
    "external_expertise": "External expertise (e.g. STEM Learning)",
    "dedicated_coordinator": "A dedicated co-ordinator",
    "funding_for_cover": "Funding for supply cover",
    "networks": "Networks between teachers",
}


# --- Who may ------------------------------------------------------------------------------


def _ensure_lead(by, partnership) -> None:
    if not is_lead_of(by, partnership):
        raise PermissionDenied("Only a lead of the partnership's lead school can do this.")


def _ensure_reviewer(by, application, *, decides: bool = True) -> None:
    if not may_review(by, application):
        raise PermissionDenied("Only staff of this programme, or an admin, can do this.")
    if decides and (has_conflict_of_interest(by, application) or conflicts.is_conflicted(by, application)):
        raise PermissionDenied(
            "You act for a school in this partnership, or one of its trust or federation, so you may not "
            "score or decide its application (conflict of interest)."
        )


def _ensure_finance(by) -> None:
    if not is_finance(by):
        raise PermissionDenied("Only the finance team can release or pay instalments.")


def _lock(application_id: int) -> Application:
    return (
        Application.objects.select_for_update(of=("self",))
        .select_related("partnership__lead_school", "cohort__programme")
        .get(pk=application_id)
    )


def _wrong_state(application, doing: str, allowed) -> ValidationError:
    allowed_labels = " or ".join(S(s).label.lower() for s in allowed)
    return ValidationError(
        f"You cannot {doing}: this application is {application.get_status_display().lower()}, "
        f"and only {allowed_labels} applications can be."
        if allowed
        else f"You cannot {doing}: this application is {application.get_status_display().lower()}."
    )


def _move(application, *, to: str, by, action: str, comment: str = "", fields=()) -> None:
    from_status = application.status
    application.status = to
    application.save(update_fields=["status", "updated_at", *fields])
    _partnership_follows(application)
    AuditEvent.record(
        application, by=by, action=action, from_status=from_status, to_status=to, comment=comment
    )


# The partnership's status for each application status that moves it.
PARTNERSHIP_FOLLOWS = {
    S.APPROVED: Partnership.Status.ACTIVE,
    S.COMPLETED: Partnership.Status.COMPLETED,
    S.WITHDRAWN: Partnership.Status.WITHDRAWN,
    S.REJECTED: Partnership.Status.WITHDRAWN,
}


def _partnership_follows(application) -> None:
    """Move the partnership to the status its grant implies (an UPDATE, so no hook is sent back:
    `on_partnership_withdrawn` is never re-entered)."""
    to = PARTNERSHIP_FOLLOWS.get(application.status)
    if to is None:
        return
    Partnership.objects.filter(pk=application.partnership_id).exclude(status=to).update(
        status=to, updated_at=timezone.now()
    )


def _required_comment(comment, field: str, what: str) -> str:
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError({field: f"Give {what}: the lead will read it."})
    if len(comment) > COMMENT_LIMIT:
        raise ValidationError({field: f"Keep it to {COMMENT_LIMIT:,} characters (it has {len(comment):,})."})
    return comment


def _optional_comment(comment, field: str = "comment") -> str:
    comment = (comment or "").strip()
    if len(comment) > COMMENT_LIMIT:
        raise ValidationError({field: f"Keep it to {COMMENT_LIMIT:,} characters (it has {len(comment):,})."})
    return comment


def _amount(value, field: str) -> Decimal:
    try:
        amount = money(value)
    except (TypeError, ValueError, InvalidOperation):
        raise ValidationError({field: "Enter an amount in pounds and pence, such as 1250.00."}) from None
    if not amount.is_finite() or abs(amount) >= Decimal("100000000"):
        raise ValidationError({field: "Enter an amount below £100,000,000.00."})
    return amount


# --- Application: start, draft, checklist, submit -----------------------------------------


def application_start(*, partnership_id: int, by) -> Application:
    """A lead of the lead school starts the partnership's one application, in its open cohort."""
    with transaction.atomic():
        partnership = (
            Partnership.objects.select_for_update(of=("self",))
            .select_related("cohort__programme")
            .get(pk=partnership_id)
        )
        _ensure_lead(by, partnership)
        existing = Application.objects.filter(partnership=partnership).first()
        if existing is not None:
            return existing
        cohort = partnership.cohort
        if not cohort.is_open_for_applications():
            raise ValidationError(
                {
                    "partnership": f"Applications to {cohort} are open from "
                    f"{timezone.localtime(cohort.applications_open_at):%d %B %Y} to "
                    f"{timezone.localtime(cohort.applications_close_at):%d %B %Y %H:%M}; they are not "
                    "open now."
                }
            )
        if partnership.status in (Partnership.Status.WITHDRAWN, Partnership.Status.COMPLETED):
            raise ValidationError(
                {"partnership": f"This partnership is {partnership.get_status_display().lower()}."}
            )
        application = Application.objects.create(
            partnership=partnership,
            cohort=cohort,
            grant_cap=cohort.programme.grant_cap,
            local_stem_issue=partnership.local_stem_issue[:TEXT_LIMIT],
            created_by=by,
        )
        AuditEvent.record(application, by=by, action="started", from_status="", to_status=S.DRAFT)
    return application


def _clean_lines(application, budget_lines) -> list[tuple[str, Decimal, str]]:
    if len(budget_lines) > MAX_BUDGET_LINES:
        raise ValidationError({"budget": f"Use at most {MAX_BUDGET_LINES} budget lines."})
    categories = set(BudgetLine.Category.values)
    cleaned, errors = [], []
    for number, line in enumerate(budget_lines, start=1):
        category = line.get("category")
        note = (line.get("note") or "").strip()
        if category not in categories:
            errors.append(f"Line {number}: choose a category.")
            continue
        cap = format_gbp(application.grant_cap)
        try:
            amount = _amount(line.get("amount"), "budget")
        except ValidationError:
            raw = str(line.get("amount") or "").replace(",", "").strip()
            if raw.lstrip("+").replace(".", "", 1).isdigit():  # a number, only too large to store
                errors.append(f"Line {number}: the cap is {cap}; this line is more than that.")
            else:
                errors.append(f"Line {number}: enter an amount in pounds and pence, such as 1250.00.")
            continue
        if amount <= 0:
            # A £0 line says nothing about the plan (issue 21); the database refuses it too
            # (budgetline_amount_gt_0).
            errors.append(f"Line {number}: enter an amount above £0.00, or remove the line.")
        elif amount > application.grant_cap:
            errors.append(f"Line {number}: the cap is {cap}; this line is {format_gbp(amount)}.")
        if len(note) > NOTE_LIMIT:
            errors.append(f"Line {number}: keep the note to {NOTE_LIMIT} characters.")
        cleaned.append((category, amount, note))
    if errors:
        raise ValidationError({"budget": errors})
    total = sum((amount for _, amount, _ in cleaned), Decimal("0.00"))
    if total > application.grant_cap:
        raise ValidationError(
            {
                "budget": f"Your budget lines add up to {format_gbp(total)}; the most this programme grants "
                f"is {format_gbp(application.grant_cap)}. "
                f"Reduce a line by {format_gbp(total - application.grant_cap)}."
            }
        )
    return cleaned


def application_save_draft(
    *,
    application_id: int,
    by,
    fields: dict | None = None,
    budget_lines: list[dict] | None = None,
    current_step: int | None = None,
) -> Application:
    """Save whatever the lead has typed so far (any partial data; nothing is required yet).
    `budget_lines` (a list of {category, amount, note}) replaces the lines, and requested is
    recomputed from them here, never taken from the client."""
    fields = fields or {}
    with transaction.atomic():
        application = _lock(application_id)
        _ensure_lead(by, application.partnership)
        if application.status not in EDITABLE_STATES:
            raise _wrong_state(application, "change it", EDITABLE_STATES)
        errors, changed = {}, []
        for name, value in fields.items():
            if name in TEXT_FIELDS:
                value = (value or "").replace("\r\n", "\n")
                if len(value) > TEXT_LIMIT:
                    errors[name] = f"Keep this to {TEXT_LIMIT:,} characters (it has {len(value):,})."
                    continue
            elif name in DECLARATIONS:
                value = bool(value)
            else:
                errors[name] = "This is not a part of the application."
                continue
            if getattr(application, name) != value:
                setattr(application, name, value)
                changed.append(name)
        if errors:
            raise ValidationError(errors)
        if budget_lines is not None:
            lines = _clean_lines(application, budget_lines)
            existing = [(b.category, b.amount, b.note) for b in application.budget_lines.all()]
            if existing != lines:
                application.budget_lines.all().delete()
                BudgetLine.objects.bulk_create(
                    BudgetLine(application=application, category=c, amount=a, note=n) for c, a, n in lines
                )
            total = sum((a for _, a, _ in lines), Decimal("0.00"))
            if application.requested != total:
                application.requested = total
                changed.append("requested")
        if current_step and current_step != application.current_step:
            application.current_step = current_step
            changed.append("current_step")
        if changed:
            application.save(update_fields=[*changed, "updated_at"])
    return application


@dataclass(frozen=True)
class Missing:
    step: int
    message: str
    url: str = ""
    field: str = ""  # the form field that fixes it: the checklist links to the step and the field


def application_missing(application: Application) -> list[Missing]:
    """What stops the application being submitted, in the order of the form's steps."""
    missing = []
    for name, label in TEXT_FIELDS.items():
        if not getattr(application, name).strip():
            missing.append(Missing(FIELD_STEP[name], f"{label}: not written yet.", field=name))
    if not application.budget_lines.exists():
        missing.append(Missing(4, "Budget: add at least one budget line."))
    elif application.requested <= 0:
        missing.append(Missing(4, "Budget: the total requested must be more than £0.00."))
    if application.requested > application.grant_cap:
        missing.append(
            Missing(
                4,
                f"Budget: {format_gbp(application.requested)} is more than the programme's cap of "
                f"{format_gbp(application.grant_cap)}.",
            )
        )
    for name, label in DECLARATIONS.items():
        if not getattr(application, name):
            missing.append(Missing(5, f"Declaration not ticked: “{label}”.", field=name))
    files_url = reverse("grants:application_files", args=[application.pk])
    missing.extend(Missing(0, f"Files: {problem}", files_url) for problem in attachments.missing(application))
    programme = application.cohort.programme
    confirmed = confirmed_eligible_memberships(application.partnership).count()
    if confirmed < programme.min_schools:
        missing.append(
            Missing(
                0,
                f"Schools: the programme needs {programme.min_schools} confirmed eligible schools, lead "
                f"included; this partnership has {confirmed}. Ask {programme.min_schools - confirmed} more "
                "to confirm.",
            )
        )
    return missing


def _reference(application: Application) -> str:
    initials = "".join(word[0] for word in application.cohort.programme.name.split() if word).upper()
    return f"{initials or 'APP'}-{application.cohort_id:03d}-{application.pk:05d}"


def _lock_partnership_of(application_id: int) -> None:
    """Lock the application's partnership before the application: membership changes lock the
    partnership first too (partnerships.services._lock_membership), so a removal and a
    submit or approval of the same partnership queue instead of deadlocking."""
    Partnership.objects.select_for_update().filter(application__pk=application_id).first()


def minimum_shortfall(application: Application) -> str:
    """Why the partnership is short of the programme's minimum (confirmed eligible schools,
    lead included), or "" when it has enough."""
    programme = application.cohort.programme
    confirmed = confirmed_eligible_memberships(application.partnership).count()
    if confirmed >= programme.min_schools:
        return ""
    return (
        f"the programme needs {programme.min_schools} confirmed eligible schools, lead included; this "
        f"partnership has {confirmed}"
    )


def _submit(application_id: int, by, *, from_state: str, action: str, check_window: bool) -> Application:
    with transaction.atomic():
        _lock_partnership_of(application_id)
        application = _lock(application_id)
        _ensure_lead(by, application.partnership)
        if application.status == S.SUBMITTED:
            return application
        if application.status != from_state:
            raise _wrong_state(application, "submit it", [from_state])
        lead_school = application.partnership.lead_school
        if not SchoolLead.objects.filter(user=by, school=lead_school, verified_at__isnull=False).exists():
            raise ValidationError(
                f"Programme staff have not yet confirmed that you work at {lead_school.name}. Keep the "
                "application as a draft: you can submit it once they have."
            )
        if check_window and not selectors.submission_window_open(application):
            # The round's window, or the application's own extension (grants/extensions.py).
            raise ValidationError(
                f"Applications to {application.cohort} closed on "
                f"{timezone.localtime(selectors.submission_closes_at(application)):%d %B %Y %H:%M}."
            )
        missing = application_missing(application)
        if missing:
            raise ValidationError([m.message for m in missing])
        application.submitted_at = timezone.now()
        attachments.freeze(application, now=application.submitted_at)
        fields = ["submitted_at"]
        if not application.reference:
            application.reference = _reference(application)
            fields.append("reference")
        _move(application, to=S.SUBMITTED, by=by, action=action, fields=fields)
        notifications.queue_submission(application, action=action)
        notifications.send_receipt(application_id=application.pk, resubmitted=action == "resubmitted")
    return application


def application_submit(*, application_id: int, by) -> Application:
    """Draft → submitted: the checklist complete, enough confirmed eligible schools, the window open."""
    return _submit(application_id, by, from_state=S.DRAFT, action="submitted", check_window=True)


def application_resubmit(*, application_id: int, by) -> Application:
    """Changes requested → submitted: the same checklist. The window is not checked again, as the
    changes were asked for by staff."""
    return _submit(
        application_id, by, from_state=S.CHANGES_REQUESTED, action="resubmitted", check_window=False
    )


def application_withdraw(*, application_id: int, by, comment: str = "") -> Application:
    with transaction.atomic():
        application = _lock(application_id)
        _ensure_lead(by, application.partnership)
        if application.status == S.WITHDRAWN:
            return application
        allowed = (S.DRAFT, S.SUBMITTED)
        if application.status not in allowed:
            raise _wrong_state(application, "withdraw it", allowed)
        _move(application, to=S.WITHDRAWN, by=by, action="withdrawn", comment=_optional_comment(comment))
    return application


# --- Review and decision -------------------------------------------------------------------


def application_request_changes(*, application_id: int, by, comment: str) -> Application:
    with transaction.atomic():
        application = _lock(application_id)
        _ensure_reviewer(by, application)
        if application.status == S.CHANGES_REQUESTED:
            return application
        if application.status != S.SUBMITTED:
            raise _wrong_state(application, "ask for changes", [S.SUBMITTED])
        comment = _required_comment(comment, "comment", "the changes you need")
        _move(application, to=S.CHANGES_REQUESTED, by=by, action="changes_requested", comment=comment)
        notifications.queue_decision(application, action="changes_requested", comment=comment)
    return application


def application_approve(*, application_id: int, by, amount, comment: str = "") -> Application:
    """Submitted → approved with an award ≤ requested, ≤ cap, ≤ what remains of the cohort's budget.
    The cohort row is locked, so concurrent approvals never take the total past the budget."""
    with transaction.atomic():
        _lock_partnership_of(application_id)
        application = _lock(application_id)
        _ensure_reviewer(by, application)
        amount = _amount(amount, "amount")
        if application.status == S.APPROVED:
            if application.awarded == amount:
                return application
            raise ValidationError(
                {"amount": f"This application is already approved with {format_gbp(application.awarded)}."}
            )
        if application.status != S.SUBMITTED:
            raise _wrong_state(application, "approve it", [S.SUBMITTED])
        comment = _optional_comment(comment)
        short = minimum_shortfall(application)  # re-checked under the partnership's lock
        if short:
            raise ValidationError(
                f"This application cannot be approved: {short}. Ask the lead for changes instead."
            )
        if amount <= 0:
            raise ValidationError({"amount": "Enter an award of more than £0.00."})
        if amount > application.requested:
            raise ValidationError(
                {"amount": f"The award cannot be more than {format_gbp(application.requested)} (requested)."}
            )
        if amount > application.grant_cap:
            raise ValidationError(
                {"amount": f"The award cannot be more than the cap of {format_gbp(application.grant_cap)}."}
            )
        cohort = Cohort.objects.select_for_update().get(pk=application.cohort_id)
        awarded = Application.objects.filter(cohort=cohort, status__in=AWARDED_STATES).aggregate(
            total=Coalesce(Sum("awarded"), Decimal(0), output_field=MONEY_FIELD)
        )["total"]
        remaining = cohort.budget - awarded
        if amount > remaining:
            raise ValidationError(
                {"amount": f"Only {format_gbp(remaining)} is left in this cohort's budget."}
            )
        now = timezone.now()
        application.awarded = amount
        application.decided_at = now
        _move(
            application,
            to=S.APPROVED,
            by=by,
            action="approved",
            comment=comment,
            fields=["awarded", "decided_at"],
        )
        # The programme's payment schedule, all scheduled; the agreement comes before any release.
        payments.schedule_apply(application, award=amount)
        agreements.agreement_offer(application, by=by, now=now)
        reports.schedule_at_award(application, now=now)
        notifications.queue_decision(application, action="approved", comment=comment, amount=amount)
    return application


def application_reject(*, application_id: int, by, reason: str) -> Application:
    with transaction.atomic():
        application = _lock(application_id)
        _ensure_reviewer(by, application)
        if application.status == S.REJECTED:
            return application
        allowed = (S.SUBMITTED, S.CHANGES_REQUESTED)
        if application.status not in allowed:
            raise _wrong_state(application, "reject it", allowed)
        reason = _required_comment(reason, "reason", "the reason")
        application.decided_at = timezone.now()
        _move(application, to=S.REJECTED, by=by, action="rejected", comment=reason, fields=["decided_at"])
        notifications.queue_decision(application, action="rejected", comment=reason)
    return application


def score_record(*, application_id: int, by, criterion: str, score, comment: str = "") -> Score:
    """One reviewer's score (1–5) against one criterion; recording it again replaces it."""
    with transaction.atomic():
        application = _lock(application_id)
        _ensure_reviewer(by, application)
        allowed = (S.SUBMITTED, S.CHANGES_REQUESTED)
        if application.status not in allowed:
            raise _wrong_state(application, "score it", allowed)
        if criterion not in Score.Criterion.values:
            raise ValidationError({"criterion": "Choose one of the criteria."})
        try:
            score = int(score)
        except (TypeError, ValueError):
            raise ValidationError({"score": "Give a score from 1 to 5."}) from None
        if not 1 <= score <= 5:
            raise ValidationError({"score": "Give a score from 1 to 5."})
        comment = _optional_comment(comment)
        existing = Score.objects.filter(application=application, reviewer=by, criterion=criterion).first()
        if existing and existing.score == score and existing.comment == comment:
            return existing
        obj, _ = Score.objects.update_or_create(
            application=application,
            reviewer=by,
            criterion=criterion,
            defaults={"score": score, "comment": comment},
        )
        label = Score.Criterion(criterion).label
        AuditEvent.record(
            application,
            by=by,
            action="scored",
            from_status=application.status,
            to_status=application.status,
            comment=f"{label}: {score}/5" + (f" — {comment}" if comment else ""),
        )
    return obj


# --- Payments -------------------------------------------------------------------------------


def payment_mark_paid(*, payment_id: int, by, reference: str = "", paid_on=None) -> Payment:
    """Pay what is outstanding on a released instalment in one transfer (grants.payments.
    payment_record does the work: reference, date, amount, remittance notice). Paying an
    instalment already paid in full changes nothing."""
    _ensure_finance(by)
    payment = Payment.objects.get(pk=payment_id)
    if payment.status == Payment.Status.PAID:
        return payment
    payments.payment_record(
        payment_id=payment_id,
        by=by,
        amount=payment.amount - payment.paid_amount,
        paid_on=paid_on or timezone.localdate(),
        reference=reference or f"PORTAL-{payment.pk}-{payment.paid_amount}",
    )
    return Payment.objects.get(pk=payment_id)


# --- Reports: the end-of-grant report and the programme's interim reports (grants/reports.py) ---

REPORT_KINDS = EndOfGrantReport.Kind.values
VARIANCE_LIMIT = 1_000
VARIANCE_SHARE = Decimal("0.10")  # spend more than 10 % off a line's budget needs a reason


def _kind(kind) -> str:
    if kind not in REPORT_KINDS:
        raise ValidationError({"kind": "There is no such report."})
    return kind


def _report_for_lead(application_id: int, by, kind="final") -> tuple[Application, EndOfGrantReport | None]:
    kind = _kind(kind)
    application = _lock(application_id)
    _ensure_lead(by, application.partnership)
    if application.status != S.APPROVED:
        raise ValidationError(
            "A report can be written only for an approved grant; this application is "
            f"{application.get_status_display().lower()}."
        )
    report = EndOfGrantReport.objects.select_for_update().filter(application=application, kind=kind).first()
    if report is None and kind != EndOfGrantReport.Kind.FINAL:
        raise ValidationError("This programme asks for no such report from this grant.")
    return application, report


def _reach(value, field: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError({field: "Enter a whole number."}) from None
    if not 0 <= number <= MAX_REACH:
        raise ValidationError({field: f"Enter a number from 0 to {MAX_REACH:,}."})
    return number


def report_save(
    *,
    application_id: int,
    by,
    kind="final",
    teachers_reached=0,
    students_reached=0,
    outcomes: str = "",
    barriers=(),
    facilitators=(),
    activity_ids=(),
    spend: dict | None = None,
    explanations: dict | None = None,
    impact: dict | None = None,
) -> EndOfGrantReport:
    """Save the lead's report as a draft (or after it was returned). `spend` is {category:
    amount}, `explanations` {category: why it differs from the budget}, `impact` {question: answer}
    (grants/reports.py IMPACT_QUESTIONS)."""
    with transaction.atomic():
        application, report = _report_for_lead(application_id, by, kind)
        if report is not None and report.status in (
            EndOfGrantReport.Status.SUBMITTED,
            EndOfGrantReport.Status.ACCEPTED,
        ):
            raise ValidationError(
                f"The report is {report.get_status_display().lower()}; it can no longer be changed."
            )
        teachers = _reach(teachers_reached, "teachers_reached")
        students = _reach(students_reached, "students_reached")
        outcomes = (outcomes or "").replace("\r\n", "\n")
        if len(outcomes) > TEXT_LIMIT:
            raise ValidationError({"outcomes": f"Keep this to {TEXT_LIMIT:,} characters."})
        if set(barriers) - set(BARRIER_TAGS):
            raise ValidationError({"barriers": "Choose barriers from the list."})
        if set(facilitators) - set(FACILITATOR_TAGS):
            raise ValidationError({"facilitators": "Choose facilitators from the list."})
        impact = reports.clean_impact(impact or {})
        try:
            activity_ids = {int(pk) for pk in activity_ids}
        except (TypeError, ValueError):
            raise ValidationError({"activities": "Choose activities from the list."}) from None
        activities = list(
            CPDActivity.objects.filter(partnership=application.partnership, pk__in=activity_ids)
        )
        if len(activities) != len(activity_ids):
            raise ValidationError({"activities": "Choose activities of this partnership only."})
        spend_rows = {}
        for category, value in (spend or {}).items():
            if category not in BudgetLine.Category.values:
                raise ValidationError({"spend": "Spend must be against a budget category."})
            if value in (None, ""):
                continue
            amount = _amount(value, f"spend_{category}")
            if amount < 0:
                raise ValidationError({f"spend_{category}": "Spend cannot be negative."})
            spend_rows[category] = amount
        why = {}
        for category, text in (explanations or {}).items():
            if category not in BudgetLine.Category.values:
                raise ValidationError({"spend": "Spend must be against a budget category."})
            text = (text or "").strip()
            if len(text) > VARIANCE_LIMIT:
                raise ValidationError(
                    {
                        f"variance_{category}": f"Keep this to {VARIANCE_LIMIT:,} characters "
                        f"(it has {len(text):,})."
                    }
                )
            why[category] = text
        if report is None:
            report = EndOfGrantReport(application=application, kind=kind)
        report.teachers_reached = teachers
        report.students_reached = students
        report.outcomes = outcomes
        report.barriers = sorted(set(barriers))
        report.facilitators = sorted(set(facilitators))
        if impact is not None:
            report.impact = impact
        report.save()
        report.activities.set(activities)
        if spend is not None:
            rows = {c: (a, why.get(c, "")) for c, a in spend_rows.items()}
            current = {row.category: (row.spent, row.explanation) for row in report.spend.all()}
            if current != rows:
                report.spend.all().delete()
                ReportSpend.objects.bulk_create(
                    ReportSpend(report=report, category=c, spent=a, explanation=e)
                    for c, (a, e) in rows.items()
                )
    return report


def report_start(*, application_id: int, by, kind="final") -> EndOfGrantReport:
    """The report's draft, started if the lead has not saved it yet (evidence needs a report)."""
    with transaction.atomic():
        application, report = _report_for_lead(application_id, by, kind)
        if report is None:
            report = EndOfGrantReport.objects.create(application=application, kind=kind)
    return report


def budgeted_by_category(application) -> dict[str, Decimal]:
    """The budget spend is reported against: the approved lines with every approved budget
    variation applied (grants.variations)."""
    from grants.variations import varied_budget

    return varied_budget(application)


def needs_explanation(budgeted: Decimal, spent: Decimal) -> bool:
    return abs(spent - budgeted) > budgeted * VARIANCE_SHARE


def report_missing(report: EndOfGrantReport | None) -> list[str]:
    if report is None:
        return ["Write the report first."]
    missing = []
    if not report.outcomes.strip():
        missing.append("Outcomes observed: not written yet.")
    if not report.activities.exists():
        missing.append("Activities delivered: link at least one of the partnership's CPD activities.")
    budgeted = budgeted_by_category(report.application)
    reported = {row.category: row for row in report.spend.all()}
    for category in sorted(set(budgeted) - set(reported)):
        missing.append(f"Spend: enter what was spent on {BudgetLine.Category(category).label.lower()}.")
    for category, row in sorted(reported.items()):
        plan = budgeted.get(category, Decimal("0.00"))
        if needs_explanation(plan, row.spent) and not row.explanation.strip():
            missing.append(
                f"Spend on {BudgetLine.Category(category).label.lower()}: {format_gbp(row.spent)} against a "
                f"budget of {format_gbp(plan)}; say why it differs."
            )
    return missing


def report_submit(*, application_id: int, by, kind="final") -> EndOfGrantReport:
    """Draft or returned → submitted (a returned report comes back revised: `report_resubmitted`).
    Its evidence is frozen with it."""
    with transaction.atomic():
        application, report = _report_for_lead(application_id, by, kind)
        if report is not None and report.status == EndOfGrantReport.Status.SUBMITTED:
            return report
        if report is not None and report.status == EndOfGrantReport.Status.ACCEPTED:
            raise ValidationError("The report has already been accepted.")
        missing = report_missing(report)
        if missing:
            raise ValidationError(missing)
        action = (
            "report_resubmitted" if report.status == EndOfGrantReport.Status.RETURNED else "report_submitted"
        )
        report.status = EndOfGrantReport.Status.SUBMITTED
        report.submitted_at = timezone.now()
        report.save(update_fields=["status", "submitted_at", "updated_at"])
        attachments.freeze_evidence(report, now=report.submitted_at)
        AuditEvent.record(
            application,
            by=by,
            action=action,
            from_status=S.APPROVED,
            to_status=S.APPROVED,
            comment=report.get_kind_display(),
        )
        notifications.queue_submission(application, action="report_submitted")
    return report


def _report_for_staff(application_id: int, by, kind="final") -> tuple[Application, EndOfGrantReport]:
    kind = _kind(kind)
    application = _lock(application_id)
    _ensure_reviewer(by, application)
    report = EndOfGrantReport.objects.select_for_update().filter(application=application, kind=kind).first()
    if report is None:
        raise ValidationError("The lead has not written this report yet.")
    return application, report


def report_accept(*, application_id: int, by, comment: str = "", kind="final") -> EndOfGrantReport:
    """Accepting a report releases the instalments that wait for it (grants.reports.
    release_payments_for_report); accepting the final report completes the grant."""
    with transaction.atomic():
        application, report = _report_for_staff(application_id, by, kind)
        if report.status == EndOfGrantReport.Status.ACCEPTED:
            return report
        if report.status != EndOfGrantReport.Status.SUBMITTED or application.status != S.APPROVED:
            raise ValidationError(
                f"Only a submitted report of an approved grant can be accepted; this report is "
                f"{report.get_status_display().lower()}."
            )
        comment = _optional_comment(comment)
        now = timezone.now()
        report.status = EndOfGrantReport.Status.ACCEPTED
        report.decided_at = now
        report.staff_comment = comment
        report.save(update_fields=["status", "decided_at", "staff_comment", "updated_at"])
        reports.release_payments_for_report(application, kind=report.kind, by=by, now=now)
        if report.kind == EndOfGrantReport.Kind.FINAL:
            _move(application, to=S.COMPLETED, by=by, action="report_accepted", comment=comment)
        else:
            AuditEvent.record(
                application,
                by=by,
                action="interim_report_accepted",
                from_status=application.status,
                to_status=application.status,
                comment=comment,
            )
        notifications.queue_decision(application, action="report_accepted", comment=comment)
    return report


def report_return(*, application_id: int, by, comment: str, kind="final") -> EndOfGrantReport:
    with transaction.atomic():
        application, report = _report_for_staff(application_id, by, kind)
        if report.status == EndOfGrantReport.Status.RETURNED:
            return report
        if report.status != EndOfGrantReport.Status.SUBMITTED:
            raise ValidationError(
                "Only a submitted report can be returned; this report is "
                f"{report.get_status_display().lower()}."
            )
        comment = _required_comment(comment, "comment", "what needs changing")
        report.status = EndOfGrantReport.Status.RETURNED
        report.decided_at = timezone.now()
        report.staff_comment = comment
        report.save(update_fields=["status", "decided_at", "staff_comment", "updated_at"])
        AuditEvent.record(
            application,
            by=by,
            action="report_returned",
            from_status=application.status,
            to_status=application.status,
            comment=comment,
        )
        notifications.queue_decision(application, action="report_returned", comment=comment)
    return report


# --- The minimum in every state (registered into partnerships in GrantsConfig.ready) ---------

MINIMUM_HELD = (S.SUBMITTED, S.APPROVED)


def membership_guard(partnership, *, change: str, membership, by) -> None:
    """partnerships calls this, under the partnership's lock, before a membership changes.
    A completed grant's partnership is read-only; while an application is submitted or approved
    a removal that would take it below the minimum is refused with the reason (the lead can
    add a school first, or staff can return the application for changes)."""
    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("cohort__programme", "partnership")
        .filter(partnership_id=partnership.pk)
        .first()
    )
    if application is None:
        return
    if application.status == S.COMPLETED:
        raise ValidationError(
            {"school": "This partnership's grant is completed: its schools can no longer change."}
        )
    if change != "remove" or application.status not in MINIMUM_HELD:
        return
    counted = confirmed_eligible_memberships(application.partnership)
    if not counted.filter(pk=membership.pk).exists():
        return  # an invitation, or a school that does not count: the total does not move
    left = counted.count() - 1
    needed = application.cohort.programme.min_schools
    if left < needed:
        raise ValidationError(
            {
                "school": f"{membership.school.name} cannot be removed: the application is "
                f"{application.get_status_display().lower()}, and without it the partnership would have "
                f"{left} confirmed eligible schools, fewer than the {needed} the programme needs. Add "
                "another school first, or ask programme staff to return the application for changes."
            }
        )


def application_recheck_minimum(*, application_id: int, reason: str) -> Application:
    """A school stopped counting (closed in the register, say): a submitted application below the
    minimum goes back to the lead as changes requested, with the reason; an approved one keeps
    its award but gets an audit event and staff are told, so nobody approves or pays it unseen."""
    with transaction.atomic():
        _lock_partnership_of(application_id)
        application = _lock(application_id)
        if application.status not in MINIMUM_HELD:
            return application
        short = minimum_shortfall(application)
        if not short:
            return application
        comment = f"{reason} Now {short}."
        if application.status == S.SUBMITTED:
            _move(application, to=S.CHANGES_REQUESTED, by=None, action="below_minimum", comment=comment)
            notifications.queue_decision(application, action="changes_requested", comment=comment)
        else:
            AuditEvent.record(
                application,
                by=None,
                action="below_minimum",
                from_status=application.status,
                to_status=application.status,
                comment=comment,
            )
            notifications.queue_submission(application, action="below_minimum")
    return application


def applications_recheck_minimum(*, partnership_ids=None, reason: str) -> int:
    """Re-check every submitted or approved application (or those of `partnership_ids`)."""
    qs = Application.objects.filter(status__in=MINIMUM_HELD)
    if partnership_ids is not None:
        qs = qs.filter(partnership_id__in=list(partnership_ids))
    moved = 0
    for application_id in qs.values_list("pk", flat=True):
        before = Application.objects.values_list("status", flat=True).get(pk=application_id)
        after = application_recheck_minimum(application_id=application_id, reason=reason).status
        moved += before != after
    return moved


def on_minimum_at_risk(sender, *, partnership_ids, reason, **kwargs) -> None:
    applications_recheck_minimum(partnership_ids=partnership_ids, reason=reason)


def on_partnership_withdrawn(sender, *, partnership, by, reason, **kwargs) -> None:
    """Its lead's claim to the school was refused: the application is withdrawn with the reason."""
    application = Application.objects.select_for_update().filter(partnership=partnership).first()
    if application is None or application.status in (S.WITHDRAWN, S.REJECTED, S.COMPLETED, S.APPROVED):
        return
    _move(
        application,
        to=S.WITHDRAWN,
        by=by,
        action="withdrawn_claim_rejected",
        comment=f"Withdrawn: programme staff could not confirm that its lead works at the school. {reason}",
    )


# --- The conversation on an application -------------------------------------------------------


def message_post(*, application_id: int, by, body: str, staff_only: bool = False) -> ApplicationMessage:
    """A lead of the lead school writes to programme staff; programme staff (or an admin) write
    to the lead school, or keep a staff note, which is never shown or sent to the applicant.
    Too long a body is refused, never cut."""
    with transaction.atomic():
        application = Application.objects.select_related("partnership", "cohort__programme").get(
            pk=application_id
        )
        staff = may_review(by, application)
        if staff and has_conflict_of_interest(by, application):
            raise PermissionDenied("You act for a school in this partnership, so you may not write here.")
        if not staff and not is_lead_of(by, application.partnership):
            raise PermissionDenied("Only the lead school's leads and programme staff can write here.")
        if staff_only and not staff:
            raise PermissionDenied("Only programme staff can keep a staff note.")
        body = (body or "").strip()
        if not body:
            raise ValidationError({"body": "Write a message."})
        if len(body) > ApplicationMessage.BODY_MAX:
            raise ValidationError(
                {
                    "body": f"Keep this to {ApplicationMessage.BODY_MAX:,} characters: it has {len(body):,}. "
                    "Nothing was cut: shorten it and send again."
                }
            )
        message = ApplicationMessage.objects.create(
            application=application, author=by, body=body, staff_only=staff_only
        )
        if not staff:
            notifications.send_message(message, kind="application_message_to_staff")
        elif not staff_only:
            notifications.send_message(message, kind="application_message_to_lead")
    return message
