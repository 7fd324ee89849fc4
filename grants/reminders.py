"""Grants' reminders and deadlines, sent by the daily Celery beat jobs (grants/tasks.py); each
goes once (messaging/reminders.py, ReminderSent).

- window_7d / window_1d: the application window closes in 7 days or fewer / 1 day or fewer
  (calendar dates, UK time); to the verified leads of partnerships whose application is a draft.
- agreement_reminder / agreement_lapsed: a grant agreement not yet accepted, 7 and 1 days before
  its deadline; after it, the agreement lapses (grants/agreements.py).
- report_due / report_overdue: each report of an approved grant (interim ones due at the date set
  at award, the final one then or at the cohort's `ends_on`: grants/reports.py) is reminded from
  REPORT_DUE_NOTICE_DAYS before and when overdue, while it is not submitted or accepted; to the lead
  school's verified leads. report_overdue_staff: overdue REPORT_ESCALATE_DAYS or more; to the
  programme's staff (the staff reports page lists all overdue reports too).
- staff_digest: once a day, to each programme's staff, the applications waiting for review
  (submitted) for more than 10 working days (Monday to Friday).
"""

from datetime import date, timedelta

from django.contrib.auth.models import User
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone

from grants import agreements
from grants.models import Application, DeadlineExtension, EndOfGrantReport
from grants.selectors import programme_staff
from messaging.reminders import Outcome, notify_users
from partnerships.selectors import school_contacts

WINDOW_NOTICE_DAYS = (7, 1)
REPORT_DUE_NOTICE_DAYS = 30
REPORT_ESCALATE_DAYS = 14  # overdue this long: programme staff are told
REVIEW_WAIT_WORKING_DAYS = 10


# --- Application window closing -------------------------------------------------------------


def _with_closes_at(applications):
    """Each application's own last moment to submit, as `selectors.submission_closes_at` has it: the
    later of the round's deadline and its current extension's `until`. An extension is after the
    round's deadline when granted (the database holds that), but the round can be moved later
    afterwards, and then the round's deadline is the one that counts."""
    extended = DeadlineExtension.objects.filter(application=OuterRef("pk"), is_current=True).values("until")[
        :1
    ]
    round_closes = F("cohort__applications_close_at")
    return applications.annotate(extended_until=Subquery(extended)).annotate(
        closes_at=Greatest(Coalesce(F("extended_until"), round_closes), round_closes)
    )


def remind_window_closing(now=None) -> Outcome:
    """Reminds of the application's own deadline (`selectors.submission_closes_at`): a draft given
    more time is reminded before its extension ends, not before the round's end. An extended
    draft's reminders carry the extended deadline in their key, so a reminder sent for the round's
    deadline does not stop the one for the new deadline (and a later extension gets its own)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    outcome = Outcome()
    drafts = _with_closes_at(
        Application.objects.filter(status=Application.Status.DRAFT).select_related(
            "partnership", "cohort__programme"
        )
    ).filter(closes_at__gt=now, closes_at__lte=now + timedelta(days=max(WINDOW_NOTICE_DAYS) + 1))
    for application in drafts:
        closes = timezone.localtime(application.closes_at)
        days_left = (closes.date() - today).days
        notice = min((d for d in WINDOW_NOTICE_DAYS if days_left <= d), default=None)
        if notice is None:
            continue
        when = "today" if days_left == 0 else "tomorrow" if days_left == 1 else f"in {days_left} days"
        extended = (
            application.extended_until is not None and application.closes_at == application.extended_until
        )
        key = f"application:{application.pk}"
        if extended:
            key += f":until:{application.extended_until.isoformat()}"

        def message(_user, application=application, closes=closes, when=when, extended=extended):
            deadline = (
                f"The programme team gave it more time: you can submit it until {closes:%d %B %Y at %H:%M}."
                if extended
                else f"Applications to {application.cohort} close on {closes:%d %B %Y at %H:%M}."
            )
            return {
                "cohort": str(application.cohort),
                "when": when,
                "extended": extended,
                "paragraphs": [
                    f"The application of “{application.partnership.name}” is still a draft. {deadline}",
                    "Finish and submit it before then: a draft cannot be submitted after the window closes.",
                ],
                "link": reverse("grants:application_detail", args=[application.pk]),
                "link_label": "Your application",
            }

        notify_users(
            school_contacts(application.partnership.lead_school_id),
            kind=f"window_{notice}d",
            key=key,
            message_for=message,
            outcome=outcome,
        )
    return outcome


# --- End-of-grant reports -------------------------------------------------------------------


def _waiting_reports(today):
    """(application, Due) for every report of an approved grant that is due within the notice
    period or overdue and not submitted or accepted (grants/reports.py works out the due dates)."""
    from grants import reports

    horizon = today + timedelta(days=REPORT_DUE_NOTICE_DAYS)
    applications = (
        Application.objects.filter(status=Application.Status.APPROVED)
        .filter(Q(cohort__ends_on__lte=horizon) | Q(reports__due_on__lte=horizon))
        .select_related("partnership", "cohort__programme")
        .distinct()
    )
    for application in applications:
        for due in reports.reports_of(application):
            done = due.report is not None and due.report.status in (
                EndOfGrantReport.Status.SUBMITTED,
                EndOfGrantReport.Status.ACCEPTED,
            )
            if due.due and not done and due.due <= horizon:
                yield application, due


def _key(application, due) -> str:
    # The final report keeps the key it had before interim reports existed (nothing sent twice).
    return f"application:{application.pk}" + ("" if due.kind == "final" else f":{due.kind}")


def remind_end_of_grant_reports(now=None) -> Outcome:
    """Leads: a report due within REPORT_DUE_NOTICE_DAYS (report_due), then overdue (report_overdue).
    Staff: a report overdue by REPORT_ESCALATE_DAYS or more (report_overdue_staff); the staff
    reports page lists every overdue report as well."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    outcome = Outcome()
    for application, due in _waiting_reports(today):
        overdue = today > due.due
        kind = "report_overdue" if overdue else "report_due"
        what = due.label[0].lower() + due.label[1:]

        def message(_user, application=application, due=due, overdue=overdue, what=what):
            return {
                "name": application.reference or application.partnership.name,
                "report": what,
                "paragraphs": [
                    f"The {what} of “{application.partnership.name}” "
                    + (
                        f"was due on {due.due:%d %B %Y} and has not been submitted."
                        if overdue
                        else f"is due by {due.due:%d %B %Y}."
                    ),
                    "The instalment that depends on it is released when the report is accepted.",
                ],
                "link": reverse(
                    "grants:report_edit",
                    args=[application.pk] if due.kind == "final" else [application.pk, due.kind],
                ),
                "link_label": f"Your {what}",
            }

        notify_users(
            school_contacts(application.partnership.lead_school_id),
            kind=kind,
            key=_key(application, due),
            message_for=message,
            outcome=outcome,
        )
        if overdue and (today - due.due).days >= REPORT_ESCALATE_DAYS:

            def staff_message(_user, application=application, due=due, what=what):
                return {
                    "name": application.reference or application.partnership.name,
                    "report": what,
                    "paragraphs": [
                        f"The {what} of “{application.partnership.name}” was due on {due.due:%d %B %Y}: "
                        f"{(today - due.due).days} days ago. Its lead has been reminded and has not "
                        "submitted it.",
                    ],
                    "link": reverse("grants:staff_reports"),
                    "link_label": "Reports waiting and overdue",
                }

            notify_users(
                programme_staff(application),
                kind="report_overdue_staff",
                key=_key(application, due),
                message_for=staff_message,
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
