"""Reminders and deadlines (partnerships/reminders.py and grants/reminders.py, run by the beat jobs in
partnerships/tasks.py and grants/tasks.py):
each reminder goes exactly once, however often the job runs."""

import re
import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from grants import reminders as grant_reminders
from grants import tasks as grant_tasks
from grants.models import Application, EndOfGrantReport
from messaging.models import Notification, ReminderSent
from partnerships import reminders, tasks
from partnerships.models import Membership
from tests import factories

# What each job sends is read from the mail the outbox delivers (as if each job's transaction
# had committed); tests/messaging covers the outbox's own transaction rules.
pytestmark = pytest.mark.usefixtures("outbox_sends_at_once")

LINK = re.compile(re.escape(settings.PORTAL_BASE_URL.rstrip("/")) + r"/\S+")


def days_ago(n, now=None):
    return (now or timezone.now()) - timedelta(days=n)


def submitted_working_days_ago(n: int, today: date):
    """A submission time `n` working days before `today` (at noon)."""
    day = today
    while grant_reminders.working_days_between(day, today) < n:
        day -= timedelta(days=1)
    return timezone.make_aware(timezone.datetime.combine(day, timezone.datetime.min.time())) + timedelta(
        hours=12
    )


@pytest.fixture
def world(programme, staff_carol, lead_alice, lead_bob, school_a, school_b):
    """One of each reminder due today."""
    now = timezone.now()
    closing = factories.CohortFactory(
        programme=programme, applications_open_at=days_ago(30), applications_close_at=now + timedelta(days=5)
    )
    draft = factories.ApplicationFactory(partnership__cohort=closing, partnership__lead_school=school_a)
    invitation = factories.EmailInvitationFactory(partnership=draft.partnership, sent_at=days_ago(6))
    invited_bob = factories.MembershipFactory(
        partnership=draft.partnership,
        school=school_b,
        status=Membership.Status.INVITED,
        invited_at=days_ago(6),
    )
    ended = factories.CohortFactory(
        programme=programme,
        starts_on=timezone.localdate() - timedelta(days=400),
        ends_on=timezone.localdate() - timedelta(days=1),
        applications_open_at=days_ago(500),
        applications_close_at=days_ago(450),
    )
    approved = factories.ApplicationFactory(
        partnership__cohort=ended,
        partnership__lead_school=factories.SchoolFactory(),
        status=Application.Status.APPROVED,
        requested=Decimal("1000.00"),
        awarded=Decimal("1000.00"),
    )
    factories.link_lead(factories.LeadFactory(email="head@ended.sch.uk"), approved.partnership.lead_school)
    waiting = factories.ApplicationFactory(
        partnership__cohort=closing,
        status=Application.Status.SUBMITTED,
        reference="EP-001-00001",
        submitted_at=submitted_working_days_ago(11, timezone.localdate()),
    )
    return {
        "draft": draft,
        "invitation": invitation,
        "bob": invited_bob,
        "approved": approved,
        "waiting": waiting,
    }


def run_jobs():
    tasks.send_reminders.delay()
    grant_tasks.send_reminders.delay()
    grant_tasks.send_staff_digest.delay()


def sent_subjects():
    return sorted(m.subject for m in mail.outbox)


def test_the_reminder_jobs_run_twice_on_the_same_day_send_each_reminder_exactly_once(
    world, lead_alice, lead_bob, staff_carol
):
    run_jobs()
    first = sent_subjects()
    rows = ReminderSent.objects.count()

    run_jobs()

    assert sent_subjects() == first
    assert ReminderSent.objects.count() == rows
    kinds = set(ReminderSent.objects.values_list("kind", flat=True))
    assert kinds == {"window_7d", "invitation_5d", "report_overdue", "staff_digest"}
    recipients = sorted(address for m in mail.outbox for address in m.to)
    assert recipients == sorted(
        [lead_alice.email, world["invitation"].email, lead_bob.email, "head@ended.sch.uk", staff_carol.email]
    )


