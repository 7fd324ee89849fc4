"""Deadline extensions (issue 17): programme staff give one draft application more time, or
reopen its window after the round closed, with a reason; it is audited in words, the lead school
is told, and the database refuses an extension that ends before the round's own deadline."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from grants import extensions, history, selectors, services
from grants.models import Application, AuditEvent, DeadlineExtension
from messaging.models import Notification
from tests import factories

S = Application.Status


@pytest.fixture
def closed_draft(application_in, cohort):
    """A complete draft whose round closed yesterday."""
    draft = application_in(S.DRAFT)
    cohort.applications_close_at = timezone.now() - timedelta(days=1)
    cohort.save(update_fields=["applications_close_at"])
    return Application.objects.get(pk=draft.pk)


def in_days(n):
    return timezone.now() + timedelta(days=n)


def test_a_draft_cannot_be_submitted_after_its_round_closes(closed_draft, lead_alice):
    with pytest.raises(ValidationError, match="closed on"):
        services.application_submit(application_id=closed_draft.pk, by=lead_alice)


def test_a_reopened_window_lets_that_application_be_submitted_and_is_audited_in_words(
    closed_draft, lead_alice, staff_carol
):
    extensions.extension_grant(
        application_id=closed_draft.pk, by=staff_carol, until=in_days(3), reason="The head was off sick."
    )

    services.application_submit(application_id=closed_draft.pk, by=lead_alice)

    assert Application.objects.get(pk=closed_draft.pk).status == S.SUBMITTED
    event = AuditEvent.objects.get(application=closed_draft, action="window_reopened")
    words = history.describe(event)
    assert words.startswith("Submission window reopened by Carol")
    assert "The head was off sick." in words
    assert "window_reopened" not in words


def test_an_extension_is_for_one_application_only(closed_draft, staff_carol, cohort):
    other = factories.ApplicationFactory(partnership=factories.PartnershipFactory(cohort=cohort))

    extensions.extension_grant(
        application_id=closed_draft.pk, by=staff_carol, until=in_days(3), reason="Ill."
    )

    assert selectors.submission_window_open(closed_draft)
    assert not selectors.submission_window_open(other)


def test_an_extension_before_the_round_closes_reads_as_extended(application_in, staff_carol, cohort):
    draft = application_in(S.DRAFT)
    extensions.extension_grant(
        application_id=draft.pk,
        by=staff_carol,
        until=cohort.applications_close_at + timedelta(days=7),
        reason="Waiting for a partner's governors.",
    )
    event = AuditEvent.objects.get(application=draft, action__in=["deadline_extended", "window_reopened"])
    assert event.action == "deadline_extended"
    assert history.describe(event).startswith("Submission deadline extended by Carol")


def test_the_lead_is_told_by_message_with_the_new_deadline_and_reason(
    closed_draft, lead_alice, staff_carol, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    until = in_days(3)
    with django_capture_on_commit_callbacks(execute=True):
        extensions.extension_grant(
            application_id=closed_draft.pk, by=staff_carol, until=until, reason="Illness at the school."
        )

    assert Notification.objects.filter(user=lead_alice, kind="deadline_extended").count() == 1
    assert [m.to for m in mail.outbox] == [[lead_alice.email]]
    body = mail.outbox[0].body
    assert f"{timezone.localtime(until):%d %B %Y %H:%M}" in body
    assert "Illness at the school." in body
    assert mail.outbox[0].subject.startswith("Reopened:")


def test_an_extension_ending_by_the_round_deadline_is_refused(application_in, staff_carol, cohort):
    draft = application_in(S.DRAFT)
    with pytest.raises(ValidationError) as exc:
        extensions.extension_grant(
            application_id=draft.pk, by=staff_carol, until=cohort.applications_close_at, reason="x"
        )
    assert "until" in exc.value.message_dict
    assert not DeadlineExtension.objects.exists()
    assert not AuditEvent.objects.filter(action__in=["deadline_extended", "window_reopened"]).exists()


def test_an_extension_needs_a_reason_and_a_future_deadline(closed_draft, staff_carol):
    with pytest.raises(ValidationError) as no_reason:
        extensions.extension_grant(
            application_id=closed_draft.pk, by=staff_carol, until=in_days(2), reason=" "
        )
    with pytest.raises(ValidationError) as past:
        extensions.extension_grant(
            application_id=closed_draft.pk,
            by=staff_carol,
            until=timezone.now() - timedelta(hours=1),
            reason="Late.",
        )
    assert "reason" in no_reason.value.message_dict
    assert "until" in past.value.message_dict


def test_an_extension_cannot_run_past_the_start_of_the_work(closed_draft, staff_carol, cohort):
    with pytest.raises(ValidationError, match="work starts"):
        extensions.extension_grant(
            application_id=closed_draft.pk,
            by=staff_carol,
            until=timezone.make_aware(
                timezone.datetime.combine(cohort.starts_on + timedelta(days=1), timezone.datetime.min.time())
            ),
            reason="Late.",
        )


def test_a_submitted_application_gets_no_extension(application_in, staff_carol):
    submitted = application_in(S.SUBMITTED)
    with pytest.raises(ValidationError, match="not yet submitted"):
        extensions.extension_grant(application_id=submitted.pk, by=staff_carol, until=in_days(40), reason="x")


def test_only_the_programmes_unconflicted_staff_may_extend(
    closed_draft, lead_alice, other_staff, conflicted_staff, admin_dan
):
    for who in (lead_alice, other_staff, conflicted_staff):
        with pytest.raises(PermissionDenied):
            extensions.extension_grant(
                application_id=closed_draft.pk, by=who, until=in_days(3), reason="Please."
            )
    extensions.extension_grant(application_id=closed_draft.pk, by=admin_dan, until=in_days(3), reason="Ok.")
    assert DeadlineExtension.objects.count() == 1


def test_a_second_extension_replaces_the_first_and_keeps_it(closed_draft, staff_carol):
    first = extensions.extension_grant(
        application_id=closed_draft.pk, by=staff_carol, until=in_days(3), reason="One."
    )
    second = extensions.extension_grant(
        application_id=closed_draft.pk, by=staff_carol, until=in_days(5), reason="Two."
    )
    again = extensions.extension_grant(
        application_id=closed_draft.pk, by=staff_carol, until=second.until, reason="Two."
    )

    first.refresh_from_db()
    assert not first.is_current
    assert second.is_current
    assert again.pk == second.pk
    assert AuditEvent.objects.filter(application=closed_draft, action="window_reopened").count() == 2


def test_the_database_allows_one_current_extension_and_needs_a_reason(closed_draft, staff_carol):
    row = {"application": closed_draft, "by": staff_carol, "granted_at": timezone.now()}
    closes = closed_draft.cohort.applications_close_at
    DeadlineExtension.objects.create(**row, until=in_days(2), reason="One.", round_closed_at=closes)
    with pytest.raises(IntegrityError), transaction.atomic():
        DeadlineExtension.objects.create(**row, until=in_days(3), reason="Two.", round_closed_at=closes)
    with pytest.raises(IntegrityError), transaction.atomic():
        DeadlineExtension.objects.create(
            **row, until=in_days(3), reason="  ", round_closed_at=closes, is_current=False
        )


@pytest.mark.postgres
def test_on_postgres_a_raw_extension_before_the_rounds_deadline_or_for_a_submitted_one_is_refused(
    application_in, staff_carol, cohort
):
    draft = application_in(S.DRAFT)
    row = {
        "application": draft,
        "by": staff_carol,
        "granted_at": timezone.now() - timedelta(days=60),
        "reason": "x",
    }
    # round_closed_at copied wrong on purpose: only the trigger, reading the cohort, can tell.
    early = cohort.applications_close_at - timedelta(days=1)
    with pytest.raises(IntegrityError, match="deadlineextension_after_round"), transaction.atomic():
        DeadlineExtension.objects.create(**row, until=early, round_closed_at=early - timedelta(days=1))
    DeadlineExtension.objects.create(**row, until=in_days(40), round_closed_at=cohort.applications_close_at)
    Application.objects.filter(pk=draft.pk).update(status=S.SUBMITTED)
    with pytest.raises(IntegrityError, match="not a draft"), transaction.atomic():
        DeadlineExtension.objects.create(
            **row, until=in_days(41), round_closed_at=cohort.applications_close_at, is_current=False
        )


# --- The page ---------------------------------------------------------------------------------


def test_staff_set_a_new_deadline_on_the_page_and_the_lead_sees_it(
    client, closed_draft, staff_carol, lead_alice
):
    client.force_login(staff_carol)
    url = reverse("grants:application_extension", args=[closed_draft.pk])
    assert "Set the new deadline" in client.get(url).content.decode()
    until = timezone.localtime(in_days(4)).replace(second=0, microsecond=0)

    response = client.post(url, {"until": f"{until:%Y-%m-%dT%H:%M}", "reason": "Snow closed the school."})

    assert response.status_code == 302
    assert DeadlineExtension.objects.get().until == until
    client.force_login(lead_alice)
    body = client.get(reverse("grants:application_detail", args=[closed_draft.pk])).content.decode()
    assert "extended for this application" in body
    assert "Submission window reopened by Carol" in body


def test_a_bad_deadline_on_the_page_is_an_error_next_to_the_field(client, closed_draft, staff_carol):
    client.force_login(staff_carol)
    url = reverse("grants:application_extension", args=[closed_draft.pk])

    bad_date = client.post(url, {"until": "31/02/2027 10:00", "reason": "x"})
    too_early = client.post(url, {"until": "2000-01-01T10:00", "reason": "x"})

    assert bad_date.status_code == too_early.status_code == 200
    assert "There is a problem" in bad_date.content.decode()
    assert "must end after" in too_early.content.decode()
    assert not DeadlineExtension.objects.exists()
