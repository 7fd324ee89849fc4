"""Journey 1 in a real browser: a school lead starts a partnership, finds and invites four
partner schools, each partner's lead confirms, and the lead writes the application across its
steps (reloading mid-way: the draft is kept), adds budget lines, reads the checklist and submits."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from grants.models import Application
from partnerships.models import Membership, Partnership
from tests.e2e.journeys import (
    APPLICATION_TEXT,
    DECLARATION_LABELS,
    INDEPENDENT_SCHOOL,
    PARTNER_SCHOOLS,
    SEARCH_TERM,
    Journey,
    gbp,
    log_in,
    partner_schools_and_leads,
    status_badge,
)

PARTNERSHIP = "Blackpool Coast Science"
LINES = [
    ("supply_cover", Decimal("4800.00"), "Cover for six CPD days"),
    ("resources", Decimal("1450.50"), "Kits"),
]


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_journey_1_lead_forms_a_partnership_and_submits_the_application(
    browser, live_server, request, page, cohort, school_a, lead_alice
):
    partners = partner_schools_and_leads()
    journey = Journey(browser, live_server, request)
    alice = journey.attach(page, "alice")
    alice.clock.install()  # time flows as usual, but the test may move it on
    try:
        # Alice logs in and starts a partnership.
        log_in(alice, "lead_alice")
        expect(alice.get_by_role("heading", name="My partnerships")).to_be_visible()
        alice.shot("lead-home")
        alice.get_by_role("link", name="Start a partnership").click()
        alice.get_by_label("Programme and cohort").select_option(label=str(cohort))
        expect(alice.get_by_label("Lead school")).to_have_value(str(school_a.pk))
        alice.get_by_label("Partnership name").fill(PARTNERSHIP)
        alice.get_by_label("Local STEM issue to address").fill("Few pupils choose science after 16.")
        alice.shot("start-partnership-form")
        alice.get_by_role("button", name="Start the partnership").click()
        expect(alice.get_by_role("heading", name=PARTNERSHIP, level=1)).to_be_visible()
        expect(alice.locator("#schools-count")).to_contain_text("1 of 5")
        alice.shot("partnership-started")

        # She searches the register and invites the four eligible schools.
        alice.get_by_role("link", name="Find and invite partner schools").click()
        alice.get_by_label("School name, URN or postcode").fill(SEARCH_TERM)
        alice.get_by_role("button", name="Search").click()
        expect(alice.get_by_role("table")).to_contain_text("5 schools found")
        independent = alice.get_by_role("row").filter(has_text=INDEPENDENT_SCHOOL)
        expect(independent).to_contain_text("Not eligible")
        expect(independent.get_by_role("button")).to_have_count(0)
        alice.shot("search-results")
        for name in PARTNER_SCHOOLS:
            alice.get_by_role("button", name=f"Invite {name}", exact=True).click()
            expect(alice.get_by_role("alert").filter(has_text=f"{name} is invited")).to_be_visible()
            expect(alice.get_by_role("row").filter(has_text=name)).to_contain_text("Invited here")
            alice.shot(f"invited-{name.lower().replace(' ', '-')}")
        partnership = Partnership.objects.get(name=PARTNERSHIP)
        assert partnership.memberships.filter(status=Membership.Status.INVITED).count() == 4

        # Each partner school's lead logs in (a browser of their own) and confirms.
        for user, school in partners:
            partner = journey.new_page(user.username)
            log_in(partner, user.username)
            invitations = partner.get_by_role("region", name="Invitations waiting for your answer")
            invitation = invitations.get_by_role("row").filter(has_text=PARTNERSHIP)
            expect(invitation).to_contain_text(school.name)
            partner.shot("invitation")
            invitation.get_by_role("button", name=re.compile(r"^Confirm")).click()
            expect(partner.get_by_role("alert")).to_contain_text(f"{school.name} has joined")
            partner.shot("confirmed")
            partner.context.close()

        alice.get_by_role("link", name=PARTNERSHIP).click()
        expect(alice.locator("#schools-count")).to_contain_text("5 of 5")
        expect(alice.locator("#schools-count")).to_contain_text("Enough schools to apply")
        alice.shot("partnership-complete")

        # She starts the application and writes step 1.
        alice.get_by_role("link", name="My applications").click()
        row = alice.get_by_role("row").filter(has_text=PARTNERSHIP)
        row.get_by_role("link", name="Start an application").click()
        alice.shot("start-application")
        alice.get_by_role("button", name="Start the application").click()
        expect(alice.get_by_role("heading", name="Step 1: Aims and the local STEM issue")).to_be_visible()
        alice.shot("step-1-empty")
        alice.get_by_label("Aims of the partnership").fill(APPLICATION_TEXT["aims"])
        alice.get_by_label("The local STEM issue").fill(APPLICATION_TEXT["local_stem_issue"])
        alice.shot("step-1-written")
        alice.get_by_role("button", name="Save and continue").click()

        # Step 2: she types, the draft is saved without pressing Save, she reloads mid-way.
        expect(alice.get_by_role("heading", name=re.compile("^Step 2: Planned CPD"))).to_be_visible()
        cpd = alice.locator("#id_planned_teacher_cpd")  # "Planned teacher CPD hours" follows it
        cpd.fill(APPLICATION_TEXT["planned_teacher_cpd"])
        alice.clock.run_for("00:05")  # the autosave's interval passes (no waiting in real time)
        expect(alice.locator("#autosave-status")).to_contain_text("Draft saved", timeout=15_000)
        alice.shot("step-2-autosaved")
        draft = Application.objects.get(partnership__name=PARTNERSHIP)
        assert draft.planned_teacher_cpd == APPLICATION_TEXT["planned_teacher_cpd"]  # saved, not just typed
        alice.reload()
        expect(cpd).to_have_value(APPLICATION_TEXT["planned_teacher_cpd"])
        alice.shot("step-2-after-reload")
        alice.get_by_label("Planned student activities").fill(APPLICATION_TEXT["planned_student_activities"])
        alice.get_by_role("button", name="Save and continue").click()

        # Step 3.
        expect(alice.get_by_role("heading", name="Step 3: Timeline")).to_be_visible()
        alice.get_by_label("Timeline").fill(APPLICATION_TEXT["timeline"])
        alice.shot("step-3")
        alice.get_by_role("button", name="Save and continue").click()

        # Step 4: two budget lines; the total follows them.
        expect(alice.get_by_role("heading", name="Step 4: Budget")).to_be_visible()
        for n, (category, amount, note) in enumerate(LINES, start=1):
            alice.get_by_label(f"Category, line {n}").select_option(category)
            alice.get_by_label(f"Amount (£), line {n}").fill(str(amount))
            alice.get_by_label(f"Note, line {n}").fill(note)
            alice.shot(f"budget-line-{n}")
            if n < len(LINES):
                alice.get_by_role("button", name="Save and add another line").click()
                expect(alice.get_by_role("alert").filter(has_text="Saved.")).to_be_visible()
                expect(alice.get_by_label(f"Category, line {n + 1}")).to_be_visible()
        total = sum(amount for _, amount, _ in LINES)
        alice.get_by_role("button", name="Save and continue").click()
        expect(alice.locator("#requested-total")).to_have_text(gbp(total))

        # The checklist says what is still missing: the declarations. Its link leads to step 5.
        alice.get_by_role("link", name="6. Review and submit").click()
        checklist = alice.locator("section[aria-labelledby=checklist-title]")
        for label in DECLARATION_LABELS:
            expect(checklist).to_contain_text(label)
        expect(alice.get_by_role("button", name="Submit the application")).to_be_visible()
        alice.shot("checklist-missing-declarations")
        checklist.get_by_role("link").first.click()
        expect(alice.get_by_role("heading", name="Step 5: Declarations")).to_be_visible()
        for label in DECLARATION_LABELS:
            alice.get_by_label(label).check()
        alice.shot("step-5-declarations")
        alice.get_by_role("button", name="Save and continue").click()

        # Review: everything is there, her text and budget are shown; she submits.
        expect(checklist).to_contain_text("Everything needed is there.")
        for text in APPLICATION_TEXT.values():
            expect(alice.get_by_role("main")).to_contain_text(text)
        expect(alice.locator("tfoot")).to_contain_text(gbp(total))
        alice.shot("review-complete")
        alice.get_by_role("button", name="Submit the application").click()

        # A confirmation shows what will be submitted; nothing is submitted yet (issue 21).
        expect(alice.get_by_role("heading", name="Submit this application?")).to_be_visible()
        for text in APPLICATION_TEXT.values():
            expect(alice.get_by_role("main")).to_contain_text(text)
        assert Application.objects.get(partnership=partnership).status == Application.Status.DRAFT
        alice.shot("submit-confirmation")
        alice.get_by_role("button", name="Yes, submit").click()

        expect(alice.get_by_role("alert").filter(has_text="Application submitted")).to_be_visible()
        expect(status_badge(alice)).to_have_text("Submitted")
        alice.shot("submitted")
        application = Application.objects.get(partnership=partnership)
        assert application.status == Application.Status.SUBMITTED
        assert application.requested == total
        assert application.planned_teacher_cpd == APPLICATION_TEXT["planned_teacher_cpd"]
        assert journey.problems == []
    finally:
        journey.close()