def test_every_reminder_has_a_plain_text_part_an_html_part_and_a_link_to_its_page(world):
    run_jobs()

    assert len(mail.outbox) == 5
    for message in mail.outbox:
        assert LINK.search(message.body), message.subject
        html, kind = message.alternatives[0]
        assert kind == "text/html"
        assert LINK.search(html)
    by_subject = {m.subject: LINK.search(m.body).group(0) for m in mail.outbox}
    draft, approved = world["draft"], world["approved"]
    assert any(
        url.endswith(reverse("grants:application_detail", args=[draft.pk])) for url in by_subject.values()
    )
    assert any(url.endswith(reverse("grants:report_edit", args=[approved.pk])) for url in by_subject.values())
    assert any(url.endswith(reverse("grants:review_queue")) for url in by_subject.values())


def test_reminders_to_users_also_appear_on_their_notifications_page(client, world, lead_alice):
    run_jobs()
    client.force_login(lead_alice)

    home = client.get(reverse("partnerships:lead_home"))
    page = client.get(reverse("messaging:notifications"))
    client.post(reverse("messaging:notifications_read"))
    after = client.get(reverse("partnerships:lead_home"))

    assert re.search(r"Notifications <span[^>]*>1<span class=\"visually-hidden\"> unread", home.text)
    assert "close in 5 days" in page.text
    assert not Notification.objects.filter(user=lead_alice, read_at__isnull=True).exists()
    assert 'visually-hidden"> unread' not in after.text


# --- Application window closing -------------------------------------------------------------


@pytest.fixture
def draft(cohort, school_a, lead_alice):
    return factories.ApplicationFactory(partnership__cohort=cohort, partnership__lead_school=school_a)


@pytest.mark.parametrize(
    ("days_before", "kinds"), [(8, set()), (7, {"window_7d"}), (2, {"window_7d"}), (1, {"window_1d"})]
)
def test_window_reminders_go_7_days_and_1_day_before_closing(draft, days_before, kinds):
    closes = draft.cohort.applications_close_at

    grant_reminders.remind_window_closing(closes - timedelta(days=days_before))

    assert set(ReminderSent.objects.values_list("kind", flat=True)) == kinds


def test_a_lead_gets_the_7_day_and_then_the_1_day_reminder(draft, lead_alice):
    closes = draft.cohort.applications_close_at

    for days_before in (7, 6, 2, 1, 1):
        grant_reminders.remind_window_closing(closes - timedelta(days=days_before))

    assert [m.to for m in mail.outbox] == [[lead_alice.email], [lead_alice.email]]
    assert "close in 7 days" in mail.outbox[0].subject
    assert "close tomorrow" in mail.outbox[1].subject


def test_no_window_reminder_once_the_application_is_submitted(draft):
    Application.objects.filter(pk=draft.pk).update(status=Application.Status.SUBMITTED)

    grant_reminders.remind_window_closing(draft.cohort.applications_close_at - timedelta(days=1))

    assert not mail.outbox


def test_no_window_reminder_to_a_closed_account(draft, lead_alice):
    lead_alice.is_active = False
    lead_alice.save()

    grant_reminders.remind_window_closing(draft.cohort.applications_close_at - timedelta(days=1))

    assert not mail.outbox


# --- Unanswered invitations -----------------------------------------------------------------


@pytest.mark.parametrize(("hours", "sent"), [(5 * 24 - 1, 0), (5 * 24, 1)], ids=["4d23h", "5d"])
def test_an_email_invitation_is_reminded_5_days_after_it_was_sent(db, hours, sent):
    invitation = factories.EmailInvitationFactory()

    reminders.remind_unanswered_invitations(invitation.sent_at + timedelta(hours=hours))

    assert len(mail.outbox) == sent
    if sent:
        assert mail.outbox[0].to == [invitation.email]
        assert mail.outbox[0].subject.startswith("Reminder: ")


def test_a_resent_invitation_is_reminded_again_5_days_after_the_resend(db, lead_alice):
    invitation = factories.EmailInvitationFactory()
    reminders.remind_unanswered_invitations(invitation.sent_at + timedelta(days=5))
    invitation.send_count, invitation.sent_at = 2, invitation.sent_at + timedelta(days=6)
    invitation.expires_at = invitation.sent_at + timedelta(days=14)
    invitation.save()

    reminders.remind_unanswered_invitations(invitation.sent_at + timedelta(days=5))
    reminders.remind_unanswered_invitations(invitation.sent_at + timedelta(days=5, hours=1))

    assert len(mail.outbox) == 2


