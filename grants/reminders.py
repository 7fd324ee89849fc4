"""Grants' reminders and deadlines, sent by the daily Celery beat jobs (grants/tasks.py); each
goes once (messaging/reminders.py, ReminderSent).

- window_7d / window_1d: the application window closes in 7 days or fewer / 1 day or fewer
  (calendar dates, UK time); to the verified leads of partnerships whose application is a draft.
- report_due / report_overdue: the end-of-grant report of an approved grant is due by the
  cohort's `ends_on` (reminded from REPORT_DUE_NOTICE_DAYS before) and overdue after it,
  while it is not submitted or accepted; to the lead school's verified leads.
- agreement_reminder / agreement_lapsed: a grant agreement not yet accepted, 7 and 1 days before
  its deadline; after it, the agreement lapses (grants/agreements.py).
- staff_digest: once a day, to each programme's staff, the applications waiting for review
  (submitted) for more than 10 working days (Monday to Friday).
"""

from datetime import date, timedelta

from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from grants import agreements
from grants.models import Application, EndOfGrantReport
from messaging.reminders import Outcome, notify_users
from partnerships.selectors import school_contacts

WINDOW_NOTICE_DAYS = (7, 1)
REPORT_DUE_NOTICE_DAYS = 30
REVIEW_WAIT_WORKING_DAYS = 10


# --- Application window closing -------------------------------------------------------------


def remind_window_closing(now=None) -> Outcome:
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

        notify_users(
            school_contacts(application.partnership.lead_school_id),
            kind=f"window_{notice}d",
            key=f"application:{application.pk}",
            message_for=message,
            outcome=outcome,
        )
    return outcome


# --- End-of-grant reports -------------------------------------------------------------------


def remind_end_of_grant_reports(now=None) -> Outcome:
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

        notify_users(
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

        notify_users(
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
        "end_of_grant_reports": remind_end_of_grant_reports(now),
        "grant_agreements": agreements.remind_and_lapse(now),
    }
    return {name: outcome.sent for name, outcome in results.items()}
