"""What grants tells people, through messaging.send: the lead school's verified leads hear of
every decision, the programme's staff of every submission. Each message is written (a
notification, and an e-mail in the outbox) in the transaction of the decision, so a rolled-back
change sends nothing and a committed one is sent by the worker, retried until the mail server
takes it; a failing or hanging mail server never undoes a decision or holds up the request.

The wording of each message (subject and opening text) is the kind's in messaging/kinds.py, or
the programme's own (messaging/programme_templates.py); the contexts built here fill its
placeholders and add what no wording may leave out (`kept`: the comment from staff; the items:
amount and instalments; the link). `preview_context` builds the same for a programme's
template preview."""

from types import SimpleNamespace

from django.urls import reverse

import messaging
from grants import selectors
from grants.models import Application
from portal.money import format_gbp

DECISIONS = ("changes_requested", "approved", "rejected", "report_accepted", "report_returned")

SUBMISSIONS = {
    "submitted": "application_submitted",
    "resubmitted": "application_resubmitted",
    "report_submitted": "report_submitted",
    "below_minimum": "below_minimum",
    "agreement_declined": "agreement_declined",
}


def _name(application: Application) -> str:
    return f"{application.reference or 'Draft'} · {application.partnership.name}"


def placeholders(application: Application) -> dict:
    """The placeholders every application message offers (messaging.kinds.APPLICATION)."""
    return {
        "name": _name(application),
        "reference": application.reference or "Draft",
        "partnership": application.partnership.name,
        "school": application.partnership.lead_school.name,
        "programme": application.cohort.programme.name,
        "cohort": str(application.cohort),
    }


def _load(application_id: int) -> Application:
    return Application.objects.select_related("partnership__lead_school", "cohort__programme").get(
        pk=application_id
    )


def queue_decision(application: Application, *, action: str, comment: str = "", amount=None) -> None:
    """Tell the lead school of a decision, in the caller's (the decision's) transaction."""
    send_decision(application_id=application.pk, action=action, comment=comment, amount=amount)


def queue_submission(application: Application, *, action: str) -> None:
    """Tell the programme's staff of a submission, in the caller's transaction."""
    send_submission(application_id=application.pk, action=action)


def decision_context(application: Application, *, action: str, comment: str = "", amount=None) -> dict:
    items = [f"Application: {_name(application)}", f"Programme: {application.cohort}"]
    if amount is not None:
        items.append(f"Amount awarded: {format_gbp(amount)}")
    if action in ("approved", "report_accepted"):
        # A release of an instalment happens only with these two decisions: they tell it.
        items += instalment_items(application)
    kept = []
    if comment:
        label = "Reason" if action == "rejected" else "Comment from programme staff"
        kept.append(f"{label}:\n{comment}")
    link, link_label = reverse("grants:application_detail", args=[application.pk]), "Your application"
    agreement = getattr(application, "agreement", None) if getattr(application, "pk", None) else None
    if action == "approved" and agreement is not None:
        kept.append(
            "Your award letter and grant agreement are ready. Read them and accept the agreement by "
            f"{agreement.respond_by:%d %B %Y}: no instalment can be paid before it is accepted."
        )
        link, link_label = reverse("grants:award_letter", args=[application.pk]), "Your award letter"
    return {
        **placeholders(application),
        "kept": kept,
        "items": items,
        "comment": comment,
        "amount": format_gbp(amount) if amount is not None else "",
        "link": link,
        "link_label": link_label,
    }


def send_decision(*, application_id: int, action: str, comment: str = "", amount=None):
    if action not in DECISIONS:
        raise LookupError(f"No decision {action!r}")
    application = _load(application_id)
    return messaging.send(
        action,
        selectors.application_leads(application),
        decision_context(application, action=action, comment=comment, amount=amount),
        about=application,
    )


def submission_context(application: Application) -> dict:
    return {
        **placeholders(application),
        "requested": format_gbp(application.requested),
        "items": [
            f"Application: {_name(application)}",
            f"Lead school: {application.partnership.lead_school.name}",
            f"Programme: {application.cohort}",
            f"Requested: {format_gbp(application.requested)}",
        ],
        "link": reverse("grants:application_detail", args=[application.pk]),
        "link_label": "Review it here",
    }


def send_submission(*, application_id: int, action: str):
    application = _load(application_id)
    return messaging.send(
        SUBMISSIONS[action],
        selectors.programme_staff(application),
        submission_context(application),
        about=application,
    )