def test_an_answered_or_expired_invitation_is_not_reminded(db):
    answered = factories.EmailInvitationFactory()
    Membership.objects.filter(pk=answered.membership_id).update(status=Membership.Status.CONFIRMED)
    expired = factories.EmailInvitationFactory()

    reminders.remind_unanswered_invitations(expired.expires_at + timedelta(minutes=1))

    assert not mail.outbox


def test_a_school_invited_without_email_has_its_leads_reminded(cohort, lead_bob, school_b):
    membership = factories.MembershipFactory(
        partnership__cohort=cohort, school=school_b, status=Membership.Status.INVITED, invited_at=days_ago(5)
    )

    reminders.remind_unanswered_invitations()
    reminders.remind_unanswered_invitations()

    assert [m.to for m in mail.outbox] == [[lead_bob.email]]
    assert membership.partnership.name in mail.outbox[0].subject


# --- End-of-grant reports -------------------------------------------------------------------


@pytest.fixture
def approved(programme, lead_alice, school_a):
    def make(ends_in_days: int):
        today = timezone.localdate()
        cohort = factories.CohortFactory(
            programme=programme,
            starts_on=today - timedelta(days=300),
            ends_on=today + timedelta(days=ends_in_days),
            applications_open_at=days_ago(400),
            applications_close_at=days_ago(350),
        )
        return factories.ApplicationFactory(
            partnership__cohort=cohort,
            partnership__lead_school=school_a,
            status=Application.Status.APPROVED,
            requested=Decimal("1000.00"),
            awarded=Decimal("1000.00"),
        )

    return make


@pytest.mark.parametrize(
    ("ends_in_days", "kinds"),
    [(31, set()), (30, {"report_due"}), (0, {"report_due"}), (-1, {"report_overdue"})],
)
def test_end_of_grant_reports_are_reminded_when_due_and_when_overdue(approved, ends_in_days, kinds):
    approved(ends_in_days)

    grant_reminders.remind_end_of_grant_reports()
    grant_reminders.remind_end_of_grant_reports()

    assert set(ReminderSent.objects.values_list("kind", flat=True)) == kinds
    assert len(mail.outbox) == len(kinds)


@pytest.mark.parametrize("status", [EndOfGrantReport.Status.SUBMITTED, EndOfGrantReport.Status.ACCEPTED])
def test_a_submitted_or_accepted_report_is_not_reminded(approved, status):
    application = approved(-1)
    EndOfGrantReport.objects.create(application=application, status=status)

    grant_reminders.remind_end_of_grant_reports()

    assert not mail.outbox


def test_a_returned_report_is_still_reminded(approved):
    application = approved(-1)
    EndOfGrantReport.objects.create(application=application, status=EndOfGrantReport.Status.RETURNED)

    grant_reminders.remind_end_of_grant_reports()

    assert len(mail.outbox) == 1


# --- Staff digest -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2026, 3, 2), date(2026, 3, 2), 0),  # Monday to the same Monday
        (date(2026, 3, 2), date(2026, 3, 6), 4),  # Monday to Friday
        (date(2026, 3, 6), date(2026, 3, 9), 1),  # Friday to Monday: the weekend does not count
        (date(2026, 3, 2), date(2026, 3, 16), 10),  # two weeks
        (date(2026, 3, 7), date(2026, 3, 8), 0),  # Saturday to Sunday
    ],
)
def test_working_days_between_counts_monday_to_friday(start, end, expected):
    assert grant_reminders.working_days_between(start, end) == expected


@pytest.mark.parametrize(("working_days", "digests"), [(10, 0), (11, 1)])
def test_the_staff_digest_lists_applications_waiting_over_10_working_days(
    cohort, staff_carol, working_days, digests
):
    factories.ApplicationFactory(
        partnership__cohort=cohort,
        status=Application.Status.SUBMITTED,
        reference="EP-001-00042",
        submitted_at=submitted_working_days_ago(working_days, timezone.localdate()),
    )

    grant_reminders.send_staff_digest()
    grant_reminders.send_staff_digest()

    assert len(mail.outbox) == digests
    if digests:
        assert mail.outbox[0].to == [staff_carol.email]
        assert "EP-001-00042" in mail.outbox[0].body
        assert "(11 working days)" in mail.outbox[0].body


