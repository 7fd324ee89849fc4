"""E-mails about applications: to the lead school's users on every decision, to the
programme's staff on every submission. Each e-mail is written to the outbox (messaging) in the
transaction of the decision, so a rolled-back change sends nothing and a committed one is sent
by the worker, retried until the mail server takes it; a failing or hanging mail server never
undoes a decision or holds up the request."""

import logging
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse

from grants.models import Application
from messaging import outbox
from partnerships.selectors import school_contacts

log = logging.getLogger(__name__)
_muted: ContextVar[bool] = ContextVar("grants_notifications_muted", default=False)

DECISIONS = {
    "changes_requested": (
        "Changes requested",
        "Programme staff have asked for changes to your application. Please edit it and submit it again.",
    ),
    "approved": ("Approved", "Your application has been approved."),
    "rejected": ("Not approved", "Your application has not been approved."),
    "report_accepted": (
        "End-of-grant report accepted",
        "Your end-of-grant report has been accepted; the final instalment has been released and the grant "
        "is complete.",
    ),
    "report_returned": (
        "End-of-grant report returned",
        "Programme staff have returned your end-of-grant report with comments. Please edit it and submit "
        "it again.",
    ),
}

SUBMISSIONS = {
    "submitted": "A new application has been submitted for review.",
    "resubmitted": "An application has been resubmitted after changes were requested.",
    "report_submitted": "An end-of-grant report has been submitted for review.",
    "below_minimum": "An approved grant's partnership has fallen below the programme's minimum of "
    "schools (see the application's history).",
}


def application_url(application_id: int) -> str:
    return settings.PORTAL_BASE_URL.rstrip("/") + reverse("grants:application_detail", args=[application_id])


def lead_recipients(application: Application) -> list[str]:
    """The lead school's verified contacts only: an unverified claimant hears nothing."""
    return list(school_contacts(application.partnership.lead_school).values_list("email", flat=True))


def staff_recipients(application: Application) -> list[str]:
    return list(
        application.cohort.programme.staff.filter(is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )


@contextmanager
def muted():
    """No e-mails for changes made inside this block (the demo seed uses it)."""
    token = _muted.set(True)
    try:
        yield
    finally:
        _muted.reset(token)


def queue_decision(application: Application, *, action: str, comment: str = "", amount=None) -> None:
    """Write the decision's e-mails to the outbox, in the caller's (the decision's) transaction."""
    if _muted.get():
        return
    send_decision(application_id=application.pk, action=action, comment=comment, amount=amount)


def queue_submission(application: Application, *, action: str) -> None:
    """Write the submission's e-mails to the outbox, in the caller's transaction."""
    if _muted.get():
        return
    send_submission(application_id=application.pk, action=action)


def _name(application: Application) -> str:
    return f"{application.reference or 'Draft'} · {application.partnership.name}"


def send_decision(*, application_id: int, action: str, comment: str = "", amount=None) -> int:
    from portal.money import format_gbp

    application = Application.objects.select_related("partnership", "cohort__programme").get(
        pk=application_id
    )
    title, sentence = DECISIONS[action]
    lines = [f"{sentence}", "", f"Application: {_name(application)}", f"Programme: {application.cohort}"]
    if amount is not None:
        lines.append(f"Amount awarded: {format_gbp(amount)}")
    if comment:
        lines += ["", "Comment from programme staff:", comment]
    lines += ["", f"View it here: {application_url(application.pk)}"]
    subject = f"{title}: {_name(application)}"
    return _send(subject, "\n".join(lines), lead_recipients(application))


def send_submission(*, application_id: int, action: str) -> int:
    from portal.money import format_gbp

    application = Application.objects.select_related("partnership__lead_school", "cohort__programme").get(
        pk=application_id
    )
    lines = [
        SUBMISSIONS[action],
        "",
        f"Application: {_name(application)}",
        f"Lead school: {application.partnership.lead_school.name}",
        f"Programme: {application.cohort}",
        f"Requested: {format_gbp(application.requested)}",
        "",
        f"Review it here: {application_url(application.pk)}",
    ]
    subject = f"For review: {_name(application)}"
    return _send(subject, "\n".join(lines), staff_recipients(application))


def _send(subject: str, body: str, recipients: list[str]) -> int:
    """One e-mail per recipient, into the outbox. Returns how many were queued."""
    queued = 0
    for address in recipients:
        if outbox.enqueue(EmailMessage(subject=subject, body=body, to=[address])) is not None:
            queued += 1
    return queued
