"""The award letter and the grant agreement (issue 19).

On approval (inside application_approve's transaction) the grant is offered an agreement: the
programme's newest published terms (AgreementTerms), or the portal's standard terms below, copied
whole into the agreement with their version and SHA-256, so what the lead accepted can always be
shown word for word. A verified lead of the lead school accepts it online — their name, their
role, the time and the exact version are recorded — or declines it with a reason, by
`respond_by` (AGREEMENT_DAYS after the award). Reminders go AGREEMENT_REMINDER_DAYS before; after
the deadline the agreement lapses (a state, with a message) and programme staff may offer it
again with a new deadline. No instalment is released before acceptance (grants.payments).
"""

import hashlib
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from grants import notifications
from grants.models import AgreementTerms, Application, AuditEvent, GrantAgreement
from grants.selectors import is_lead_of, may_review
from messaging.reminders import Outcome, notify_users
from partnerships.models import SchoolLead
from partnerships.selectors import school_contacts
from portal.roles import is_finance

A = GrantAgreement.Status
AGREEMENT_DAYS = 28
AGREEMENT_REMINDER_DAYS = (7, 1)
NAME_LIMIT = 200
STANDARD_TERMS_VERSION = "portal-standard-2026.1"
STANDARD_TERMS = """\
1. The grant is for the activities described in the approved application and may be spent only on
   the budget lines approved. Moving money between budget lines needs the programme's agreement.
2. The lead school receives the grant for the partnership, keeps records of what it is spent on, and
   makes them available to the programme on request.
3. The partnership delivers the planned teacher CPD and student activities, records them in the
   portal, and submits the reports the programme asks for by their due dates.
4. Instalments are paid as set out in the payment schedule of the award letter. An instalment that
   depends on a report is paid only when that report is accepted.
5. Money not spent on the approved activities, or spent against these terms, is repaid on request.
6. The schools agree to share evaluation data with the programme, as declared in the application.
7. The lead school tells the programme at once of any change to its bank details, its finance
   contact, or the schools of the partnership.
"""


def current_terms(programme) -> tuple[str, str]:
    """(version, text) of the terms an award of `programme` is offered now."""
    terms = (
        AgreementTerms.objects.filter(programme=programme, published_at__lte=timezone.now())
        .order_by("-published_at")
        .first()
    )
    if terms is None:
        return STANDARD_TERMS_VERSION, STANDARD_TERMS
    return terms.version, terms.conditions


def _audit(application, *, by, action, comment="") -> None:
    AuditEvent.record(
        application,
        by=by,
        action=action,
        from_status=application.status,
        to_status=application.status,
        comment=comment,
    )


def agreement_offer(application: Application, *, by, now=None) -> GrantAgreement:
    """At award (the caller holds the application's lock): the agreement, offered."""
    now = now or timezone.now()
    version, text = current_terms(application.cohort.programme)
    agreement = GrantAgreement.objects.create(
        application=application,
        terms_version=version,
        terms_text=text,
        terms_sha256=hashlib.sha256(text.encode()).hexdigest(),
        offered_at=now,
        respond_by=timezone.localdate(now) + timedelta(days=AGREEMENT_DAYS),
    )
    _audit(
        application,
        by=by,
        action="agreement_offered",
        comment=f"Grant agreement offered (terms {version}), to accept by {agreement.respond_by:%d %B %Y}.",
    )
    return agreement


def _lock(application_id: int) -> tuple[Application, GrantAgreement]:
    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("partnership__lead_school", "cohort__programme")
        .get(pk=application_id)
    )
    agreement = GrantAgreement.objects.select_for_update().filter(application=application).first()
    if agreement is None:
        raise ValidationError("This grant has no agreement to respond to.")
    return application, agreement


def _ensure_verified_lead(by, application) -> None:
    verified = SchoolLead.objects.filter(
        user=by, school_id=application.partnership.lead_school_id, verified_at__isnull=False
    ).exists()
    if not (is_lead_of(by, application.partnership) and verified):
        raise PermissionDenied("Only a verified lead of the lead school can respond to the grant agreement.")


def _still_open(agreement, application, now) -> None:
    if agreement.status != A.OFFERED:
        raise ValidationError(f"This agreement is {agreement.get_status_display().lower()}.")
    if timezone.localdate(now) > agreement.respond_by:
        raise ValidationError(
            f"The agreement had to be accepted by {agreement.respond_by:%d %B %Y}. Contact the programme "
            "team: they can offer it again."
        )
    if application.status != Application.Status.APPROVED:
        raise ValidationError(f"The grant is {application.get_status_display().lower()}.")


def agreement_accept(
    *, application_id: int, by, signed_name: str, signed_role: str, terms_version: str, confirmed: bool
) -> GrantAgreement:
    """The lead accepts the exact terms they were shown (`terms_version` from the page)."""
    now = timezone.now()
    with transaction.atomic():
        application, agreement = _lock(application_id)
        _ensure_verified_lead(by, application)
        if agreement.status == A.ACCEPTED:
            return agreement
        _still_open(agreement, application, now)
        errors = {}
        signed_name, signed_role = (signed_name or "").strip(), (signed_role or "").strip()
        if not signed_name:
            errors["signed_name"] = "Type your full name."
        elif len(signed_name) > NAME_LIMIT:
            errors["signed_name"] = f"Keep it to {NAME_LIMIT} characters."
        if not signed_role:
            errors["signed_role"] = "Give your role at the school, for example Headteacher."
        elif len(signed_role) > NAME_LIMIT:
            errors["signed_role"] = f"Keep it to {NAME_LIMIT} characters."
        if not confirmed:
            errors["confirmed"] = "Tick the box to accept the terms for the school."
        if errors:
            raise ValidationError(errors)
        if terms_version != agreement.terms_version:
            raise ValidationError(
                "The terms on the page you accepted are not the terms of this agreement: reload the page, "
                "read them again and accept."
            )
        agreement.status, agreement.responded_by, agreement.responded_at = A.ACCEPTED, by, now
        agreement.signed_name, agreement.signed_role = signed_name, signed_role
        agreement.save()
        _audit(
            application,
            by=by,
            action="agreement_accepted",
            comment=f"Accepted by {signed_name} ({signed_role}), terms {agreement.terms_version} "
            f"(sha256 {agreement.terms_sha256[:12]}…).",
        )
    return agreement