# --- Receipts and payments (to the lead school) -----------------------------------------------

ANSWERS = [
    ("aims", "Aims"),
    ("local_stem_issue", "Local STEM issue"),
    ("planned_teacher_cpd", "Planned teacher CPD"),
    ("planned_student_activities", "Planned student activities"),
    ("timeline", "Timeline"),
]


def receipt_context(application: Application, *, resubmitted: bool = False) -> dict:
    lines = [
        f"{line.get_category_display()}: {format_gbp(line.amount)}" + (f" — {line.note}" if line.note else "")
        for line in application.budget_lines.order_by("pk")
    ]
    sections = [{"heading": label, "text": getattr(application, field)} for field, label in ANSWERS]
    sections.append(
        {"heading": "Budget", "text": "\n".join([*lines, f"Total: {format_gbp(application.requested)}"])}
    )
    return {
        **placeholders(application),
        "action": "resubmitted" if resubmitted else "submitted",
        "resubmitted": " (resubmitted)" if resubmitted else "",
        "sections": sections,
        "link": reverse("grants:application_detail", args=[application.pk]),
        "link_label": "Your application",
    }


def send_receipt(*, application_id: int, resubmitted: bool = False):
    """To the lead school's verified leads: the reference and a copy of what was submitted."""
    application = _load(application_id)
    return messaging.send(
        "submission_receipt",
        selectors.application_leads(application),
        receipt_context(application, resubmitted=resubmitted),
        about=application,
    )


def instalment_items(application: Application) -> list[str]:
    return [
        f"Instalment {p.sequence}: {format_gbp(p.amount)} — {p.get_status_display().lower()}"
        + ("" if p.status != p.Status.SCHEDULED else f", {p.get_trigger_display().lower()}")
        for p in application.payments.order_by("sequence")
    ]


def payment_context(application: Application, payment) -> dict:
    return {
        **placeholders(application),
        "sequence": payment.sequence,
        "amount": format_gbp(payment.amount),
        "items": instalment_items(application),
        "link": reverse("grants:application_detail", args=[application.pk]),
        "link_label": "Your grant",
    }


def send_payment(payment, *, kind: str = "payment_paid"):
    """An instalment paid, to the lead school's verified leads. (Releases are told by the decision
    that releases them: approval, the accepted report.)"""
    application = _load(payment.application_id)
    return messaging.send(
        kind,
        selectors.application_leads(application),
        payment_context(application, payment),
        about=application,
    )


# --- The conversation on an application -------------------------------------------------------


def message_context(application: Application, message, *, kind: str) -> dict:
    to_staff = kind == "application_message_to_staff"
    return {
        **placeholders(application),
        "author": message.author.get_full_name() or message.author.username,
        "kept": [message.body],
        "link": reverse("grants:application_detail", args=[application.pk]) + "#conversation",
        "link_label": "Read and reply" if to_staff else "Read and reply on your application",
    }


def send_message(message, *, kind: str):
    """A message of the conversation: from the lead to the programme's staff, or from staff to
    the lead school's verified leads. (A staff note is never sent: the caller does not call.)"""
    application = _load(message.application_id)
    to_staff = kind == "application_message_to_staff"
    return messaging.send(
        kind,
        selectors.programme_staff(application) if to_staff else selectors.application_leads(application),
        message_context(application, message, kind=kind),
        about=application,
    )


# --- A programme's template preview -------------------------------------------------------------

SAMPLE_COMMENT = "(The comment programme staff write with their decision appears here.)"
SAMPLE_MESSAGE = "(The message appears here.)"


def preview_context(kind: str, application: Application, *, by) -> dict:
    """The context `kind` would be sent with about `application` (a real one of the programme),
    with what only the moment of sending knows (a comment, a message) as a marked sample."""
    if kind in DECISIONS:
        amount = None
        if kind == "approved":
            amount = application.awarded if application.awarded is not None else application.requested
        comment = SAMPLE_COMMENT if kind != "approved" else ""
        return decision_context(application, action=kind, comment=comment, amount=amount)
    if kind in SUBMISSIONS.values():
        return submission_context(application)
    if kind == "submission_receipt":
        return receipt_context(application)
    if kind == "payment_paid":
        payment = application.payments.order_by("sequence").first() or SimpleNamespace(
            sequence=1, amount=application.awarded or application.requested
        )
        return payment_context(application, payment)
    if kind in ("application_message_to_staff", "application_message_to_lead"):
        return message_context(application, SimpleNamespace(author=by, body=SAMPLE_MESSAGE), kind=kind)
    raise LookupError(f"No preview for {kind!r}")


