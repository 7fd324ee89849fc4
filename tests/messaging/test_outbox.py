"""The outbox: every e-mail is written in the transaction of the change it tells about, sent
after commit by a task, retried with growing delays, and never sent twice; staff see what failed."""

import time
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail import EmailMessage, EmailMultiAlternatives, send_mail
from django.db import transaction
from django.utils import timezone

from grants import services
from grants.models import Application
from messaging import outbox
from messaging.models import OutboxMessage
from tests import factories
from tests.grants.conftest import AWARD, complete
from tests.mailbackends import FlakyBackend, HangingServer

S = OutboxMessage.State


def email(**kwargs):
    fields = {"subject": "Hello", "body": "Body", "to": ["lead@school.sch.uk"], **kwargs}
    return EmailMessage(**fields)


# --- Written in the caller's transaction, sent after commit -----------------------------------


@pytest.mark.django_db(transaction=True)
def test_nothing_leaves_before_commit_and_a_rolled_back_change_sends_nothing():
    def change_then_fail():
        with transaction.atomic():
            outbox.enqueue(email(subject="Never"))
            assert mail.outbox == []  # not before commit
            raise RuntimeError("the decision failed")

    with pytest.raises(RuntimeError):
        change_then_fail()
    with transaction.atomic():
        outbox.enqueue(email(subject="Committed"))
        assert mail.outbox == []

    assert [m.subject for m in mail.outbox] == ["Committed"]
    assert list(OutboxMessage.objects.values_list("subject", "state")) == [("Committed", S.SENT)]


@pytest.mark.django_db(transaction=True)
def test_a_decision_and_its_emails_commit_together(application_in, staff_carol, lead_alice):
    application = application_in(Application.Status.SUBMITTED)
    mail.outbox.clear()
    before = OutboxMessage.objects.count()

    services.application_approve(application_id=application.pk, by=staff_carol, amount=AWARD)

    rows = OutboxMessage.objects.order_by("pk")[before:]
    assert [(row.to, row.state) for row in rows] == [([lead_alice.email], S.SENT)]
    assert [m.to for m in mail.outbox] == [[lead_alice.email]]


@pytest.mark.django_db(transaction=True)
def test_a_decision_that_fails_after_its_email_was_written_sends_nothing(
    application_in, staff_carol, monkeypatch
):
    application = application_in(Application.Status.SUBMITTED)
    mail.outbox.clear()
    before = OutboxMessage.objects.count()
    real_queue = services.notifications.queue_decision

    def write_then_fail(*args, **kwargs):
        real_queue(*args, **kwargs)
        assert OutboxMessage.objects.count() == before + 1  # written, in the decision's transaction
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services.notifications, "queue_decision", write_then_fail)
    with pytest.raises(RuntimeError):
        services.application_approve(application_id=application.pk, by=staff_carol, amount=AWARD)

    assert OutboxMessage.objects.count() == before
    assert mail.outbox == []
    assert Application.objects.get(pk=application.pk).status == Application.Status.SUBMITTED


def test_djangos_own_mail_goes_through_the_outbox_too(db, settings, django_capture_on_commit_callbacks):
    # The test runner points EMAIL_BACKEND at locmem; portal/settings.py points it at the outbox.
    settings.EMAIL_BACKEND = "messaging.backends.OutboxBackend"
    with django_capture_on_commit_callbacks(execute=True):
        send_mail("Password reset", "Link", None, ["someone@example.org"])

    assert OutboxMessage.objects.get().state == S.SENT
    assert [m.subject for m in mail.outbox] == ["Password reset"]


def test_text_and_html_parts_and_headers_are_kept(db, django_capture_on_commit_callbacks):
    message = EmailMultiAlternatives("Subject", "Plain words", to=["a@example.org"], headers={"X-Kind": "x"})
    message.attach_alternative("<p>Rich words</p>", "text/html")

    with django_capture_on_commit_callbacks(execute=True):
        outbox.enqueue(message)

    sent = mail.outbox[0]
    assert sent.body == "Plain words"
    assert sent.alternatives[0][0] == "<p>Rich words</p>"
    assert sent.extra_headers["X-Kind"] == "x"


def test_attachments_are_refused_rather_than_dropped(db):
    message = email()
    message.attach("a.txt", "x", "text/plain")

    with pytest.raises(ValueError, match="attachments"):
        outbox.enqueue(message)


# --- Header values are sanitised --------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["Fylde\nCoast", "Fylde\r\nCoast", "Fylde\x00Coast", "Fylde\u2028Coast", "Fylde\tCoast"]
)
def test_a_control_character_in_a_name_never_stops_a_message(db, django_capture_on_commit_callbacks, name):
    with django_capture_on_commit_callbacks(execute=True):
        outbox.enqueue(email(subject=f"Approved: {name}", headers={"X-Partnership": name}))

    assert mail.outbox[0].subject == "Approved: Fylde Coast"
    assert mail.outbox[0].extra_headers["X-Partnership"] == "Fylde Coast"
    assert OutboxMessage.objects.get().state == S.SENT


