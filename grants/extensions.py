"""Deadline extensions (issue 17): programme staff (or an admin), without a conflict in the
application, give one draft application more time to be submitted than its round allows, or
reopen its window after the round has closed, with a reason. Every extension is audited (the
history reads "Submission deadline extended by …" or "Submission window reopened by …") and the
lead school's verified leads are told through messaging.send. A later extension replaces the
current one and keeps it in the record. The database backs the rules (grants/extension_models.py,
and a PostgreSQL trigger in migration 0013)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

import messaging
from grants import selectors
from grants.models import Application, AuditEvent, DeadlineExtension
from grants.services import _ensure_reviewer, _lock

S = Application.Status
REASON_LIMIT = 2000


def _when(moment) -> str:
    return f"{timezone.localtime(moment):%d %B %Y %H:%M}"


def extension_grant(*, application_id: int, by, until, reason: str) -> DeadlineExtension:
    with transaction.atomic():
        application = _lock(application_id)
        _ensure_reviewer(by, application)
        if application.status != S.DRAFT:
            raise ValidationError(
                "Only an application not yet submitted can be given more time; this one is "
                f"{application.get_status_display().lower()}."
            )
        reason = (reason or "").replace("\r\n", "\n").strip()
        if not reason:
            raise ValidationError({"reason": "Say why this application gets more time (the lead reads it)."})
        if len(reason) > REASON_LIMIT:
            raise ValidationError({"reason": f"Keep the reason to {REASON_LIMIT:,} characters."})
        if until is None or timezone.is_naive(until):
            raise ValidationError({"until": "Give the new deadline as a date and time."})
        now = timezone.now()
        cohort = application.cohort
        round_closes = cohort.applications_close_at
        if until <= round_closes:
            raise ValidationError(
                {"until": f"The round closes on {_when(round_closes)}: an extension must end after that."}
            )
        if until <= now:
            raise ValidationError({"until": "Choose a moment in the future."})
        if timezone.localtime(until).date() > cohort.starts_on:
            raise ValidationError(
                {"until": f"The work starts on {cohort.starts_on:%d %B %Y}: an extension must end by then."}
            )
        previous = (
            DeadlineExtension.objects.select_for_update()
            .filter(application=application, is_current=True)
            .first()
        )
        if previous is not None:
            if previous.until == until and previous.reason == reason:
                return previous  # the same form twice changes nothing
            previous.is_current = False
            previous.save(update_fields=["is_current"])
        extension = DeadlineExtension.objects.create(
            application=application,
            until=until,
            reason=reason,
            by=by,
            granted_at=now,
            round_closed_at=round_closes,
        )
        action = "window_reopened" if extension.reopened else "deadline_extended"
        AuditEvent.record(
            application,
            by=by,
            action=action,
            from_status=application.status,
            to_status=application.status,
            comment=f"until {_when(until)}. Reason: {reason}",
        )
        _tell_leads(application, extension)
    return extension


def _tell_leads(application, extension) -> None:
    opening = (
        f"The programme team reopened the submission window of your application for "
        f"{application.partnership.name}: you can submit it until {_when(extension.until)}."
        if extension.reopened
        else f"The programme team gave your application for {application.partnership.name} more time: "
        f"you can submit it until {_when(extension.until)}."
    )
    messaging.send(
        "deadline_extended",
        selectors.application_leads(application),
        {
            "name": f"{application.reference or 'Draft'} · {application.partnership.name}",
            "until": _when(extension.until),
            "reopened": extension.reopened,
            "paragraphs": [opening],
            "kept": [f"Reason:\n{extension.reason}"],
            "items": [
                f"Round deadline: {_when(extension.round_closed_at)}",
                f"Your deadline: {_when(extension.until)}",
            ],
            "link": reverse("grants:application_detail", args=[application.pk]),
            "link_label": "Your application",
        },
        about=application,
    )
