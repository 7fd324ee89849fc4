"""Every event of an application reaches exactly its recipients, in the portal and by e-mail
(text and HTML, absolute links to the application): the lead school's verified leads hear of
decisions, receipts and payments, the programme's staff of submissions; an unverified claimant
of the lead school and another programme's staff hear nothing."""

import re

import pytest
from django.conf import settings
from django.core import mail

from grants import services
from grants.models import Application, Payment
from messaging.models import Notification
from partnerships.models import SchoolLead
from tests import factories
from tests.grants.conftest import AWARD, submit_report

S = Application.Status
pytestmark = pytest.mark.usefixtures("outbox_sends_at_once")


@pytest.fixture
def claimant(school_a):
    user = factories.LeadFactory(username="claimant", email="claimant@example.org")
    SchoolLead.objects.create(user=user, school=school_a)  # claims the lead school, not verified
    return user


def told(do):
    """Run `do`; return {kind: set of usernames notified} and the e-mails sent."""
    mail.outbox.clear()
    before = set(Notification.objects.values_list("pk", flat=True))
    do()
    kinds = {}
    for n in Notification.objects.exclude(pk__in=before).select_related("user"):
        kinds.setdefault(n.kind, set()).add(n.user.username)
    return kinds, list(mail.outbox)


def assert_linked(email, application):
    url = settings.PORTAL_BASE_URL.rstrip("/") + f"/grants/applications/{application.pk}/"
    assert url in email.body
    assert re.search(rf'href="{re.escape(url)}"', email.alternatives[0][0])


def only(emails, address):
    assert [m.to for m in emails] == [[address]]
    return emails[0]


def test_submitting_tells_staff_and_gives_the_lead_a_receipt_with_a_copy(
    application_in, lead_alice, staff_carol, other_staff, claimant
):
    draft = application_in(S.DRAFT)

    kinds, emails = told(lambda: services.application_submit(application_id=draft.pk, by=lead_alice))

    draft.refresh_from_db()
    assert kinds == {"application_submitted": {"staff_carol"}, "submission_receipt": {"lead_alice"}}
    receipt = next(m for m in emails if m.to == [lead_alice.email])
    assert draft.reference in receipt.subject
    assert draft.aims in receipt.body
    assert draft.aims in receipt.alternatives[0][0]
    assert "Total: £" in receipt.body
    assert sorted(m.to[0] for m in emails) == sorted([lead_alice.email, staff_carol.email])
    for email in emails:
        assert_linked(email, draft)


def test_changes_requested_carries_the_comment_and_resubmitting_tells_both_sides(
    application_in, lead_alice, staff_carol, claimant
):
    application = application_in(S.SUBMITTED)

    kinds, emails = told(
        lambda: services.application_request_changes(
            application_id=application.pk, by=staff_carol, comment="Add the dates of each session."
        )
    )
    assert kinds == {"changes_requested": {"lead_alice"}}
    email = only(emails, lead_alice.email)
    assert "Add the dates of each session." in email.body
    assert "Add the dates of each session." in email.alternatives[0][0]
    assert_linked(email, application)

    kinds, emails = told(lambda: services.application_resubmit(application_id=application.pk, by=lead_alice))
    assert kinds == {"application_resubmitted": {"staff_carol"}, "submission_receipt": {"lead_alice"}}
    receipt = next(m for m in emails if m.to == [lead_alice.email])
    assert "(resubmitted)" in receipt.subject


def test_approval_tells_the_amount_and_the_instalments(application_in, lead_alice, staff_carol, claimant):
    application = application_in(S.SUBMITTED)

    kinds, emails = told(
        lambda: services.application_approve(application_id=application.pk, by=staff_carol, amount=AWARD)
    )

    assert kinds == {"approved": {"lead_alice"}}
    email = only(emails, lead_alice.email)
    assert "£4,000.00" in email.body
    for payment in Payment.objects.filter(application=application):
        assert f"Instalment {payment.sequence}: £" in email.body
    assert "scheduled" in email.body
    assert "accept the agreement by" in email.body
    assert (
        settings.PORTAL_BASE_URL.rstrip("/") + f"/grants/applications/{application.pk}/award-letter/"
        in email.body
    )


def test_rejection_tells_the_reason(application_in, lead_alice, staff_carol, claimant):
    application = application_in(S.SUBMITTED)

    kinds, emails = told(
        lambda: services.application_reject(
            application_id=application.pk, by=staff_carol, reason="Outside scope."
        )
    )

    assert kinds == {"rejected": {"lead_alice"}}
    assert "Reason:\nOutside scope." in only(emails, lead_alice.email).body


def test_a_paid_instalment_is_told_to_the_lead(application_in, lead_alice, finance_fay, claimant):
    application = application_in(S.APPROVED, released=True)
    payment = application.payments.get(status=Payment.Status.RELEASED)

    kinds, emails = told(
        lambda: services.payment_mark_paid(payment_id=payment.pk, by=finance_fay, reference="BACS-123")
    )

    assert kinds == {"remittance_notice": {"lead_alice"}}
    email = only(emails, lead_alice.email)
    assert "Remittance: £2,000.00 paid, reference BACS-123" in email.subject


def test_the_end_of_grant_report_submitted_returned_and_accepted(
    application_in, lead_alice, staff_carol, claimant
):
    application = application_in(S.APPROVED)

    kinds, _ = told(lambda: submit_report(application, lead_alice))
    assert kinds == {"report_submitted": {"staff_carol"}}

    kinds, emails = told(
        lambda: services.report_return(application_id=application.pk, by=staff_carol, comment="Add spend.")
    )
    assert kinds == {"report_returned": {"lead_alice"}}
    assert "Add spend." in only(emails, lead_alice.email).body

    services.report_submit(application_id=application.pk, by=lead_alice)
    kinds, emails = told(lambda: services.report_accept(application_id=application.pk, by=staff_carol))
    assert kinds == {"report_accepted": {"lead_alice"}}
    assert "released" in only(emails, lead_alice.email).body  # the final instalment


def test_an_unverified_claimant_alone_hears_nothing(application_in, lead_alice, staff_carol, claimant):
    application = application_in(S.SUBMITTED)
    SchoolLead.objects.filter(user=lead_alice).update(verified_at=None)

    kinds, emails = told(
        lambda: services.application_reject(application_id=application.pk, by=staff_carol, reason="No.")
    )

    assert kinds == {}
    assert emails == []
