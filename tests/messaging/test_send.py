"""messaging.send: one road for every message — a notification in the portal and an e-mail
(text and HTML, absolute links) through the outbox, for the kinds in one registry."""

import pathlib
import re

import pytest
from django.core import mail

import messaging
from messaging import delivery, kinds
from messaging.models import Notification, OutboxMessage
from partnerships.models import SchoolLead
from partnerships.selectors import school_contacts
from tests import factories

pytestmark = pytest.mark.usefixtures("outbox_sends_at_once")

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONTEXT = {
    "school": "Ash Primary",
    "partnership": "Fylde Coast",
    "paragraphs": ["The person who accepted has been verified."],
    "items": ["One", "Two"],
    "link": "/partnerships/7/",
    "link_label": "The partnership",
}


def test_a_user_gets_a_notification_and_an_email_with_text_html_and_absolute_links(settings, lead_alice):
    settings.PORTAL_BASE_URL = "https://portal.example.org:8443/"

    sent = messaging.send("partner_confirmed", [lead_alice], CONTEXT)

    assert sent.emails == 1
    note = Notification.objects.get(user=lead_alice)
    assert (note.kind, note.title, note.url) == (
        "partner_confirmed",
        "Ash Primary now counts in Fylde Coast",
        "/partnerships/7/",
    )
    assert "• Two" in note.body
    [email] = mail.outbox
    assert email.to == [lead_alice.email]
    assert email.subject == "Ash Primary now counts in Fylde Coast"
    assert email.body.startswith("Dear Alice,")
    assert "https://portal.example.org:8443/partnerships/7/" in email.body
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html"
    assert 'href="https://portal.example.org:8443/partnerships/7/"' in html


def test_an_address_only_kind_writes_no_notification(lead_alice):
    messaging.send("invitation_code", ["someone@example.org"], {**CONTEXT, "code": "123456"})

    assert not Notification.objects.exists()
    assert [m.to for m in mail.outbox] == [["someone@example.org"]]
    assert mail.outbox[0].subject.endswith(": 123456")


def test_an_unverified_claimant_receives_nothing_about_a_school(school_a, lead_alice):
    claimant = factories.LeadFactory(username="claimant")
    SchoolLead.objects.create(user=claimant, school=school_a)  # claims the school, not verified

    messaging.send("partner_confirmed", school_contacts(school_a), CONTEXT)

    assert list(Notification.objects.values_list("user", flat=True)) == [lead_alice.pk]
    assert [m.to for m in mail.outbox] == [[lead_alice.email]]


def test_an_inactive_user_or_one_without_an_address_is_told_in_the_portal_only(lead_alice):
    lead_alice.email = ""
    lead_alice.save()

    messaging.send("partner_confirmed", [lead_alice], CONTEXT)

    assert Notification.objects.filter(user=lead_alice).count() == 1
    assert not OutboxMessage.objects.exists()


def test_muted_keeps_the_notification_and_sends_no_email(lead_alice):
    with messaging.muted():
        messaging.send("partner_confirmed", [lead_alice, lead_alice], CONTEXT)

    assert Notification.objects.filter(user=lead_alice).count() == 1  # once, however often listed
    assert mail.outbox == []


def test_an_unknown_kind_is_refused(lead_alice):
    with pytest.raises(LookupError, match=r"messaging/kinds\.py"):
        messaging.send("no_such_kind", [lead_alice], CONTEXT)


def test_every_kind_renders_a_subject_and_both_bodies():
    context = {
        **CONTEXT,
        "name": "EP-1 · Fylde Coast",
        "count": 2,
        "days": 10,
        "cohort": "2026",
        "when": "soon",
    }
    for kind in kinds.KINDS:
        rendered = delivery.render(kind, context)
        assert rendered["subject"].strip(), kind.key
        assert rendered["url"] in rendered["text"], kind.key
        assert rendered["url"] in rendered["html"], kind.key


def test_nothing_outside_messaging_imports_django_core_mail():
    pattern = re.compile(
        r"^\s*(from django\.core import mail|from django\.core\.mail|import django\.core\.mail)"
    )
    offenders = [
        str(path.relative_to(ROOT))
        for app in ("portal", "partnerships", "clusters", "grants", "evaluation")
        for path in (ROOT / app).rglob("*.py")
        if any(pattern.match(line) for line in path.read_text().splitlines())
    ]
    assert offenders == []
