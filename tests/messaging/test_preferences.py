"""Preferences: per kind, e-mail at once, a daily digest, or in the portal only; mandatory kinds
(decisions, security notices) are always e-mailed."""

import pytest
from django.core import mail
from django.urls import reverse

import messaging
from messaging import delivery
from messaging.models import Notification, Preference
from tests import factories

pytestmark = pytest.mark.usefixtures("outbox_sends_at_once")

CONTEXT = {"school": "Ash", "partnership": "Fylde", "paragraphs": ["Hello."], "link": "/partnerships/7/"}
DECISION = {"name": "EP-1 · Fylde", "paragraphs": ["Approved."], "link": "/grants/applications/1/"}


def choose(user, kind, value):
    Preference.objects.create(user=user, kind=kind, delivery=value)


def test_a_digest_gathers_the_messages_into_one_email_a_day(lead_alice):
    choose(lead_alice, "partner_confirmed", "digest")

    messaging.send("partner_confirmed", [lead_alice], CONTEXT)
    messaging.send("partner_confirmed", [lead_alice], {**CONTEXT, "school": "Beech"})
    assert mail.outbox == []
    assert Notification.objects.filter(user=lead_alice, in_digest=True).count() == 2

    assert delivery.send_digests() == 1
    assert delivery.send_digests() == 0  # each notification goes in one digest

    [digest] = mail.outbox
    assert digest.to == [lead_alice.email]
    assert digest.subject == "Your daily summary: 2 notifications"
    assert "Ash now counts in Fylde" in digest.body
    assert "Beech now counts in Fylde" in digest.body
    assert "http://" in digest.alternatives[0][0] or "https://" in digest.alternatives[0][0]
    assert not Notification.objects.filter(in_digest=True).exists()


def test_portal_only_writes_the_notification_and_never_emails(lead_alice):
    choose(lead_alice, "partner_confirmed", "portal")

    messaging.send("partner_confirmed", [lead_alice], CONTEXT)
    delivery.send_digests()

    assert Notification.objects.filter(user=lead_alice, kind="partner_confirmed").count() == 1
    assert mail.outbox == []


def test_a_mandatory_kind_is_emailed_whatever_was_chosen(lead_alice):
    choose(lead_alice, "approved", "portal")  # not offered by the page; ignored if present

    messaging.send("approved", [lead_alice], DECISION)

    assert [m.to for m in mail.outbox] == [[lead_alice.email]]
    assert not Notification.objects.filter(in_digest=True).exists()


def test_one_person_choosing_a_digest_does_not_change_what_others_get(lead_alice, lead_bob):
    choose(lead_alice, "partner_confirmed", "digest")

    messaging.send("partner_confirmed", [lead_alice, lead_bob], CONTEXT)

    assert [m.to for m in mail.outbox] == [[lead_bob.email]]


def test_the_preferences_page_saves_choices_and_offers_no_mandatory_kind(client, lead_alice):
    client.force_login(lead_alice)
    url = reverse("messaging:preferences")

    page = client.get(url).content.decode()
    response = client.post(url, {"partner_confirmed": "digest", "approved": "portal"})

    assert 'name="partner_confirmed"' in page
    assert 'name="approved"' not in page
    assert "Your application was approved" in page  # listed as always e-mailed
    assert response.status_code == 302
    assert Preference.objects.get(user=lead_alice, kind="partner_confirmed").delivery == "digest"
    assert not Preference.objects.filter(kind="approved").exists()


def test_a_forged_choice_is_refused_next_to_the_field_and_nothing_is_saved(client, lead_alice):
    client.force_login(lead_alice)

    response = client.post(
        reverse("messaging:preferences"),
        {"partner_confirmed": "digest", "membership_invited": "carrier-pigeon"},
    )

    assert response.status_code == 400
    assert 'id="pref-membership_invited-error"' in response.content.decode()
    assert not Preference.objects.exists()


def test_the_digest_runs_daily_on_beat():
    from portal.celery import app

    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}

    assert "messaging.tasks.send_digests" in scheduled
    assert "messaging.tasks.send_digests" in app.tasks


# --- Staff mute a programme during bulk changes --------------------------------------------


def test_a_muted_programme_keeps_notifications_but_emails_only_mandatory_kinds(
    lead_alice, staff_carol, cohort
):
    partnership = factories.PartnershipFactory(cohort=cohort)
    delivery.mute_programme(cohort.programme_id, by=staff_carol)

    messaging.send("partner_confirmed", [lead_alice], CONTEXT, about=partnership)
    messaging.send("approved", [lead_alice], DECISION, about=partnership)
    assert [m.subject for m in mail.outbox] == ["Approved: EP-1 · Fylde"]
    assert Notification.objects.filter(user=lead_alice).count() == 2

    delivery.unmute_programme(cohort.programme_id)
    messaging.send("partner_confirmed", [lead_alice], CONTEXT, about=partnership)
    assert len(mail.outbox) == 2


def test_staff_mute_and_unmute_their_own_programme_only(client, staff_carol, programme):
    other = factories.ProgrammeFactory(name="Aspire to STEM", slug="aspire-to-stem")
    client.force_login(staff_carol)
    url = reverse("partnerships:programme_messages")

    muted = client.post(url, {"programme": programme.pk, "mute": "1"})
    assert muted.status_code == 302
    assert delivery.programme_muted(programme.pk)
    assert "Muted" in client.get(url).content.decode()

    assert client.post(url, {"programme": other.pk, "mute": "1"}).status_code == 404
    assert client.post(url, {"programme": "x", "mute": "1"}).status_code == 404
    assert not delivery.programme_muted(other.pk)

    client.post(url, {"programme": programme.pk, "mute": "0"})
    assert not delivery.programme_muted(programme.pk)


def test_a_lead_cannot_mute_a_programme(client, lead_alice, programme):
    client.force_login(lead_alice)

    response = client.post(
        reverse("partnerships:programme_messages"), {"programme": programme.pk, "mute": "1"}
    )

    assert response.status_code == 403
    assert not delivery.programme_muted(programme.pk)