@pytest.mark.django_db(transaction=True)
def test_a_partnership_named_with_a_line_break_still_hears_its_decision(application_in, staff_carol):
    application = application_in(Application.Status.SUBMITTED)
    application.partnership.name = "Fylde\nCoast STEM"
    application.partnership.save()
    mail.outbox.clear()

    services.application_approve(application_id=application.pk, by=staff_carol, amount=AWARD)

    assert len(mail.outbox) == 1
    assert "Fylde Coast STEM" in mail.outbox[0].subject


def test_a_recipient_that_is_not_an_address_is_dropped_and_the_rest_still_get_it(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        outbox.enqueue(email(to=["ok@example.org", "bad\n@x", "not an address", "Ann <ann@example.org>"]))

    assert mail.outbox[0].to == ["ok@example.org", "Ann <ann@example.org>"]


def test_a_message_with_no_valid_recipient_is_not_queued(db):
    assert outbox.enqueue(email(to=["nobody"])) is None
    assert not OutboxMessage.objects.exists()


# --- Retries ----------------------------------------------------------------------------------


@pytest.fixture
def flaky(settings):
    """`flaky()` makes the mail server fail the next two sends, then work."""

    def start():
        settings.MESSAGING_TRANSPORT_BACKEND = "tests.mailbackends.FlakyBackend"
        FlakyBackend.failures, FlakyBackend.attempts = 2, 0
        return FlakyBackend

    yield start
    FlakyBackend.failures, FlakyBackend.attempts = 0, 0


def sweep_until_quiet(start, rounds=10):
    """Run the sweep as beat would, each time at the moment the next retry is due."""
    now = start
    for _ in range(rounds):
        due = OutboxMessage.objects.filter(state=S.QUEUED).order_by("next_attempt_at").first()
        if due is None:
            return
        now = max(now, due.next_attempt_at)
        outbox.sweep(now=now)


@pytest.mark.django_db(transaction=True)
def test_a_mail_server_that_fails_twice_then_works_delivers_each_decision_email_exactly_once(
    flaky, programme, staff_carol
):
    """Three applications decided (approved, changes requested, rejected), each lead school with
    two leads: six decision e-mails, each delivered exactly once."""
    decided = []
    for action in ("approve", "request_changes", "reject"):
        school = factories.SchoolFactory()
        leads = [factories.LeadFactory() for _ in range(2)]
        for lead in leads:
            factories.link_lead(lead, school)
        partnership = factories.PartnershipFactory(
            cohort=factories.CohortFactory(programme=programme), lead_school=school, partners=4
        )
        application = services.application_start(partnership_id=partnership.pk, by=leads[0])
        complete(application, leads[0])
        services.application_submit(application_id=application.pk, by=leads[0])
        decided.append((action, application, leads))
    mail.outbox.clear()
    first = OutboxMessage.objects.count()
    server = flaky()

    for action, application, _ in decided:
        if action == "approve":
            services.application_approve(application_id=application.pk, by=staff_carol, amount=AWARD)
        elif action == "request_changes":
            services.application_request_changes(
                application_id=application.pk, by=staff_carol, comment="More"
            )
        else:
            services.application_reject(application_id=application.pk, by=staff_carol, reason="No")
    assert server.attempts == 6  # one on-commit attempt per e-mail; the first two failed
    sweep_until_quiet(timezone.now())
    sweep_until_quiet(timezone.now() + timedelta(days=1))  # later sweeps send nothing again

    decision_mail = OutboxMessage.objects.order_by("pk")[first:]
    assert len(decision_mail) == 6
    assert {row.state for row in decision_mail} == {S.SENT}
    delivered = sorted(address for m in mail.outbox for address in m.to)
    expected = sorted(lead.email for _, _, leads in decided for lead in leads)
    assert delivered == expected  # every lead once, nobody twice
    retried = [row for row in decision_mail if row.attempts > 1]
    assert [row.attempts for row in retried] == [2, 2]


def test_the_wait_between_attempts_doubles_up_to_an_hour(settings):
    settings.MESSAGING_RETRY_SECONDS = 60

    waits = [outbox.retry_delay(n).total_seconds() for n in range(1, 9)]

    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_after_the_last_attempt_a_message_is_failed_and_shown_to_staff(db, settings):
    settings.MESSAGING_MAX_ATTEMPTS = 3
    settings.MESSAGING_TRANSPORT_BACKEND = "tests.mailbackends.FlakyBackend"
    FlakyBackend.failures, FlakyBackend.attempts = 99, 0
    try:
        message = outbox.enqueue(email())
        now = timezone.now()
        states = []
        for _ in range(4):
            message.refresh_from_db()
            if message.state != S.QUEUED:
                break
            now = max(now, message.next_attempt_at)
            states.append(outbox.deliver(message.pk, now=now))
    finally:
        FlakyBackend.failures, FlakyBackend.attempts = 0, 0

    assert states == [S.QUEUED, S.QUEUED, S.FAILED]
    message.refresh_from_db()
    assert message.attempts == 3
    assert "Connection refused" in message.last_error
    assert OutboxMessage.objects.filter(outbox.waiting()).get() == message


def test_a_refusal_that_another_attempt_cannot_cure_fails_at_once(db, settings, monkeypatch):
    import smtplib

    def refuse(self, messages):
        raise smtplib.SMTPRecipientsRefused({"x@example.org": (550, b"No such user")})

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    message = outbox.enqueue(email())

    assert outbox.deliver(message.pk) == S.FAILED


def test_a_message_is_claimed_once_so_two_workers_never_send_it_twice(db):
    message = outbox.enqueue(email())

    assert outbox.deliver(message.pk) == S.SENT
    assert outbox.deliver(message.pk) == "skipped"
    assert len(mail.outbox) == 1


def test_a_retry_is_not_tried_before_it_is_due(db, flaky):
    server = flaky()
    message = outbox.enqueue(email())
    assert outbox.deliver(message.pk) == S.QUEUED
    message.refresh_from_db()

    assert outbox.deliver(message.pk, now=message.next_attempt_at - timedelta(seconds=1)) == "skipped"
    assert outbox.deliver(message.pk, now=message.next_attempt_at) == S.QUEUED  # 2nd failure
    assert server.attempts == 2


def test_a_message_left_sending_by_a_dead_worker_is_sent_by_the_sweep(db):
    message = outbox.enqueue(email())
    long_ago = timezone.now() - outbox.sending_stale_after() - timedelta(seconds=1)
    OutboxMessage.objects.filter(pk=message.pk).update(state=S.SENDING, attempts=1, last_attempt_at=long_ago)

    outcome = outbox.sweep()

    assert outcome["revived"] == 1
    assert OutboxMessage.objects.get().state == S.SENT
    assert len(mail.outbox) == 1


def test_a_message_whose_task_was_lost_is_sent_by_the_next_sweep(db, monkeypatch):
    """The broker was down at commit: the row waits, queued, until the sweep finds it."""
    monkeypatch.setattr(outbox, "dispatch", lambda pk: False)
    with transaction.atomic():
        outbox.enqueue(email())

    outbox.sweep()

    assert OutboxMessage.objects.get().state == S.SENT


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_is_down_at_commit_leaves_the_message_queued_and_the_change_saved():
    from unittest import mock

    from tests.conftest import broker_at

    down = broker_at("redis://127.0.0.1:9/0")  # nothing listens on port 9
    with mock.patch("messaging.outbox.log.warning") as warned, down, transaction.atomic():
        outbox.enqueue(email())

    assert OutboxMessage.objects.get().state == S.QUEUED
    assert "the sweep will send it" in warned.call_args.args[0]
    outbox.sweep()
    assert OutboxMessage.objects.get().state == S.SENT


def test_the_sweep_stops_when_the_mail_server_keeps_failing(db, settings):
    settings.MESSAGING_TRANSPORT_BACKEND = "tests.mailbackends.FlakyBackend"
    FlakyBackend.failures, FlakyBackend.attempts = 99, 0
    try:
        for n in range(6):
            outbox.enqueue(email(subject=f"m{n}"))
        outcome = outbox.sweep()
    finally:
        FlakyBackend.failures, FlakyBackend.attempts = 0, 0

    assert outcome["queued"] == outbox.SWEEP_GIVES_UP_AFTER
    assert outcome["left"] == 6 - outbox.SWEEP_GIVES_UP_AFTER


# --- A mail server that hangs -----------------------------------------------------------------


@pytest.fixture
def hanging_smtp(settings):
    server = HangingServer()
    settings.MESSAGING_TRANSPORT_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", server.port, 1
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield server
    server.close()


@pytest.mark.django_db(transaction=True)
def test_a_hanging_mail_server_never_touches_the_request_when_a_worker_sends(
    hanging_smtp, application_in, staff_carol, client, monkeypatch
):
    """As in production: the approval's request hands the e-mail to the broker (here recorded)
    and returns; it never opens a connection to the mail server."""
    application = application_in(Application.Status.SUBMITTED)
    handed = []
    monkeypatch.setattr(outbox, "dispatch", handed.append)
    client.force_login(staff_carol)
    connections_before = hanging_smtp.accepted  # setting up sent the submission e-mail

    response = client.post(
        f"/grants/applications/{application.pk}/approve/", {"amount": str(AWARD), "confirm": "yes"}
    )

    assert response.status_code == 302
    assert Application.objects.get(pk=application.pk).status == Application.Status.APPROVED
    assert len(handed) == 1
    assert hanging_smtp.accepted == connections_before


@pytest.mark.django_db(transaction=True)
def test_a_hanging_mail_server_holds_an_attempt_no_longer_than_the_timeout(hanging_smtp, settings):
    """Even with no worker (tasks run in the request, as in `make run`), the request waits at
    most EMAIL_TIMEOUT for the mail server, the change is kept and the message retried later."""
    started = time.monotonic()
    with transaction.atomic():
        message = outbox.enqueue(email())
    elapsed = time.monotonic() - started

    assert hanging_smtp.accepted == 1
    assert elapsed < settings.EMAIL_TIMEOUT + 2
    message.refresh_from_db()
    assert message.state == S.QUEUED
    assert "timed out" in message.last_error.lower()
