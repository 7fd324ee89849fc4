"""Issue 19's journey in a browser: the award → the lead reads the award letter and accepts the
agreement → finance releases the first instalment and records its payment with a reference →
the lead sees it on the award letter, and by e-mail (the remittance notice)."""

import pytest
from django.core import mail

from grants import services
from grants.models import Application, Payment
from tests.conftest import login
from tests.grants.conftest import AWARD

S = Application.Status


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_award_letter_agreement_release_and_payment(
    browser, live_server, application_in, staff_carol, finance_fay
):
    application = application_in(S.SUBMITTED)
    services.application_approve(application_id=application.pk, by=staff_carol, amount=AWARD)
    first = Payment.objects.get(application=application, sequence=1)

    lead = browser.new_context(base_url=live_server.url, viewport={"width": 375, "height": 800}).new_page()
    login(lead, "lead_alice")
    lead.goto(f"/grants/applications/{application.pk}/award-letter/")
    assert lead.get_by_role("heading", name=f"Award letter: {application.reference}").is_visible()
    lead.get_by_label("Your full name").fill("Alice Lead")
    lead.get_by_label("Your role at the school").fill("Headteacher")
    lead.get_by_label("I have read the award letter").check()
    lead.get_by_role("button", name="Accept the grant agreement").click()
    assert lead.get_by_text("Accepted by Alice Lead (Headteacher)").is_visible()

    finance = browser.new_context(base_url=live_server.url).new_page()
    login(finance, "finance_fay")
    finance.goto(f"/grants/payments/{first.pk}/")
    finance.get_by_role("button", name="Release instalment 1").click()
    assert finance.get_by_text("Instalment 1 released.").is_visible()
    finance.get_by_label("Payment reference").fill("BACS-2026-0042")
    mail.outbox.clear()
    finance.get_by_role("button", name="Record payment").click()
    assert finance.get_by_text("Payment recorded on instalment 1").is_visible()

    lead.goto(f"/grants/applications/{application.pk}/award-letter/")
    assert lead.get_by_text("ref. BACS-2026-0042").is_visible()
    assert lead.evaluate("document.documentElement.scrollWidth") <= 375
    assert any("BACS-2026-0042" in m.subject and "lead_alice@example.org" in m.to for m in mail.outbox)
    first.refresh_from_db()
    assert (first.status, first.paid_amount) == (Payment.Status.PAID, first.amount)