# --- Finance (issue 19) ------------------------------------------------------------------------


def send_remittance(record):
    """A transfer recorded against an instalment: the remittance notice, to the lead school's
    verified leads (amount, date, the finance system's reference, what is left to pay)."""
    payment = record.payment
    application = _load(payment.application_id)
    still = payment.amount - payment.paid_amount
    return messaging.send(
        "remittance_notice",
        selectors.application_leads(application),
        {
            "name": _name(application),
            "sequence": payment.sequence,
            "amount": format_gbp(record.amount),
            "paid_on": f"{record.paid_on:%d %B %Y}",
            "reference": record.reference,
            "school": application.partnership.lead_school.name,
            "still_to_pay": format_gbp(still) if still else "",
            "paragraphs": [
                f"We have paid {format_gbp(record.amount)} of your grant to "
                f"{application.partnership.lead_school.name} "
                f"(instalment {payment.sequence}).",
            ],
            "items": instalment_items(application),
            "link": reverse("grants:award_letter", args=[application.pk]),
            "link_label": "Your grant's payments",
        },
        about=application,
    )


def send_agreement_notice(agreement, *, kind: str, when: str = ""):
    """agreement_reminder (the deadline is near), agreement_lapsed (it passed) or
    agreement_reoffered (offered again), to the lead school."""
    application = _load(agreement.application_id)
    if kind == "agreement_reminder":
        sentence = (
            f"The grant agreement of {_name(application)} has not been accepted yet. Accept it by "
            f"{agreement.respond_by:%d %B %Y} ({when}): no instalment can be paid before."
        )
    elif kind == "agreement_reoffered":
        sentence = (
            f"The grant agreement of {_name(application)} is offered to you again. Read it and accept it by "
            f"{agreement.respond_by:%d %B %Y}: no instalment can be paid before."
        )
    else:
        sentence = (
            f"The grant agreement of {_name(application)} was not accepted by "
            f"{agreement.respond_by:%d %B %Y}. "
            "Contact the programme team if you still want the grant: they can offer it again."
        )
    return messaging.send(
        kind,
        selectors.application_leads(application),
        {
            "name": _name(application),
            "paragraphs": [sentence],
            "link": reverse("grants:award_letter", args=[application.pk]),
            "link_label": "Your award letter and agreement",
        },
        about=application,
    )


def send_payee_changed(school, *, recipients, by, fields: list[str]):
    """The payee details of a school changed: to its verified leads, so that a change nobody at
    the school made (payment-diversion fraud) is noticed before money moves."""
    who = by.get_full_name() or by.username
    return messaging.send(
        "payee_details_changed",
        recipients,
        {
            "school": school.name,
            "paragraphs": [
                f"{who} changed the payee details of {school.name} in the STEM Partnerships Portal: "
                + ", ".join(fields)
                + ".",
                "If you did not expect this, tell the programme's finance team at once and do not rely on "
                "the new details.",
            ],
            "link": reverse("grants:payee_edit", args=[school.pk]),
            "link_label": "The school's payee details",
        },
    )


# --- Review (issue 17) -------------------------------------------------------------------------


def send_reviewer_assigned(assignment, *, blind: bool):
    """Tell a reviewer they were assigned an application, in the assignment's transaction. Under
    blind review the message names no partnership, school or URN: only the reference, the round
    and the link to the reviewer's own page."""
    application = assignment.application
    paragraphs = [
        f"You have been asked to review application {application.reference} to {application.cohort}."
        if blind
        else f"You have been asked to review application {application.reference} from "
        f"{application.partnership.name} to {application.cohort}.",
        "Open it to read the application and score it against the programme's rubric. If you have a "
        "conflict of interest with it, declare it there and it will be given to someone else.",
    ]
    if blind:
        paragraphs.append("This programme reviews blind: the applicant's names are hidden from you.")
    return messaging.send(
        "reviewer_assigned",
        [assignment.reviewer],
        {
            "reference": application.reference,
            "cohort": str(application.cohort),
            "paragraphs": paragraphs,
            "link": reverse("grants:review_page", args=[assignment.pk]),
            "link_label": "Your review",
        },
        about=application,
    )
