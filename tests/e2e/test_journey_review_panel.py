"""The review journey (issue 17) in a real browser: staff set a rubric; they assign two
reviewers to an application, one refused for a conflict the register shows; both reviewers
score it (one on a 375 px phone); the panel ranks the cohort's applications and draws the
funding line; staff fund down the line after a confirmation, and the leads are told."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from grants import review
from grants.models import Application, ProgrammeReviewer
from messaging.models import Notification
from tests import factories
from tests.e2e.journeys import Journey, complete_partnership, gbp, log_in, submitted_application

CRITERIA = [
    ("Need", "3", "How strong is the case for this area?"),
    ("Quality of the plan", "1", "Is the CPD plan realistic?"),
]
DESCRIPTORS = "Weak\nLimited\nAdequate\nGood\nExcellent"


def reviewer(programme, username, first, school=None):
    user = factories.ReviewerFactory(username=username, first_name=first, last_name="Reviewer")
    ProgrammeReviewer.objects.create(programme=programme, user=user)
    if school is not None:
        factories.link_lead(user, school)
    return user


def scored(cohort, programme, staff, reviewers, name, lead_school_name, values, lines):
    """Another submitted application of the cohort, already reviewed through the services."""
    school = factories.SchoolFactory(name=lead_school_name)
    lead = factories.LeadFactory(username=f"lead_{name.split()[0].lower()}")
    factories.link_lead(lead, school)
    application = submitted_application(complete_partnership(cohort, school, name=name), lead, lines=lines)
    rubric = review.rubric_current(programme)
    for user, pair in zip(reviewers, values, strict=True):
        review.assignment_add(application_id=application.pk, reviewer_id=user.pk, by=staff)
        review.review_submit(
            application_id=application.pk,
            by=user,
            scores={c.pk: (v, "") for c, v in zip(rubric.criteria.all(), pair, strict=True)},
            recommendation="fund",
        )
    return application, lead


def fits_the_width(page):
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_journey_review_rubric_assign_score_panel_fund_down_the_line(
    browser, live_server, request, page, cohort, programme, school_a, lead_alice, staff_carol
):
    cohort.budget = Decimal("10000.00")
    cohort.save()
    partnership = complete_partnership(cohort, school_a)
    first = submitted_application(partnership, lead_alice)  # £6,250.50 requested
    conflicted_school = partnership.memberships.filter(role="partner").first().school
    reviewer(programme, "rita", "Rita", conflicted_school)
    ann, ben = reviewer(programme, "ann", "Ann"), reviewer(programme, "ben", "Ben")
    journey = Journey(browser, live_server, request)
    carol = journey.attach(page, "carol")
    try:
        # Carol sets the programme's rubric: two weighted criteria with a descriptor per score.
        log_in(carol, "staff_carol")
        carol.goto(f"/grants/programmes/{programme.pk}/rubric/")
        for n, (name, weight, guidance) in enumerate(CRITERIA):
            carol.locator(f"#id_criteria-{n}-name").fill(name)
            carol.locator(f"#id_criteria-{n}-weight").fill(weight)
            carol.locator(f"#id_criteria-{n}-guidance").fill(guidance)
            carol.locator(f"#id_criteria-{n}-descriptors").fill(DESCRIPTORS)
        carol.get_by_role("button", name="Publish the rubric").click()
        expect(carol.get_by_role("alert").filter(has_text="Rubric version")).to_be_visible()
        carol.shot("rubric-published")
        rubric = review.rubric_current(programme)
        assert (rubric.version, [c.weight for c in rubric.criteria.all()]) == (1, [3, 1])

        # Two other applications of the cohort were reviewed already.
        second, lead_two = scored(
            cohort,
            programme,
            staff_carol,
            [ann, ben],
            "Harbour STEM",
            "Harbour Primary",
            [(4, 4), (3, 4)],
            [{"category": "resources", "amount": Decimal("3000.00"), "note": "Kits"}],
        )
        third, lead_three = scored(
            cohort,
            programme,
            staff_carol,
            [ann, ben],
            "Inland Science",
            "Inland Primary",
            [(2, 2), (2, 1)],
            [{"category": "resources", "amount": Decimal("3000.00"), "note": "Kits"}],
        )

        # She assigns reviewers: Rita is refused (her school is in the partnership), Ann and Ben are not.
        carol.goto(f"/grants/applications/{first.pk}/reviewers/")
        expect(carol.get_by_role("row").filter(has_text="Rita Reviewer")).to_contain_text(
            conflicted_school.name
        )
        for person in ("Rita Reviewer", "Ann Reviewer", "Ben Reviewer"):
            carol.locator("#assign_reviewer").select_option(label=person)
            carol.get_by_role("button", name="Assign", exact=True).click()
            if person == "Rita Reviewer":
                summary = carol.get_by_role("alert").filter(has_text="There is a problem")
                expect(summary).to_contain_text("Rita Reviewer cannot review this application")
                expect(summary).to_contain_text(f"linked to {conflicted_school.name}")
                carol.shot("conflicted-reviewer-refused")
            else:
                expect(carol.get_by_role("alert").filter(has_text="Reviewer assigned")).to_be_visible()
        assert {a.reviewer for a in first.assignments.filter(active=True)} == {ann, ben}

        # Ann scores on her phone, Ben on a desktop: every criterion in one form.
        for who, width, values in (("ann", 375, ("5", "4")), ("ben", 1280, ("4", "5"))):
            person = journey.new_page(who)
            log_in(person, who)  # a reviewer lands on "My reviews"
            person.set_viewport_size({"width": width, "height": 800})
            expect(person.get_by_role("heading", name="My reviews")).to_be_visible()
            person.get_by_role("link", name=first.reference, exact=False).click()
            expect(person.get_by_role("heading", name=f"Review {first.reference}")).to_be_visible()
            assert fits_the_width(person), f"{who}'s review page is wider than {width} px"
            for (name, _w, _g), value in zip(CRITERIA, values, strict=True):
                person.get_by_role("group", name=name).get_by_label(value, exact=False).first.check()
            person.get_by_label("Fund", exact=True).check()
            person.get_by_label("Private note (only you see it)").fill("Ask about technicians.")
            person.shot("review-form")
            person.get_by_role("button", name="Save the review").click()
            expect(person.get_by_role("alert").filter(has_text="Review saved")).to_be_visible()
            person.shot("review-saved")
            assert fits_the_width(person)

        # The panel ranks the cohort: 4.6 and 4.25 above the line, 1.875 below it.
        carol.goto(f"/grants/cohorts/{cohort.pk}/panel/")
        ranked = carol.locator("tbody tr")
        expect(ranked.nth(0)).to_contain_text(first.reference)
        expect(ranked.nth(0)).to_contain_text("above the line")
        expect(ranked.nth(1)).to_contain_text(second.reference)
        expect(ranked.nth(2)).to_contain_text(third.reference)
        expect(ranked.nth(2)).not_to_contain_text("above the line")
        carol.shot("panel")

        # She funds down the line: the confirmation shows the total and what the budget keeps.
        carol.get_by_role("button", name="Review these decisions").click()
        expect(carol.get_by_role("heading", name="Record 2 panel decisions?")).to_be_visible()
        total = first.requested + second.requested
        expect(carol.get_by_role("main")).to_contain_text(f"Total awarded by these decisions: {gbp(total)}")
        expect(carol.get_by_role("main")).to_contain_text(
            f"from {gbp(cohort.budget)} to {gbp(cohort.budget - total)}"
        )
        carol.shot("panel-confirmation")
        assert not Application.objects.filter(status="approved").exists()
        carol.get_by_role("button", name="Yes, record these decisions").click()
        expect(carol.get_by_role("alert").filter(has_text="2 decisions recorded")).to_be_visible()
        carol.shot("panel-decided")

        statuses = dict(Application.objects.values_list("pk", "status"))
        assert (statuses[first.pk], statuses[second.pk], statuses[third.pk]) == (
            "approved",
            "approved",
            "submitted",
        )
        for lead in (lead_alice, lead_two):
            assert Notification.objects.filter(user=lead, title__icontains="approved").exists(), lead
        assert not Notification.objects.filter(user=lead_three, title__icontains="approved").exists()
        assert not journey.problems, journey.problems
    finally:
        journey.close()
