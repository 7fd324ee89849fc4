"""The conversation's kinds (application_message_to_staff / _to_lead) follow each person's
preference (at once, a daily digest, the portal only); staff with a conflict of interest on an
application (they act for its lead school or a partner school) hear nothing about it."""

import pytest
from django.core import mail

from grants import services
from grants.models import Application
from messaging import delivery
from messaging.models import Notification, Preference

S = Application.Status
pytestmark = pytest.mark.usefixtures("outbox_sends_at_once")


def told(kind):
    return sorted(Notification.objects.filter(kind=kind).values_list("user__username", flat=True))


@pytest.fixture
def submitted(application_in):
    application = application_in(S.SUBMITTED)
    mail.outbox.clear()
    Notification.objects.all().delete()
    return application


@pytest.mark.parametrize(
    ("kind", "writer", "reader"),
    [
        ("application_message_to_staff", "lead_alice", "staff_carol"),
        ("application_message_to_lead", "staff_carol", "lead_alice"),
    ],
)
def test_a_reader_who_chose_a_digest_gets_the_message_in_the_next_days_summary(
    request, submitted, kind, writer, reader
):
    writer, reader = request.getfixturevalue(writer), request.getfixturevalue(reader)
    Preference.objects.create(user=reader, kind=kind, delivery="digest")

    services.message_post(application_id=submitted.pk, by=writer, body="Can you add the dates?")

    assert mail.outbox == []
    assert Notification.objects.get(user=reader, kind=kind).in_digest
    assert delivery.send_digests() == 1
    [digest] = mail.outbox
    assert digest.to == [reader.email]
    assert f"/grants/applications/{submitted.pk}/#conversation" in digest.body


@pytest.mark.parametrize(
    ("kind", "writer", "reader"),
    [
        ("application_message_to_staff", "lead_alice", "staff_carol"),
        ("application_message_to_lead", "staff_carol", "lead_alice"),
    ],
)
def test_a_reader_who_chose_the_portal_only_is_never_emailed(request, submitted, kind, writer, reader):
    writer, reader = request.getfixturevalue(writer), request.getfixturevalue(reader)
    Preference.objects.create(user=reader, kind=kind, delivery="portal")

    services.message_post(application_id=submitted.pk, by=writer, body="Thank you.")
    delivery.send_digests()

    assert told(kind) == [reader.username]
    assert mail.outbox == []


def test_a_preference_for_one_conversation_kind_leaves_the_other_alone(submitted, lead_alice, staff_carol):
    Preference.objects.create(user=lead_alice, kind="application_message_to_staff", delivery="portal")

    services.message_post(application_id=submitted.pk, by=staff_carol, body="Please add the dates.")

    assert [m.to for m in mail.outbox] == [[lead_alice.email]]


def test_conflicted_staff_hear_nothing_of_the_applicants_message(submitted, lead_alice, conflicted_staff):
    services.message_post(application_id=submitted.pk, by=lead_alice, body="When will we hear back?")

    assert told("application_message_to_staff") == ["staff_carol"]
    assert conflicted_staff.email not in [m.to[0] for m in mail.outbox]


def test_conflicted_staff_hear_nothing_of_a_submission(application_in, conflicted_staff):
    mail.outbox.clear()

    application_in(S.SUBMITTED)

    assert told("application_submitted") == ["staff_carol"]
    assert conflicted_staff.email not in [address for m in mail.outbox for address in m.to]


def test_staff_who_declared_a_conflict_hear_nothing_of_the_applicants_message(
    submitted, lead_alice, programme
):
    from grants.models import ConflictDeclaration
    from tests import factories

    declared = factories.StaffFactory(username="staff_dee")
    programme.staff.add(declared)
    ConflictDeclaration.objects.create(
        application=submitted, reviewer=declared, reason="My sister teaches there."
    )

    services.message_post(application_id=submitted.pk, by=lead_alice, body="When will we hear back?")

    assert told("application_message_to_staff") == ["staff_carol"]
    assert declared.email not in [m.to[0] for m in mail.outbox]