def agreement_decline(*, application_id: int, by, reason: str) -> GrantAgreement:
    now = timezone.now()
    with transaction.atomic():
        application, agreement = _lock(application_id)
        _ensure_verified_lead(by, application)
        if agreement.status == A.DECLINED:
            return agreement
        _still_open(agreement, application, now)
        reason = (reason or "").strip()
        if not reason:
            raise ValidationError({"decline_reason": "Tell the programme why the school declines the grant."})
        if len(reason) > 5000:
            raise ValidationError({"decline_reason": "Keep it to 5,000 characters."})
        agreement.status, agreement.responded_by, agreement.responded_at = A.DECLINED, by, now
        agreement.decline_reason = reason
        agreement.save()
        _audit(application, by=by, action="agreement_declined", comment=reason)
        notifications.queue_submission(application, action="agreement_declined")
    return agreement


def may_reoffer(user, application) -> bool:
    return may_review(user, application) or is_finance(user)


def agreement_reoffer(*, application_id: int, by, days: int = AGREEMENT_DAYS) -> GrantAgreement:
    """Programme staff or finance offer a lapsed or declined agreement again, with a new
    deadline and the programme's newest terms. The answer before is kept in the history (the
    audit trail), not on the agreement; the reminders already sent stay recorded, and the new
    deadline gets its own (ReminderSent keys carry the deadline)."""
    now = timezone.now()
    with transaction.atomic():
        application, agreement = _lock(application_id)
        if not may_reoffer(by, application):
            raise PermissionDenied(
                "Only staff of this programme, the finance team or an admin can offer the agreement again."
            )
        if agreement.status not in (A.LAPSED, A.DECLINED):
            raise ValidationError(
                "Only a lapsed or declined agreement can be offered again; this one is "
                f"{agreement.get_status_display().lower()}."
            )
        if application.status != Application.Status.APPROVED:
            raise ValidationError(f"The grant is {application.get_status_display().lower()}.")
        before = agreement.get_status_display().lower() + (
            f" ({agreement.decline_reason})" if agreement.status == A.DECLINED else ""
        )
        version, text = current_terms(application.cohort.programme)
        agreement.status, agreement.offered_at = A.OFFERED, now
        agreement.respond_by = timezone.localdate(now) + timedelta(days=days)
        agreement.terms_version, agreement.terms_text = version, text
        agreement.terms_sha256 = hashlib.sha256(text.encode()).hexdigest()
        agreement.responded_by, agreement.responded_at = None, None
        agreement.signed_name = agreement.signed_role = agreement.decline_reason = ""
        agreement.save()
        _audit(
            application,
            by=by,
            action="agreement_offered",
            comment=f"Offered again after it was {before} (terms {version}), to accept by "
            f"{agreement.respond_by:%d %B %Y}.",
        )
        notifications.send_agreement_notice(agreement, kind="agreement_reoffered")
    return agreement


def remind_and_lapse(now=None) -> Outcome:
    """Daily (grants.reminders.send_all_reminders): remind leads AGREEMENT_REMINDER_DAYS before
    the deadline; lapse offered agreements whose deadline has passed, and tell the lead school."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    outcome = Outcome()
    offered = GrantAgreement.objects.filter(status=A.OFFERED).select_related("application__partnership")
    for agreement in offered:
        days_left = (agreement.respond_by - today).days
        if days_left < 0:
            with transaction.atomic():
                application, locked = _lock(agreement.application_id)
                if locked.status != A.OFFERED:
                    continue
                locked.status = A.LAPSED
                locked.save(update_fields=["status"])
                _audit(
                    application,
                    by=None,
                    action="agreement_lapsed",
                    comment=f"Not accepted by {locked.respond_by:%d %B %Y}.",
                )
                notifications.send_agreement_notice(locked, kind="agreement_lapsed")
                outcome.sent += 1
            continue
        notice = min((d for d in AGREEMENT_REMINDER_DAYS if days_left <= d), default=None)
        if notice is None:
            continue
        when = "today" if days_left == 0 else "tomorrow" if days_left == 1 else f"in {days_left} days"

        def message(_user, agreement=agreement, when=when):
            application = agreement.application
            return {
                "name": application.reference or application.partnership.name,
                "paragraphs": [
                    f"The grant agreement of “{application.partnership.name}” has not been accepted yet. "
                    f"Accept it by {agreement.respond_by:%d %B %Y} ({when}): no instalment can be paid "
                    "before.",
                ],
                "link": reverse("grants:award_letter", args=[application.pk]),
                "link_label": "Your award letter and agreement",
            }

        notify_users(
            school_contacts(agreement.application.partnership.lead_school_id),
            kind="agreement_reminder",
            key=f"agreement:{agreement.pk}:{agreement.respond_by}:{notice}d",
            message_for=message,
            outcome=outcome,
        )
    return outcome
