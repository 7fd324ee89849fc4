"""Journey 2 in a real browser: programme staff find the submitted application in the review
queue and ask for changes; the lead reads the comment, edits and resubmits; staff approve an
amount no more than requested (one penny more is refused first) and the page shows it in pounds."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from grants.models import Application
from tests.e2e.journeys import (
    GBP,
    Journey,
    complete_partnership,
    gbp,
    log_in,
    status_badge,
    submitted_application,
)

COMMENT = "Please say how the secondary school's technicians will support the primary CPD sessions."
MORE_AIMS = " Technicians from the secondary will prepare the kits for every session."


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_journey_2_staff_request_changes_then_approve_an_amount(
    browser, live_server, request, page, cohort, school_a, lead_alice, staff_carol
):
    partnership = complete_partnership(cohort, school_a)
    application = submitted_application(partnership, lead_alice)
    journey = Journey(browser, live_server, request)
    carol = journey.attach(page, "carol")
    try:
        # Carol opens the review queue and finds the application.
        log_in(carol, "staff_carol")
        expect(carol.get_by_role("heading", name="Review queue")).to_be_visible()
        row = carol.get_by_role("row").filter(has_text=partnership.name)
        expect(row).to_contain_text("Submitted")
        expect(row).to_contain_text(gbp(application.requested))
        carol.shot("review-queue")
        row.get_by_role("link", name=application.reference).click()
        expect(carol.get_by_role("heading", name=partnership.name, level=1)).to_be_visible()
        expect(status_badge(carol)).to_have_text("Submitted")
        carol.shot("application-under-review")

        # She asks for changes with a comment.
        carol.get_by_label("Changes needed").fill(COMMENT)
        carol.get_by_role("button", name="Request changes").click()
        expect(carol.get_by_role("alert").filter(has_text="Changes requested")).to_be_visible()
        expect(status_badge(carol)).to_have_text("Changes requested")
        carol.shot("changes-requested")

        # Alice sees the comment, edits the aims and the budget, and resubmits.
        alice = journey.new_page("alice")
        log_in(alice, "lead_alice")
        alice.get_by_role("link", name="My applications").click()
        row = alice.get_by_role("row").filter(has_text=partnership.name)
        expect(row).to_contain_text("Changes requested")
        alice.shot("my-applications")
        row.get_by_role("link", name="View").click()
        expect(alice.get_by_role("status").filter(has_text="Changes requested")).to_contain_text(COMMENT)
        alice.shot("comment-seen")
        alice.get_by_role("link", name="Edit the application").click()
        alice.get_by_role("link", name="1. Aims and the local STEM issue").click()
        aims = alice.get_by_label("Aims of the partnership")
        aims.press("End")
        aims.press_sequentially(MORE_AIMS)
        alice.shot("aims-edited")
        alice.get_by_role("button", name="Save and continue").click()
        alice.get_by_role("link", name="4. Budget").click()
        new_amount = application.budget_lines.order_by("pk").first().amount + Decimal("200.00")
        alice.get_by_label("Amount (£), line 1").fill(str(new_amount))
        alice.shot("budget-edited")
        alice.get_by_role("button", name="Save and continue").click()
        requested = application.requested + Decimal("200.00")
        expect(alice.locator("#requested-total")).to_have_text(gbp(requested))
        alice.get_by_role("link", name="6. Review and submit").click()
        expect(alice.get_by_text("Everything needed is there.")).to_be_visible()
        alice.shot("ready-to-resubmit")
        alice.get_by_role("button", name="Resubmit the application").click()
        alice.get_by_role("button", name="Yes, resubmit").click()
        expect(alice.get_by_role("alert").filter(has_text="Application submitted")).to_be_visible()
        expect(status_badge(alice)).to_have_text("Submitted")
        alice.shot("resubmitted")

        # Carol opens it again: one penny over the request is refused, then she approves.
        carol.get_by_role("link", name="Review queue").click()
        carol.get_by_role("row").filter(has_text=partnership.name).get_by_role("link").first.click()
        expect(carol.get_by_role("main")).to_contain_text(MORE_AIMS.strip())
        amount = carol.get_by_label("Amount to award (£)")
        expect(amount).to_have_value(f"{requested}")
        amount.fill(f"{requested + Decimal('0.01')}")
        carol.get_by_role("button", name="Approve", exact=True).click()
        summary = carol.get_by_role("alert").filter(has_text="There is a problem")
        expect(summary).to_contain_text(f"cannot be more than {gbp(requested)}")
        expect(status_badge(carol)).to_have_text("Submitted")
        carol.shot("award-over-request-refused")
        award = requested - Decimal("450.50")
        carol.get_by_label("Amount to award (£)").fill(str(award))
        carol.get_by_role("button", name="Approve", exact=True).click()
        expect(carol.get_by_role("heading", name="Approve this application?")).to_be_visible()
        carol.shot("approve-confirmation")
        carol.get_by_role("button", name="Yes, approve").click()

        expect(carol.get_by_role("alert").filter(has_text="Application approved")).to_be_visible()
        expect(status_badge(carol)).to_have_text("Approved")
        awarded = carol.locator("dt:text-is('Awarded') + dd")
        expect(awarded).to_have_text(gbp(award))
        assert GBP.match(awarded.inner_text())
        carol.shot("approved")

        alice.reload()
        expect(status_badge(alice)).to_have_text("Approved")
        expect(alice.locator("dt:text-is('Awarded') + dd")).to_have_text(gbp(award))
        alice.shot("lead-sees-award")
        application.refresh_from_db()
        assert (application.status, application.awarded) == (Application.Status.APPROVED, award)
        assert journey.problems == []
    finally:
        journey.close()
