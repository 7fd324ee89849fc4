"""Alice's application done with the keyboard alone (Tab, Shift+Tab, Enter, Space and typing; no
clicks, no filling by script): logging in, reaching the application, every step, the budget
line's select, the declarations' checkboxes and the submit button are all operable by keyboard."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from grants.models import Application
from tests.e2e.journeys import (
    APPLICATION_TEXT,
    Journey,
    complete_partnership,
    enter_and_wait,
    focused,
    gbp,
    status_badge,
    tab_to,
)

AMOUNT = Decimal("2500.00")


def heading(page, step: int):
    return page.get_by_role("heading", name=re.compile(rf"^Step {step}: "))


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_journey_keyboard_only_lead_writes_and_submits_the_application(
    browser, live_server, request, page, cohort, school_a, lead_alice, password
):
    partnership = complete_partnership(cohort, school_a)
    journey = Journey(browser, live_server, request)
    alice = journey.attach(page, "alice")
    keys = alice.keyboard
    try:
        # Log in: the username field has the focus when the page opens.
        alice.goto("/accounts/login/")
        assert focused(alice)["id"] == "id_username"
        keys.type("lead_alice")
        keys.press("Tab")
        keys.type(password)
        enter_and_wait(alice)
        expect(alice.get_by_role("heading", name="My partnerships")).to_be_visible()
        alice.shot("logged-in")

        # From the main navigation to the application's first step.
        tab_to(alice, text="My applications")
        enter_and_wait(alice)
        expect(alice.get_by_role("heading", name="My applications")).to_be_visible()
        tab_to(alice, text="Start an application")
        alice.shot("start-link-focused")
        enter_and_wait(alice)
        tab_to(alice, text="Start the application")
        enter_and_wait(alice)
        expect(heading(alice, 1)).to_be_visible()
        alice.shot("step-1")

        # Step 1: the skip link comes first and jumps over the navigation into the page; two
        # fields; Shift+Tab goes back to the first to add to it.
        keys.press("Tab")
        assert focused(alice)["text"] == "Skip to main content"
        keys.press("Enter")
        keys.press("Tab")
        assert focused(alice)["text"] == "1. Aims and the local STEM issue"
        tab_to(alice, id="id_aims")
        keys.type(APPLICATION_TEXT["aims"])
        keys.press("Tab")
        assert focused(alice)["id"] == "id_local_stem_issue"
        keys.type(APPLICATION_TEXT["local_stem_issue"])
        keys.press("Shift+Tab")
        assert focused(alice)["id"] == "id_aims"
        keys.press("Control+End")
        keys.type(" Every school takes part.")
        alice.shot("step-1-typed")
        tab_to(alice, text="Save and continue")
        enter_and_wait(alice)

        # Step 2.
        expect(heading(alice, 2)).to_be_visible()
        tab_to(alice, id="id_planned_teacher_cpd")
        keys.type(APPLICATION_TEXT["planned_teacher_cpd"])
        keys.press("Tab")
        assert focused(alice)["id"] == "id_planned_cpd_hours"
        keys.type("24")
        keys.press("Tab")
        assert focused(alice)["id"] == "id_planned_student_activities"
        keys.type(APPLICATION_TEXT["planned_student_activities"])
        alice.shot("step-2-typed")
        tab_to(alice, text="Save and continue")
        enter_and_wait(alice)

        # Step 3.
        expect(heading(alice, 3)).to_be_visible()
        tab_to(alice, id="id_timeline")
        keys.type(APPLICATION_TEXT["timeline"])
        alice.shot("step-3-typed")
        tab_to(alice, text="Save and continue")
        enter_and_wait(alice)

        # Step 4: the category select chosen by typing its first letters, then amount and note.
        expect(heading(alice, 4)).to_be_visible()
        tab_to(alice, id="id_lines-0-category")
        keys.type("Travel")
        expect(alice.get_by_label("Category, line 1")).to_have_value("travel")
        keys.press("Tab")
        assert focused(alice)["id"] == "id_lines-0-amount"
        keys.type(str(AMOUNT))
        keys.press("Tab")
        keys.type("Minibus to the STEM fair")
        alice.shot("step-4-typed")
        tab_to(alice, text="Save and continue")
        enter_and_wait(alice)

        # Step 5: the declarations are ticked with Space.
        expect(heading(alice, 5)).to_be_visible()
        expect(alice.locator("#requested-total")).to_have_text(gbp(AMOUNT))
        tab_to(alice, id="id_declaration_accurate")
        for n in range(3):
            if n:
                keys.press("Tab")
            assert focused(alice)["type"] == "checkbox"
            keys.press("Space")
        for checkbox in alice.get_by_role("checkbox").all():
            expect(checkbox).to_be_checked()
        alice.shot("step-5-ticked")
        tab_to(alice, text="Save and continue")
        enter_and_wait(alice)

        # Review and submit.
        expect(alice.get_by_text("Everything needed is there.")).to_be_visible()
        tab_to(alice, text="Submit the application")
        alice.shot("submit-focused")
        enter_and_wait(alice)
        tab_to(alice, text="Yes, submit the application")
        enter_and_wait(alice)
        expect(status_badge(alice)).to_have_text("Submitted")
        alice.shot("submitted")

        application = Application.objects.get(partnership=partnership)
        assert application.status == Application.Status.SUBMITTED
        assert application.aims == APPLICATION_TEXT["aims"] + " Every school takes part."
        assert application.requested == AMOUNT
        assert journey.problems == []
    finally:
        journey.close()