def test_the_staff_digest_goes_only_to_the_programmes_staff(cohort, staff_carol):
    other = factories.StaffFactory()
    factories.ProgrammeFactory().staff.add(other)
    factories.ApplicationFactory(
        partnership__cohort=cohort,
        status=Application.Status.SUBMITTED,
        reference="EP-001-00043",
        submitted_at=submitted_working_days_ago(12, timezone.localdate()),
    )

    grant_reminders.send_staff_digest()

    assert [m.to for m in mail.outbox] == [[staff_carol.email]]


def test_the_staff_digest_goes_again_the_next_day_while_applications_wait(cohort, staff_carol):
    factories.ApplicationFactory(
        partnership__cohort=cohort,
        status=Application.Status.SUBMITTED,
        reference="EP-001-00044",
        submitted_at=submitted_working_days_ago(12, timezone.localdate()),
    )

    grant_reminders.send_staff_digest()
    grant_reminders.send_staff_digest(timezone.now() + timedelta(days=1))

    assert len(mail.outbox) == 2


# --- Failures and concurrency ---------------------------------------------------------------


def test_a_reminder_whose_email_fails_is_recorded_once_and_its_email_retried_by_the_outbox(
    draft, monkeypatch
):
    from messaging import outbox
    from messaging.models import OutboxMessage

    closes = draft.cohort.applications_close_at
    with monkeypatch.context() as broken_mail_server:
        broken_mail_server.setattr(
            "django.core.mail.backends.locmem.EmailBackend.send_messages", lambda self, m: 1 / 0
        )
        grant_reminders.remind_window_closing(closes - timedelta(days=3))
        grant_reminders.remind_window_closing(closes - timedelta(days=3))  # the next run sends nothing new

    assert ReminderSent.objects.count() == 1
    waiting = OutboxMessage.objects.get()
    assert waiting.state == OutboxMessage.State.QUEUED
    assert "ZeroDivisionError" in waiting.last_error
    assert mail.outbox == []

    outbox.sweep(now=waiting.next_attempt_at)

    assert len(mail.outbox) == 1
    assert OutboxMessage.objects.get().state == OutboxMessage.State.SENT
    assert ReminderSent.objects.count() == 1


def test_a_reminder_that_cannot_be_queued_is_tried_again_on_the_next_run(draft, monkeypatch):
    def broken(email):
        raise RuntimeError("the outbox table is not there")

    closes = draft.cohort.applications_close_at
    with monkeypatch.context() as broken_outbox:
        broken_outbox.setattr("messaging.outbox.enqueue", broken)
        grant_reminders.remind_window_closing(closes - timedelta(days=3))
    assert not ReminderSent.objects.exists()
    assert not Notification.objects.exists()

    grant_reminders.remind_window_closing(closes - timedelta(days=3))

    assert len(mail.outbox) == 1
    assert ReminderSent.objects.count() == 1


def test_the_beat_schedule_runs_both_jobs_daily():
    from portal.celery import app

    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}

    jobs = {
        "partnerships.tasks.send_reminders",
        "grants.tasks.send_reminders",
        "grants.tasks.send_staff_digest",
    }
    assert jobs <= scheduled
    assert jobs <= set(app.tasks)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_reminder_jobs_running_at_once_send_each_reminder_once():
    programme = factories.ProgrammeFactory()
    cohort = factories.CohortFactory(
        programme=programme,
        applications_open_at=days_ago(30),
        applications_close_at=timezone.now() + timedelta(days=3),
    )
    leads = []
    for _ in range(6):
        application = factories.ApplicationFactory(partnership__cohort=cohort)
        lead = factories.LeadFactory()
        factories.link_lead(lead, application.partnership.lead_school)
        leads.append(lead)
    start = threading.Barrier(2)
    errors = []

    def job():
        try:
            start.wait()
            grant_reminders.send_all_reminders()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=job) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    assert sorted(m.to[0] for m in mail.outbox) == sorted(lead.email for lead in leads)
    assert ReminderSent.objects.filter(kind="window_7d").count() == len(leads)
