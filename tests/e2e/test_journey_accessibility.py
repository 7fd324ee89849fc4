"""axe-core on every main page the journeys visit, in the states the journeys see them (search
results, each application step, the checklist, error summaries, the staff review page before and
after a decision, the cohort dashboard with its charts, the evaluation pages): no serious or
critical violations. Every page is checked before the test fails, so one run lists them all."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from grants import services as grant_services
from grants.models import Application
from partnerships.models import Membership
from tests import factories
from tests.e2e.axe import serious_violations
from tests.e2e.journeys import (
    SEARCH_TERM,
    Journey,
    complete_partnership,
    log_in,
    partner_schools_and_leads,
    submitted_application,
)

# axe 4.14 only asks for a manual review of duplicate ids used by labels and ARIA
# (duplicate-id-aria is "reviewOnFail"), so it is checked here: a label or an error summary
# pointing at an id that the page holds twice names or links the wrong element.
_DUPLICATE_REFERENCED_IDS = r"""() => {
  const refs = new Set();
  document.querySelectorAll("label[for]").forEach((label) => refs.add(label.htmlFor));
  for (const attr of ["aria-labelledby", "aria-describedby", "aria-controls"]) {
    document.querySelectorAll(`[${attr}]`).forEach((el) =>
      el.getAttribute(attr).split(/\s+/).filter(Boolean).forEach((id) => refs.add(id)));
  }
  return [...refs].filter((id) => document.querySelectorAll(`[id="${CSS.escape(id)}"]`).length > 1);
}"""


class Axe:
    """Runs axe on a page and keeps every serious or critical violation, named by page."""

    def __init__(self):
        self.found: list[str] = []
        self.pages = 0

    def check(self, page, name: str):
        page.wait_for_load_state()
        page.shot(name)
        self.pages += 1
        self.found.extend(f"{name}: {violation}" for violation in serious_violations(page))
        self.found.extend(
            f"{name}: critical duplicate-id-aria: id used by a label or ARIA is not unique — #{duplicate}"
            for duplicate in page.evaluate(_DUPLICATE_REFERENCED_IDS)
        )


@pytest.fixture
def journey(browser, live_server, request):
    journey = Journey(browser, live_server, request)
    yield journey
    journey.close()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_lead_pages_have_no_serious_accessibility_violations(journey, cohort, school_a, lead_alice):
    partners = partner_schools_and_leads()
    partnership = factories.PartnershipFactory(
        cohort=cohort, lead_school=school_a, partners=3, name="Blackpool Coast Science"
    )
    pat, pat_school = partners[0]
    factories.MembershipFactory(
        partnership=partnership, school=pat_school, status=Membership.Status.INVITED, responded_at=None
    )
    axe = Axe()
    alice = journey.new_page("alice", bypass_csp=True)
    log_in(alice, "lead_alice")
    axe.check(alice, "lead-home")

    alice.goto(f"/partnerships/{partnership.pk}/")
    axe.check(alice, "partnership-detail")
    alice.get_by_role("link", name="Find and invite partner schools").click()
    axe.check(alice, "school-search-empty")
    alice.get_by_label("School name, URN or postcode").fill("x")
    alice.get_by_role("button", name="Search").click()
    expect(alice.get_by_text("There is a problem")).to_be_visible()
    axe.check(alice, "school-search-error")
    alice.get_by_label("School name, URN or postcode").fill(SEARCH_TERM)
    alice.get_by_role("button", name="Search").click()
    expect(alice.get_by_role("table")).to_be_visible()
    axe.check(alice, "school-search-results")
    alice.goto("/partnerships/new/")
    axe.check(alice, "start-partnership")
    alice.get_by_role("button", name="Start the partnership").click()
    expect(alice.get_by_text("There is a problem")).to_be_visible()
    axe.check(alice, "start-partnership-errors")

    alice.get_by_role("link", name="My applications").click()
    axe.check(alice, "my-applications")
    alice.get_by_role("link", name="Start an application").click()
    axe.check(alice, "application-start")
    alice.get_by_role("button", name="Start the application").click()
    for step in range(1, 6):
        expect(alice.get_by_role("heading", name=f"Step {step}:", exact=False)).to_be_visible()
        axe.check(alice, f"application-step-{step}")
        if step == 4:
            alice.get_by_label("Category, line 1").select_option("travel")
            alice.get_by_label("Amount (£), line 1").fill("-5")
            alice.get_by_role("button", name="Save and add another line").click()
            expect(alice.get_by_text("There is a problem with the budget lines")).to_be_visible()
            axe.check(alice, "application-step-4-errors")
            alice.get_by_label("Amount (£), line 1").fill("900")
        alice.get_by_role("button", name="Save and continue").click()
    expect(alice.get_by_role("heading", name="Checklist")).to_be_visible()
    axe.check(alice, "application-review-checklist")
    alice.get_by_role("link", name="Back to the application").click()
    axe.check(alice, "application-detail-lead")

    partner = journey.new_page(pat.username, bypass_csp=True)
    log_in(partner, pat.username)
    expect(partner.get_by_role("heading", name="Invitations waiting for your answer")).to_be_visible()
    axe.check(partner, "partner-lead-home-invitation")

    assert axe.pages == 18
    assert axe.found == []


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_staff_pages_have_no_serious_accessibility_violations(
    journey, cohort, school_b, lead_bob, staff_carol
):
    application = submitted_application(complete_partnership(cohort, school_b), lead_bob)
    axe = Axe()
    carol = journey.new_page("carol", bypass_csp=True)
    log_in(carol, "staff_carol")
    axe.check(carol, "review-queue")
    carol.get_by_role("link", name=application.reference).click()
    axe.check(carol, "application-review")
    carol.get_by_role("button", name="Request changes").click()
    expect(carol.get_by_role("alert").filter(has_text="There is a problem")).to_be_visible()
    axe.check(carol, "application-review-error")
    carol.get_by_label("Amount to award (£)").fill(str(application.requested - Decimal("1000.00")))
    carol.get_by_role("button", name="Approve", exact=True).click()
    axe.check(carol, "approve-confirmation")
    carol.get_by_role("button", name="Yes, approve").click()
    expect(carol.locator("p.lead .badge")).to_have_text("Approved")
    axe.check(carol, "application-approved")
    carol.get_by_role("link", name="Cohort budget").click()
    axe.check(carol, "cohort-budget")
    carol.get_by_role("link", name="Payments", exact=True).click()
    axe.check(carol, "payments")
    carol.get_by_role("link", name="Partnerships", exact=True).click()
    axe.check(carol, "staff-partnerships")

    assert Application.objects.get(pk=application.pk).status == Application.Status.APPROVED
    assert axe.pages == 8
    assert axe.found == []


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_dashboard_and_evaluation_pages_have_no_serious_accessibility_violations(
    journey, cohort, school_b, lead_bob, staff_carol, admin_dan
):
    application = submitted_application(complete_partnership(cohort, school_b), lead_bob)
    grant_services.application_approve(
        application_id=application.pk, by=staff_carol, amount=application.requested
    )
    axe = Axe()
    dan = journey.new_page("dan", bypass_csp=True)
    log_in(dan, "admin_dan")
    axe.check(dan, "dashboards")
    dan.get_by_role("link", name=cohort.programme.name).first.click()
    axe.check(dan, "programme")
    dan.goto(f"/evaluation/cohorts/{cohort.pk}/")
    expect(dan.locator("#headline-awarded")).to_be_visible()
    axe.check(dan, "cohort-dashboard")
    dan.get_by_role("link", name="See the cohort's partnerships").click()
    axe.check(dan, "cohort-partnerships")
    dan.goto("/evaluation/impact/")
    axe.check(dan, "impact-index")
    dan.goto(f"/evaluation/impact/cohorts/{cohort.pk}/")
    axe.check(dan, "impact-cohort")
    dan.goto(f"/evaluation/impact/cohorts/{cohort.pk}/process/")
    axe.check(dan, "process-cohort")

    assert axe.pages == 7
    assert axe.found == []
