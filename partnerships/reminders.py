"""Reminders and deadlines, sent by the daily Celery beat jobs (partnerships/tasks.py).

Each reminder goes once: before sending, the job inserts a ReminderSent row (kind, key,
recipient) that a unique constraint allows only once, in the same transaction as the send.
A second run the same day finds the row and sends nothing; two runs at once queue on the
row's insert and the loser sends nothing; a mail-server failure rolls the row back so the
next run tries again.

- window_7d / window_1d: the application window closes in 7 days or fewer / 1 day or fewer
  (calendar dates, UK time); to the leads of partnerships whose application is a draft.
- invitation_5d: an invitation unanswered 5 days after it was sent; to the invited address
  (e-mail invitations) or the invited school's leads.
- report_due / report_overdue: the end-of-grant report of an approved grant is due by the
  cohort's `ends_on` (reminded from REPORT_DUE_NOTICE_DAYS before) and overdue after it,
  while it is not submitted or accepted; to the lead school's leads.
- staff_digest: once a day, to each programme's staff, the applications waiting for review
  (submitted) for more than 10 working days (Monday to Friday).
"""

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

import messaging
from messaging.models import ReminderSent
from partnerships.invitations import send_invitation
from partnerships.models import EmailInvitation, Membership, Partnership
from partnerships.selectors import school_contacts

log = logging.getLogger(__name__)

WINDOW_NOTICE_DAYS = (7, 1)
INVITATION_REMINDER_DAYS = 5
REPORT_DUE_NOTICE_DAYS = 30
REVIEW_WAIT_WORKING_DAYS = 10


@dataclass
class Outcome:
    sent: int = 0
    skipped: int = 0


def _once(kind: str, key: str, recipient: str, send) -> bool:
    """Send through `send()` unless this (kind, key, recipient) was sent before. True when sent."""
    try:
        with transaction.atomic():
            ReminderSent.objects.create(kind=kind, key=key, recipient=recipient)
            send()
    except IntegrityError:
        return False
    except Exception:
        log.exception("reminder %s %s to %s failed; it will be tried again", kind, key, recipient)
        return False
    return True


def _notify_users(users, *, kind: str, key: str, message_for, outcome: Outcome) -> None:
    for user in users:
        sent = _once(
            kind,
            key,
            f"user:{user.pk}",
            lambda u=user: messaging.send(kind, [u], message_for(u), fail_silently=False),
        )
        if sent:
            outcome.sent += 1
        else:
            outcome.skipped += 1


# --- Application window closing -------------------------------------------------------------


def remind_window_closing(now=None) -> Outcome:
    from grants.models import Application

    now = now or timezone.now()
    today = timezone.localdate(now)
    outcome = Outcome()
    drafts = Application.objects.filter(
        status=Application.Status.DRAFT,
        cohort__applications_close_at__gt=now,
        cohort__applications_close_at__lte=now + timedelta(days=max(WINDOW_NOTICE_DAYS) + 1),
    ).select_related("partnership", "cohort__programme")
    for application in drafts:
        closes = timezone.localtime(application.cohort.applications_close_at)
        days_left = (closes.date() - today).days
        notice = min((d for d in WINDOW_NOTICE_DAYS if days_left <= d), default=None)
        if notice is None:
            continue
        when = "today" if days_left == 0 else "tomorrow" if days_left == 1 else f"in {days_left} days"

        def message(_user, application=application, closes=closes, when=when):
            return {
                "cohort": str(application.cohort),
                "when": when,
                "paragraphs": [
                    f"The application of “{application.partnership.name}” is still a draft. Applications to "
                    f"{application.cohort} close on {closes:%d %B %Y at %H:%M}.",
                    "Finish and submit it before then: a draft cannot be submitted after the window closes.",
                ],
                "link": reverse("grants:application_detail", args=[application.pk]),
                "link_label": "Your application",
            }

        _notify_users(
            school_contacts(application.partnership.lead_school_id),
            kind=f"window_{notice}d",
            key=f"application:{application.pk}",
            message_for=message,
            outcome=outcome,
        )
    return outcome


# --- Unanswered invitations -----------------------------------------------------------------


def remind_unanswered_invitations(now=None) -> Outcome:
    now = now or timezone.now()
    cutoff = now - timedelta(days=INVITATION_REMINDER_DAYS)
    outcome = Outcome()
    live_states = (Partnership.Status.FORMING, Partnership.Status.ACTIVE)
    by_email = EmailInvitation.objects.filter(
        status__in=EmailInvitation.LIVE,
        sent_at__lte=cutoff,
        expires_at__gt=now,
        membership__status=Membership.Status.INVITED,
        partnership__status__in=live_states,
    ).exclude(email="")
    for invitation in by_email:
        key = f"emailinvitation:{invitation.pk}:{invitation.send_count}"
        if _once(
            "invitation_5d",
            key,
            "invitee",
            lambda i=invitation: send_invitation(i.pk, reminder=True, fail_silently=False),
        ):
            outcome.sent += 1
        else:
            outcome.skipped += 1
    memberships = (
        Membership.objects.filter(
            status=Membership.Status.INVITED,
            role=Membership.Role.PARTNER,
            invited_at__lte=cutoff,
            partnership__status__in=live_states,
        )
        # Those invited by e-mail are reminded at the address they were invited at (above).
        .exclude(email_invitations__status__in=EmailInvitation.LIVE)
        .select_related("partnership__lead_school", "school")
    )
    for membership in memberships:

        def message(_user, membership=membership):
            return {
                "partnership": membership.partnership.name,
                "paragraphs": [
                    f"{membership.partnership.lead_school.name} invited {membership.school.name} to join "
                    f"“{membership.partnership.name}” on "
                    f"{timezone.localtime(membership.invited_at):%d %B %Y}.",
                    "Please confirm or decline, so that they know whether to look for another partner.",
                ],
                "link": reverse("partnerships:lead_home"),
                "link_label": "Invitations waiting for your answer",
            }

        _notify_users(
            school_contacts(membership.school_id),
            kind="invitation_5d",
            key=f"membership:{membership.pk}:{int(membership.invited_at.timestamp())}",
            message_for=message,
            outcome=outcome,
        )
    return outcome


