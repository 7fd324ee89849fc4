"""The admins' outbox page: failed and waiting messages, and "Try again now"."""

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from messaging import outbox
from messaging.models import OutboxMessage
from tests.messaging.permission_rows import failed_message

S = OutboxMessage.State


@pytest.fixture
def dan(client, admin_dan):
    client.force_login(admin_dan)
    return client


def make(state, attempts, subject):
    return OutboxMessage.objects.create(
        state=state,
        from_email="no-reply@localhost",
        to=["lead@example.org"],
        subject=subject,
        body_text="Body",
        attempts=attempts,
        last_error="SMTPServerDisconnected: timed out" if attempts else "",
        sent_at=timezone.now() if state == S.SENT else None,
    )


def test_admins_see_failed_and_retrying_messages_but_not_sent_or_fresh_ones(dan):
    make(S.FAILED, 8, "Gave up on this one")
    make(S.QUEUED, 2, "Waiting after two failures")
    make(S.SENT, 1, "Delivered long ago")
    make(S.QUEUED, 0, "Just queued")

    page = dan.get(reverse("messaging:outbox"))

    assert page.status_code == 200
    assert "Gave up on this one" in page.text
    assert "Waiting after two failures" in page.text
    assert "Failed (no more retries)" in page.text  # words, not codes
    assert "Delivered long ago" not in page.text
    assert "Just queued" not in page.text
    assert "SMTPServerDisconnected" in page.text


def test_try_again_now_sends_a_failed_message(dan, django_capture_on_commit_callbacks):
    pk = failed_message(None)[0]

    with django_capture_on_commit_callbacks(execute=True):
        response = dan.post(reverse("messaging:outbox_retry", args=[pk]), follow=True)

    assert "will be tried again now" in response.text
    assert OutboxMessage.objects.get(pk=pk).state == S.SENT
    assert [m.subject for m in mail.outbox] == ["Approved: Fylde Coast"]


def test_trying_again_a_message_sent_meanwhile_says_so_and_sends_nothing(dan):
    message = make(S.SENT, 1, "Already gone")

    response = dan.post(reverse("messaging:outbox_retry", args=[message.pk]), follow=True)

    assert "has already been sent" in response.text
    assert mail.outbox == []


def test_try_every_failed_message_again(dan, django_capture_on_commit_callbacks):
    for n in range(3):
        make(S.FAILED, 8, f"failed {n}")

    with django_capture_on_commit_callbacks(execute=True):
        response = dan.post(reverse("messaging:outbox_retry_failed"), follow=True)

    assert "3 failed messages will be tried again now" in response.text
    assert len(mail.outbox) == 3


def test_programme_staff_cannot_see_other_peoples_mail(client, staff_carol):
    client.force_login(staff_carol)

    assert client.get(reverse("messaging:outbox")).status_code == 403


def test_the_outbox_page_has_a_constant_number_of_queries(dan, django_assert_max_num_queries):
    for n in range(30):
        make(S.FAILED, 8, f"failed {n}")

    with django_assert_max_num_queries(12):
        dan.get(reverse("messaging:outbox"))


def test_retry_of_an_unknown_message_is_404(dan):
    assert dan.post(reverse("messaging:outbox_retry", args=[999999])).status_code == 404


def test_health_counts_failed_messages(db):
    assert set(outbox.health()) == {"state", "oldest_waiting_seconds", "failed"}


def test_the_database_refuses_a_sent_message_without_its_sending_time(db):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError, match="outboxmessage_sent_has_sent_at"), transaction.atomic():
        OutboxMessage.objects.create(
            state=S.SENT, from_email="a@b.c", to=["d@e.f"], subject="s", body_text="b"
        )
