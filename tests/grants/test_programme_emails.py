"""Programme e-mail templates: staff reword a message kind for their programme; the wording is
checked (only the documented placeholders, string.Template syntax), versioned (each save a
version, a reset one too), used by the next message (which records the version), previewed with
a real application of the programme, and scoped to the programme's staff."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from grants import services
from grants.models import Application
from messaging import programme_templates
from messaging.models import MessageTemplate, Notification, OutboxMessage
from tests.grants.conftest import AWARD

S = Application.Status
pytestmark = pytest.mark.usefixtures("outbox_sends_at_once")

WORDED = {"subject": "Good news for $school: $reference", "body": "Dear colleagues at $school,\n\nWell done."}


def save(programme, by, kind="approved", **wording):
    return programme_templates.template_save(
        programme_id=programme.pk, kind=kind, by=by, **{**WORDED, **wording}
    )


def errors(kind="approved", **wording):
    with pytest.raises(ValidationError) as caught:
        programme_templates.check(kind, **{**WORDED, **wording})
    return caught.value.message_dict


# --- Checking the wording ---------------------------------------------------------------------


def test_an_unknown_placeholder_is_refused_on_its_field():
    found = errors(body="Your grant of $amount for $headteacher.")

    assert list(found) == ["body"]
    assert "Unknown placeholder $headteacher" in found["body"][0]
    assert "$amount" in found["body"][0]  # the error lists what may be used


def test_a_placeholder_of_another_kind_is_refused():
    # $amount belongs to the approval, not to the request for changes
    assert "subject" in errors(kind="changes_requested", subject="Changes to $amount", body="Please edit.")


@pytest.mark.parametrize(
    "body",
    [
        "Costs 5$ each.",
        "{{ name }} is approved.",
        "{% if amount %}yes{% endif %}",
        "${name.__class__}",
        "${name",
    ],
)
def test_broken_or_foreign_syntax_is_refused(body):
    assert list(errors(body=body)) == ["body"]


def test_a_dollar_sign_can_be_written_twice():
    programme_templates.check("approved", subject="Approved: $name", body="Worth $$1 and $amount.")


@pytest.mark.parametrize("field", ["subject", "body"])
def test_a_message_cannot_be_silenced_by_an_empty_wording(field):
    assert field in errors(**{field: "   "})


def test_the_database_refuses_a_blank_wording_that_is_not_a_reset(programme):
    with pytest.raises(IntegrityError), transaction.atomic():
        MessageTemplate.objects.create(
            programme_id=programme.pk, kind="approved", version=1, subject="", body=""
        )


def test_a_kind_without_editable_wording_is_refused(programme, staff_carol):
    with pytest.raises(ValidationError):
        programme_templates.template_save(
            programme_id=programme.pk, kind="email_confirm", subject="x", body="y", by=staff_carol
        )


# --- Versions and the next message ------------------------------------------------------------


def test_each_save_is_a_new_version_and_the_latest_is_current(programme, staff_carol):
    first = save(programme, staff_carol)
    second = save(programme, staff_carol, subject="Approved at last: $name")

    assert (first.version, second.version) == (1, 2)
    assert programme_templates.current(programme.pk, "approved") == second
    first.refresh_from_db()
    assert first.subject == WORDED["subject"]  # an old version is never changed


def test_the_next_message_uses_the_programmes_wording_and_records_its_version(
    application_in, programme, staff_carol, lead_alice
):
    submitted = application_in(S.SUBMITTED)
    template = save(programme, staff_carol)
    mail.outbox.clear()

    services.application_approve(application_id=submitted.pk, by=staff_carol, amount=AWARD, comment="Lovely.")

    [email] = [m for m in mail.outbox if m.to == [lead_alice.email]]
    school = submitted.partnership.lead_school.name
    assert email.subject == f"Good news for {school}: {submitted.reference}"
    assert f"Dear colleagues at {school}," in email.body
    assert "Well done." in email.body
    assert "Your application has been approved." not in email.body  # the built-in text is replaced
    # what the message must carry is still there, below the programme's text
    assert "Comment from programme staff:\nLovely." in email.body
    assert "Amount awarded: £4,000.00" in email.body
    assert f"/grants/applications/{submitted.pk}/" in email.body
    note = Notification.objects.get(user=lead_alice, kind="approved")
    assert note.template == template
    assert note.title == email.subject
    assert OutboxMessage.objects.get(to=[lead_alice.email], template=template).subject == email.subject


def test_the_approval_amount_placeholder_is_filled(application_in, programme, staff_carol, lead_alice):
    submitted = application_in(S.SUBMITTED)
    save(programme, staff_carol, body="You have been awarded $amount.")
    mail.outbox.clear()

    services.application_approve(application_id=submitted.pk, by=staff_carol, amount=AWARD)

    [email] = [m for m in mail.outbox if m.to == [lead_alice.email]]
    assert "You have been awarded £4,000.00." in email.body


def test_another_programmes_wording_is_not_used(application_in, staff_carol, lead_alice, other_staff):
    other = other_staff.programmes.get()
    save(other, other_staff)
    submitted = application_in(S.SUBMITTED)
    mail.outbox.clear()

    services.application_approve(application_id=submitted.pk, by=staff_carol, amount=AWARD)

    [email] = [m for m in mail.outbox if m.to == [lead_alice.email]]
    assert email.subject.startswith("Approved: ")
    assert Notification.objects.get(user=lead_alice, kind="approved").template is None


def test_a_reset_is_a_version_and_brings_back_the_built_in_wording(
    application_in, programme, staff_carol, lead_alice
):
    submitted = application_in(S.SUBMITTED)
    save(programme, staff_carol)
    reset = programme_templates.template_reset(programme_id=programme.pk, kind="approved", by=staff_carol)
    mail.outbox.clear()

    services.application_approve(application_id=submitted.pk, by=staff_carol, amount=AWARD)

    assert (reset.version, reset.is_default) == (2, True)
    assert programme_templates.current(programme.pk, "approved") is None
    [email] = [m for m in mail.outbox if m.to == [lead_alice.email]]
    assert email.subject == f"Approved: {submitted.reference} · {submitted.partnership.name}"
    assert "Your application has been approved." in email.body
    # a second reset changes nothing
    assert (
        programme_templates.template_reset(programme_id=programme.pk, kind="approved", by=staff_carol) is None
    )


def test_a_mandatory_message_reworded_still_reaches_a_lead_who_muted_the_programme(
    application_in, programme, staff_carol, lead_alice
):
    from messaging import delivery

    submitted = application_in(S.SUBMITTED)
    save(
        programme,
        staff_carol,
        kind="changes_requested",
        subject="Over to you: $name",
        body="Please look again.",
    )
    delivery.mute_programme(programme.pk, by=staff_carol)
    mail.outbox.clear()

    services.application_request_changes(application_id=submitted.pk, by=staff_carol, comment="Add dates.")

    [email] = [m for m in mail.outbox if m.to == [lead_alice.email]]
    assert email.subject.startswith("Over to you: ")
    assert "Add dates." in email.body


# --- The staff screen -------------------------------------------------------------------------


def url(name, programme, *args):
    return reverse(f"grants:{name}", args=[programme.pk, *args])


def test_staff_save_a_wording_on_the_page(client, programme, staff_carol):
    client.force_login(staff_carol)

    response = client.post(url("programme_email", programme, "approved"), {"action": "save", **WORDED})

    assert response.status_code == 302
    assert MessageTemplate.objects.get(programme_id=programme.pk, kind="approved").created_by == staff_carol


def test_an_unknown_placeholder_is_a_form_error_next_to_the_field_and_nothing_is_saved(
    client, programme, staff_carol
):
    client.force_login(staff_carol)

    response = client.post(
        url("programme_email", programme, "approved"),
        {"action": "save", "subject": "Approved: $nmae", "body": "Well done."},
    )

    assert response.status_code == 400
    assert "Unknown placeholder $nmae" in response.context["form"].errors["subject"][0]
    assert not response.context["form"].errors.get("body")
    assert not MessageTemplate.objects.exists()
    assert b"Unknown placeholder $nmae" in response.content


def test_the_preview_uses_a_real_recent_application_and_saves_nothing(
    client, application_in, programme, staff_carol
):
    submitted = application_in(S.SUBMITTED)
    client.force_login(staff_carol)

    response = client.post(
        url("programme_email", programme, "approved"),
        {"action": "preview", "subject": "Preview for $school", "body": "Ref $reference, $amount."},
    )

    assert response.status_code == 200
    shown = response.context["preview"]
    assert shown["application"] == submitted
    assert shown["subject"] == f"Preview for {submitted.partnership.lead_school.name}"
    assert f"Ref {submitted.reference}, £5,000.00." in shown["text"]  # the amount requested, not yet awarded
    assert not MessageTemplate.objects.exists()


def test_the_page_previews_the_current_wording(client, application_in, programme, staff_carol):
    application_in(S.SUBMITTED)
    save(programme, staff_carol)
    client.force_login(staff_carol)

    response = client.get(url("programme_email", programme, "approved"))

    assert response.context["form"].initial["subject"] == WORDED["subject"]
    assert "Well done." in response.context["preview"]["text"]


def test_the_page_previews_with_examples_when_the_programme_has_no_application(
    client, programme, staff_carol
):
    client.force_login(staff_carol)

    response = client.get(url("programme_email", programme, "payment_paid"))

    assert response.context["preview"]["application"] is None
    assert "Instalment 1 of your grant, £12,000.00, has been paid." in response.context["preview"]["text"]


def test_reset_on_the_page(client, programme, staff_carol):
    save(programme, staff_carol)
    client.force_login(staff_carol)

    response = client.post(url("programme_email_reset", programme, "approved"))

    assert response.status_code == 302
    assert programme_templates.current(programme.pk, "approved") is None
    assert programme_templates.latest(programme.pk, "approved").version == 2


def test_an_old_version_is_shown_as_it_was_with_what_was_sent_from_it(
    client, application_in, programme, staff_carol
):
    submitted = application_in(S.SUBMITTED)
    first = save(programme, staff_carol)
    services.application_approve(application_id=submitted.pk, by=staff_carol, amount=AWARD)
    save(programme, staff_carol, subject="Something else: $name")
    client.force_login(staff_carol)

    response = client.get(url("programme_email_version", programme, "approved", first.version))

    assert response.context["wording"]["subject"] == WORDED["subject"]
    assert WORDED["subject"] in response.content.decode()
    assert response.context["used"] == {"notifications": 1, "emails": 1}


def test_other_programmes_staff_cannot_see_or_change_the_wording(client, programme, staff_carol, other_staff):
    save(programme, staff_carol)
    client.force_login(other_staff)

    assert client.get(url("programme_emails", programme)).status_code == 404
    assert (
        client.post(url("programme_email", programme, "approved"), {"action": "save", **WORDED}).status_code
        == 404
    )
    assert client.post(url("programme_email_reset", programme, "approved")).status_code == 404
    assert programme_templates.latest(programme.pk, "approved").version == 1


def test_a_lead_cannot_open_the_wording(client, programme, lead_alice):
    client.force_login(lead_alice)

    assert client.get(url("programme_emails", programme)).status_code == 403


def test_a_kind_that_cannot_be_reworded_is_not_found(client, programme, staff_carol):
    client.force_login(staff_carol)

    assert client.get(url("programme_email", programme, "email_confirm")).status_code == 404
    assert client.get(url("programme_email", programme, "no_such_kind")).status_code == 404


def test_the_list_shows_every_editable_kind_and_which_wording_it_uses(client, programme, staff_carol):
    save(programme, staff_carol)
    client.force_login(staff_carol)

    response = client.get(url("programme_emails", programme))

    rows = {row["kind"].key: row["latest"] for row in response.context["rows"]}
    assert rows["approved"].version == 1
    assert rows["rejected"] is None
    assert "application_message_to_lead" in rows
    assert b"version 1" in response.content
