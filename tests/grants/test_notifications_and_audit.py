"""E-mails go out only after the transaction commits; the audit trail is read-only in the admin."""

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse

from grants import services
from grants.models import Application, AuditEvent
from tests.grants.conftest import AWARD, complete

S = Application.Status


def test_submission_emails_staff_and_a_receipt_to_the_lead_only_after_commit(
    draft, lead_alice, staff_carol, django_capture_on_commit_callbacks
):
    complete(draft, lead_alice)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.application_submit(application_id=draft.pk, by=lead_alice)
        assert mail.outbox == []
    for callback in callbacks:
        callback()

    by_address = {m.to[0]: m for m in mail.outbox}
    assert sorted(by_address) == sorted([staff_carol.email, lead_alice.email])
    review, receipt = by_address[staff_carol.email], by_address[lead_alice.email]
    assert draft.partnership.name in review.subject
    assert f"/grants/applications/{draft.pk}/" in review.body
    draft.refresh_from_db()
    assert receipt.subject.startswith(f"Received: {draft.reference}")
    assert draft.aims in receipt.body  # a copy of what was submitted


@pytest.mark.parametrize(
    ("state", "call", "words"),
    [
        (
            S.SUBMITTED,
            lambda a, by: services.application_request_changes(
                application_id=a.pk, by=by, comment="Add dates."
            ),
            ["Changes requested", "Add dates."],
        ),
        (
            S.SUBMITTED,
            lambda a, by: services.application_approve(application_id=a.pk, by=by, amount=AWARD),
            ["Approved", "£4,000.00"],
        ),
        (
            S.CHANGES_REQUESTED,
            lambda a, by: services.application_reject(application_id=a.pk, by=by, reason="Outside scope."),
            ["Not approved", "Outside scope."],
        ),
    ],
    ids=["changes_requested", "approved", "rejected"],
)
def test_every_decision_emails_the_lead_schools_users(
    application_in, staff_carol, lead_alice, django_capture_on_commit_callbacks, state, call, words
):
    application = application_in(state)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        call(application, staff_carol)

    assert [m.to for m in mail.outbox] == [[lead_alice.email]]
    text = mail.outbox[0].subject + mail.outbox[0].body
    assert all(w in text for w in words)
    assert "http://" in mail.outbox[0].body or "https://" in mail.outbox[0].body


def test_no_email_when_the_transaction_rolls_back(draft, lead_alice, django_capture_on_commit_callbacks):
    complete(draft, lead_alice)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                services.application_submit(application_id=draft.pk, by=lead_alice)
                raise RuntimeError("something later fails")
        except RuntimeError:
            pass

    assert callbacks == []
    assert mail.outbox == []
    draft.refresh_from_db()
    assert draft.status == S.DRAFT


def test_a_repeated_decision_sends_no_second_email(
    application_in, staff_carol, django_capture_on_commit_callbacks
):
    application = application_in(S.SUBMITTED)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.application_approve(application_id=application.pk, by=staff_carol, amount=AWARD)
        services.application_approve(application_id=application.pk, by=staff_carol, amount=AWARD)

    assert len(mail.outbox) == 1


def test_admin_audit_change_page_is_read_only(client, admin_dan, draft):
    event = AuditEvent.objects.filter(application=draft).first()
    client.force_login(admin_dan)
    url = reverse("admin:grants_auditevent_change", args=[event.pk])

    page = client.get(url)
    response = client.post(url, {"action": "forged", "comment": "rewritten", "to_status": "approved"})

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert response.status_code == 403
    event.refresh_from_db()
    assert (event.action, event.comment) == ("started", "")


def test_admin_cannot_add_or_delete_audit_events(client, admin_dan, draft):
    event = AuditEvent.objects.filter(application=draft).first()
    client.force_login(admin_dan)

    add = client.get(reverse("admin:grants_auditevent_add"))
    delete = client.post(reverse("admin:grants_auditevent_delete", args=[event.pk]), {"post": "yes"})

    assert add.status_code == 403
    assert delete.status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_admin_application_page_cannot_change_the_audit_inline(client, admin_dan, draft):
    client.force_login(admin_dan)

    page = client.get(reverse("admin:grants_application_change", args=[draft.pk]))

    assert page.status_code == 200
    assert 'name="audit_events-0-comment"' not in page.content.decode()
