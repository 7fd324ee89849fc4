"""The conversation on an application: the lead writes to the programme's staff, staff write
back or keep a staff note; each message tells the other side (portal and e-mail, absolute link);
a staff note is never in a page the lead can open nor in any e-mail to the lead; another
school's lead can neither read nor post; an over-long message is refused next to the field."""

import json

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from grants.models import Application, ApplicationMessage
from messaging.models import Notification
from tests import factories
from tests.grants.conftest import submit_report

S = Application.Status
pytestmark = pytest.mark.usefixtures("outbox_sends_at_once")
NOTE = "Staff-only: the lead school's last grant was late."


def post(client, user, application, **data):
    client.force_login(user)
    return client.post(reverse("grants:application_message", args=[application.pk]), data)


def told(kind):
    return sorted(Notification.objects.filter(kind=kind).values_list("user__username", flat=True))


def link_of(application):
    return settings.PORTAL_BASE_URL.rstrip("/") + f"/grants/applications/{application.pk}/#conversation"


def test_lead_writes_and_the_programme_staff_are_told(client, application_in, lead_alice, staff_carol):
    application = application_in(S.SUBMITTED)
    mail.outbox.clear()
    other = factories.StaffFactory(username="staff_erin")
    factories.ProgrammeFactory(name="Aspire to STEM", slug="aspire").staff.add(other)

    response = post(client, lead_alice, application, body="When will we hear back?")

    assert response.status_code == 302
    message = ApplicationMessage.objects.get()
    assert (message.author, message.staff_only) == (lead_alice, False)
    assert told("application_message_to_staff") == ["staff_carol"]
    assert told("application_message_to_lead") == []
    [email] = mail.outbox
    assert email.to == [staff_carol.email]
    assert "When will we hear back?" in email.body
    assert link_of(application) in email.body
    assert f'href="{link_of(application)}"' in email.alternatives[0][0]


def test_staff_write_and_the_lead_is_told(client, application_in, lead_alice, staff_carol):
    application = application_in(S.SUBMITTED)
    mail.outbox.clear()

    response = post(client, staff_carol, application, body="Please add the dates.")

    assert response.status_code == 302
    assert told("application_message_to_lead") == ["lead_alice"]
    assert told("application_message_to_staff") == []
    [email] = mail.outbox
    assert email.to == [lead_alice.email]
    assert "Please add the dates." in email.body
    assert f'href="{link_of(application)}"' in email.alternatives[0][0]
    client.force_login(lead_alice)
    page = client.get(reverse("grants:application_detail", args=[application.pk])).content.decode()
    assert "Please add the dates." in page


def test_a_staff_note_tells_nobody_and_no_lead_page_shows_it(client, application_in, lead_alice, staff_carol):
    application = application_in(S.APPROVED)
    submit_report(application, lead_alice)
    mail.outbox.clear()

    response = post(client, staff_carol, application, body=NOTE, staff_only="on")

    assert response.status_code == 302
    assert ApplicationMessage.objects.get().staff_only is True
    assert not Notification.objects.filter(kind__startswith="application_message").exists()
    assert mail.outbox == []
    staff_page = client.get(reverse("grants:application_detail", args=[application.pk])).content.decode()
    assert NOTE.replace("'", "&#x27;") in staff_page
    assert "Staff note — not shown to the applicant" in staff_page

    # Every page the lead can open on this application, and what the lead is e-mailed next.
    post(client, lead_alice, application, body="Thanks.")
    post(client, staff_carol, application, body="You're welcome.")
    client.force_login(lead_alice)
    urls = [
        reverse("grants:application_detail", args=[application.pk]),
        reverse("grants:report_edit", args=[application.pk]),
        reverse("grants:my_applications"),
        *[reverse("grants:application_step", args=[application.pk, n]) for n in range(1, 6)],
        reverse("grants:application_review", args=[application.pk]),
    ]
    for url in urls:
        body = client.get(url).content.decode()
        assert "Staff-only" not in body, url
        assert "Staff note" not in body, url
    assert mail.outbox
    for email in mail.outbox:
        assert "Staff-only" not in email.body
        assert "Staff-only" not in email.alternatives[0][0]


def test_a_lead_cannot_keep_a_staff_note(client, application_in, lead_alice, staff_carol):
    application = application_in(S.SUBMITTED)
    post(client, lead_alice, application, body="Hello.", staff_only="on")
    assert ApplicationMessage.objects.get().staff_only is False
    assert told("application_message_to_staff") == ["staff_carol"]


def test_another_schools_lead_can_neither_read_nor_post(client, application_in, lead_bob, staff_carol):
    application = application_in(S.SUBMITTED)
    post(client, staff_carol, application, body="Visible to Alder's leads only.")

    assert post(client, lead_bob, application, body="Let me in.").status_code == 404
    assert client.get(reverse("grants:application_detail", args=[application.pk])).status_code == 404
    assert ApplicationMessage.objects.count() == 1


def test_a_partner_schools_lead_sees_no_conversation_and_cannot_post(
    client, application_in, partner_lead, staff_carol
):
    application = application_in(S.SUBMITTED)
    post(client, staff_carol, application, body="For the lead school.")

    assert post(client, partner_lead, application, body="Me too.").status_code == 403
    page = client.get(reverse("grants:application_detail", args=[application.pk])).content.decode()
    assert "For the lead school." not in page
    assert ApplicationMessage.objects.count() == 1


def test_an_over_long_message_is_refused_next_to_the_field_and_not_cut(client, application_in, lead_alice):
    application = application_in(S.SUBMITTED)
    mail.outbox.clear()

    response = post(client, lead_alice, application, body="x" * (ApplicationMessage.BODY_MAX + 1))

    assert response.status_code == 200
    form = response.context["message_form"]
    assert "5,000 characters" in form.errors["body"][0]
    assert "Nothing was cut" in response.content.decode()
    assert ApplicationMessage.objects.count() == 0
    assert mail.outbox == []


def test_staff_with_a_conflict_of_interest_see_no_staff_note_and_cannot_post(
    client, application_in, staff_carol, conflicted_staff
):
    application = application_in(S.SUBMITTED)
    post(client, staff_carol, application, body=NOTE, staff_only="on")

    assert post(client, conflicted_staff, application, body="Hm.").status_code == 403
    page = client.get(reverse("grants:application_detail", args=[application.pk])).content.decode()
    assert "Staff-only" not in page
    assert ApplicationMessage.objects.count() == 1


def test_the_leads_personal_data_download_holds_their_messages_and_no_staff_note(
    client, application_in, lead_alice, staff_carol
):
    application = application_in(S.SUBMITTED)
    post(client, lead_alice, application, body="Our own words.")
    post(client, staff_carol, application, body=NOTE, staff_only="on")
    post(client, staff_carol, application, body="A reply.")
    client.force_login(lead_alice)

    download = client.get(reverse("partnerships:personal_data_download")).content.decode()

    assert json.loads(download)["application_messages"][0]["body"] == "Our own words."
    assert "Staff-only" not in download