# --- End-of-grant reports -------------------------------------------------------------------


def remind_end_of_grant_reports(now=None) -> Outcome:
    from grants.models import Application, EndOfGrantReport

    now = now or timezone.now()
    today = timezone.localdate(now)
    outcome = Outcome()
    waiting = (
        Application.objects.filter(
            status=Application.Status.APPROVED,
            cohort__ends_on__lte=today + timedelta(days=REPORT_DUE_NOTICE_DAYS),
        )
        .exclude(
            final_report__status__in=[EndOfGrantReport.Status.SUBMITTED, EndOfGrantReport.Status.ACCEPTED]
        )
        .select_related("partnership", "cohort__programme")
    )
    for application in waiting:
        due = application.cohort.ends_on
        overdue = today > due
        kind = "report_overdue" if overdue else "report_due"

        def message(_user, application=application, due=due, overdue=overdue):
            return {
                "name": application.reference or application.partnership.name,
                "paragraphs": [
                    f"The end-of-grant report of “{application.partnership.name}” "
                    + (
                        f"was due on {due:%d %B %Y} and has not been submitted."
                        if overdue
                        else f"is due by {due:%d %B %Y}."
                    ),
                    "The final instalment of the grant is paid when the report is accepted.",
                ],
                "link": reverse("grants:report_edit", args=[application.pk]),
                "link_label": "Your end-of-grant report",
            }

        _notify_users(
            school_contacts(application.partnership.lead_school_id),
            kind=kind,
            key=f"application:{application.pk}",
            message_for=message,
            outcome=outcome,
        )
    return outcome


# --- Staff digest ---------------------------------------------------------------------------


def working_days_between(start: date, end: date) -> int:
    """Monday-to-Friday days after `start` up to and including `end`."""
    if end <= start:
        return 0
    weeks, extra = divmod((end - start).days, 7)
    count = weeks * 5
    for offset in range(1, extra + 1):
        if (start + timedelta(days=offset + weeks * 7)).weekday() < 5:
            count += 1
    return count


def send_staff_digest(now=None) -> Outcome:
    from grants.models import Application

    now = now or timezone.now()
    today = timezone.localdate(now)
    outcome = Outcome()
    candidates = Application.objects.filter(
        status=Application.Status.SUBMITTED, submitted_at__lte=now - timedelta(days=REVIEW_WAIT_WORKING_DAYS)
    ).select_related("partnership", "cohort__programme")
    waiting = [
        a
        for a in candidates
        if working_days_between(timezone.localdate(a.submitted_at), today) > REVIEW_WAIT_WORKING_DAYS
    ]
    by_programme: dict[int, list] = {}
    for application in waiting:
        by_programme.setdefault(application.cohort.programme_id, []).append(application)
    staff = User.objects.filter(is_active=True, programmes__in=list(by_programme)).distinct().order_by("pk")
    for user in staff.prefetch_related("programmes"):
        mine = sorted(
            (a for p in user.programmes.all() for a in by_programme.get(p.pk, [])),
            key=lambda a: a.submitted_at,
        )
        if not mine:
            continue
        items = [
            f"{a.reference} · {a.partnership.name} · submitted {timezone.localtime(a.submitted_at):%d %B %Y} "
            f"({working_days_between(timezone.localdate(a.submitted_at), today)} working days)"
            for a in mine
        ]

        def message(_user, items=items):
            count = len(items)
            return {
                "count": count,
                "days": REVIEW_WAIT_WORKING_DAYS,
                "paragraphs": [
                    f"These applications were submitted more than {REVIEW_WAIT_WORKING_DAYS} working days "
                    "ago and are still waiting for a decision:"
                ],
                "items": items,
                "link": reverse("grants:review_queue"),
                "link_label": "The review queue",
            }

        _notify_users(
            [user],
            kind="staff_digest",
            key=f"digest:{today.isoformat()}",
            message_for=message,
            outcome=outcome,
        )
    return outcome


def send_all_reminders(now=None) -> dict[str, int]:
    now = now or timezone.now()
    results = {
        "window_closing": remind_window_closing(now),
        "invitations": remind_unanswered_invitations(now),
        "end_of_grant_reports": remind_end_of_grant_reports(now),
    }
    return {name: outcome.sent for name, outcome in results.items()}
