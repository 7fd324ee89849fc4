"""A draft given more time is reminded of its own deadline (the extension's), not the round's, and
the lead is shown that deadline when submitting."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from grants import extensions
from grants import reminders as grant_reminders
from grants.models import Application
from messaging.models import ReminderSent

S = Application.Status
pytestmark = pytest.mark.usefixtures("outbox_sends_at_once")


@pytest.fixture
def draft(application_in):
    return application_in(S.DRAFT)


def close_round(cohort, at):
    cohort.applications_close_at = at
    cohort.save(update_fields=["applications_close_at"])


def extend(draft, staff, until):
    return extensions.extension_grant(
        application_id=draft.pk, by=staff, until=until, reason="Governors meet late."
    )


def kinds_sent():
    return set(ReminderSent.objects.values_list("kind", flat=True))


def test_a_reopened_window_is_reminded_before_the_extension_ends(draft, cohort, staff_carol, lead_alice):
    now = timezone.now()
    close_round(cohort, now - timedelta(days=1))
    extend(draft, staff_carol, now + timedelta(days=3, hours=1))
    mail.outbox.clear()

    grant_reminders.remind_window_closing(now)

    assert kinds_sent() == {"window_7d"}
    (message,) = mail.outbox
    assert message.to == [lead_alice.email]
    assert message.subject.startswith("Your extended deadline for")
    assert "in 3 days" in message.subject
    assert "gave it more time" in message.body


def test_a_draft_extended_past_the_round_is_not_reminded_of_the_round_deadline(draft, cohort, staff_carol):
    now = timezone.now()
    close_round(cohort, now + timedelta(days=2))
    until = now + timedelta(days=20)
    extend(draft, staff_carol, until)

    grant_reminders.remind_window_closing(now)
    assert kinds_sent() == set()

    grant_reminders.remind_window_closing(until - timedelta(hours=12))
    assert kinds_sent() == {"window_1d"}


def test_a_reminder_of_the_round_deadline_does_not_stop_the_one_for_the_extension(draft, cohort, staff_carol):
    now = timezone.now()
    close_round(cohort, now + timedelta(days=5))
    grant_reminders.remind_window_closing(now)  # window_7d for the round's deadline
    until = now + timedelta(days=12)
    extend(draft, staff_carol, until)

    grant_reminders.remind_window_closing(until - timedelta(days=3))

    assert ReminderSent.objects.filter(kind="window_7d").count() == 2


def test_a_round_moved_past_the_extension_is_reminded_of_the_round_deadline(draft, cohort, staff_carol):
    """The later of the two counts, in the reminders' SQL as in selectors.submission_closes_at: an
    extension to day 3 followed by the round moved to day 20 leaves the lead until day 20."""
    now = timezone.now()
    close_round(cohort, now - timedelta(days=1))
    extend(draft, staff_carol, now + timedelta(days=3, hours=1))
    close_round(cohort, now + timedelta(days=20))
    mail.outbox.clear()

    grant_reminders.remind_window_closing(now)
    assert kinds_sent() == set()  # not "your extended deadline is in 3 days"

    grant_reminders.remind_window_closing(now + timedelta(days=19, hours=12))
    assert kinds_sent() == {"window_1d"}
    (message,) = mail.outbox
    assert "gave it more time" not in message.body
    assert "close on" in message.body


def test_the_submit_confirmation_shows_the_extended_deadline(client, draft, cohort, staff_carol, lead_alice):
    now = timezone.now()
    close_round(cohort, now - timedelta(days=1))
    until = timezone.localtime(now + timedelta(days=3))
    extend(draft, staff_carol, until)
    client.force_login(lead_alice)

    page = client.post(
        reverse("grants:application_review", args=[draft.pk]), {"partnership": draft.partnership_id}
    )

    text = page.content.decode()
    assert f"you can submit it until {until:%-d %B %Y %H:%M}" in text
