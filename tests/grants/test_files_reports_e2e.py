"""The journey of issue 20 in a browser: a lead attaches a letter of support for each partner
school and submits; after the award she files the interim report with a photo as evidence; staff
return it with a comment; she revises and resubmits; staff accept, and the instalment that waits
for the interim report is released."""

from decimal import Decimal

import pytest
from django.db import transaction

from grants import services
from grants.models import Application, Attachment, EndOfGrantReport, Payment, ReportDefinition
from tests import factories
from tests.conftest import login
from tests.factories import PDF_BYTES, PNG_BYTES
from tests.grants.conftest import AWARD, accept_agreement

S = Application.Status


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_letters_of_support_then_an_interim_report_returned_revised_and_accepted(
    browser, live_server, settings, tmp_path, programme, application_in, lead_alice, staff_carol
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    factories.attachment_type(
        programme, name="Letter of support", formats=["pdf"], per_partner_school=True, max_bytes=1024 * 1024
    )
    ReportDefinition.objects.create(programme=programme, kind="interim", due_months_after_award=12)
    application = application_in(S.DRAFT)
    lead = browser.new_context(base_url=live_server.url, viewport={"width": 375, "height": 900})
    page = lead.new_page()
    login(page, "lead_alice")

    page.goto(f"/grants/applications/{application.pk}/files/")
    sections = page.locator("section.card")
    assert sections.count() == 4
    for n in range(4):
        section = page.locator("section.card").nth(n)
        section.locator("input[type=file]").set_input_files(
            {"name": f"letter {n}.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES}
        )
        section.get_by_role("button", name="Upload").click()
        page.wait_for_selector("text=File uploaded")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.goto(f"/grants/applications/{application.pk}/review/")
    page.get_by_role("button", name="Submit the application").click()
    page.get_by_role("button", name="Yes, submit").click()
    page.wait_for_url(f"**/grants/applications/{application.pk}/")
    assert Attachment.objects.filter(frozen_at__isnull=False).count() == 4

    services.application_approve(application_id=application.pk, by=staff_carol, amount=AWARD)
    # £1,000 of the first instalment waits for the interim report instead (the schedule still sums
    # to the award, which a deferred trigger checks at commit), and the lead accepts the agreement.
    with transaction.atomic():
        first = Payment.objects.filter(application=application).order_by("sequence").first()
        Payment.objects.filter(pk=first.pk).update(amount=first.amount - Decimal("1000.00"))
        Payment.objects.create(
            application=application, sequence=99, amount=Decimal("1000.00"), trigger="on_interim_report"
        )
    accept_agreement(application, lead_alice)
    factories.CPDActivityFactory(partnership=application.partnership, teachers_reached=9, students_reached=80)

    page.goto(f"/grants/applications/{application.pk}/reports/interim/")
    page.get_by_label("Outcomes observed").fill("Practical science every week in three schools.")
    page.get_by_label("Spent on supply cover (£)").fill("2000.00")
    page.get_by_label("Why spend on supply cover differs from the budget").fill(
        "Half the CPD days are ahead."
    )
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_selector("text=Report saved")
    page.get_by_label("Evidence file").set_input_files(
        {"name": "year5-work.png", "mimeType": "image/png", "buffer": PNG_BYTES}
    )
    page.get_by_label("What it shows").fill("Year 5 investigation write-ups")
    page.get_by_role("button", name="Add evidence").click()
    page.wait_for_selector("text=Evidence added")
    page.get_by_role("button", name="Submit the report").click()
    page.wait_for_url(f"**/grants/applications/{application.pk}/")

    staff = browser.new_context(base_url=live_server.url)
    staff_page = staff.new_page()
    login(staff_page, "staff_carol")
    staff_page.goto(f"/grants/applications/{application.pk}/")
    staff_page.get_by_label("What needs changing").fill("Please add the attendance of the STEM fair.")
    staff_page.get_by_role("button", name="Return with comments").click()
    staff_page.wait_for_selector("text=Report returned")

    page.goto(f"/grants/applications/{application.pk}/reports/interim/")
    assert page.get_by_text("Please add the attendance of the STEM fair.").is_visible()
    page.get_by_label("Outcomes observed").fill(
        "Practical science every week; 140 pupils came to the STEM fair."
    )
    page.get_by_role("button", name="Resubmit the report").click()
    page.wait_for_url(f"**/grants/applications/{application.pk}/")

    staff_page.goto(f"/grants/applications/{application.pk}/")
    staff_page.get_by_role(
        "button", name="Accept the report and release the instalment that depends on it"
    ).click()
    staff_page.wait_for_selector("text=Report accepted")

    report = EndOfGrantReport.objects.get(application=application, kind="interim")
    assert report.status == EndOfGrantReport.Status.ACCEPTED
    assert report.evidence.get().frozen_at is not None
    assert Payment.objects.get(application=application, sequence=99).status == Payment.Status.RELEASED
    lead.close()
    staff.close()
