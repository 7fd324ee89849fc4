"""The whole Aspire to STEM run in a browser (issue 18), built from fixtures (no seed_demo):
programme staff build a cluster with the builder, each school's lead completes its needs
analysis, staff add CPD plan items and record an activity, send its survey, two teachers
answer by their links without an account, and the process evaluation page shows the delivered
hours and the ratings. Every page is checked at 375 px."""

from datetime import timedelta

import pytest
from django.urls import reverse

from clusters.models import Cluster, Feedback, NeedsQuestionnaire
from partnerships.models import OfstedRating, Phase
from tests import factories
from tests.conftest import login
from tests.e2e.journeys import Journey

WIDTH = 375
AREAS = ("Leadership", "Great teaching", "Science capital", "Careers guidance")


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= WIDTH


@pytest.fixture
def aspire_world(db):
    programme = factories.ProgrammeFactory(
        name="Aspire to STEM",
        slug="aspire-to-stem",
        kind="clusters",
        eligible_phases=["primary", "secondary"],
        eligible_ofsted_ratings=[OfstedRating.REQUIRES_IMPROVEMENT, OfstedRating.INADEQUATE],
        opportunity_areas_only=True,
    )
    cohort = factories.CohortFactory(programme=programme)
    staff = factories.StaffFactory(username="staff_sam")
    programme.staff.add(staff)
    schools, leads = [], []
    for i in range(5):
        school = factories.SchoolFactory(
            name=f"Fleetwood School {i + 1}",
            phase=Phase.SECONDARY if i == 0 else Phase.PRIMARY,
            ofsted_rating=OfstedRating.REQUIRES_IMPROVEMENT,
            opportunity_area="Blackpool",
            easting=333_000 + i * 1_000,
            northing=447_000 + i * 500,
            pupils=400,
        )
        lead = factories.LeadFactory(username=f"lead_fleetwood_{i + 1}")
        factories.link_lead(lead, school)
        schools.append(school)
        leads.append(lead)
    # Too good to be eligible: the builder must leave it out.
    factories.SchoolFactory(
        name="Fleetwood Outstanding",
        ofsted_rating=OfstedRating.GOOD,
        opportunity_area="Blackpool",
        easting=333_100,
        northing=447_100,
    )
    return cohort, staff, schools, leads


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_staff_build_a_cluster_leads_answer_needs_teachers_answer_the_survey_and_the_process_page_shows_it(
    browser, live_server, request, page, aspire_world
):
    cohort, _staff, schools, leads = aspire_world
    journey = Journey(browser, live_server, request)
    sam = journey.attach(page, "sam")
    sam.set_viewport_size({"width": WIDTH, "height": 800})
    try:
        # Staff build the cluster from the builder's proposal.
        login(sam, "staff_sam")
        sam.goto(reverse("clusters:cluster_builder", args=[cohort.pk]))
        proposal = sam.locator("section.card").first
        for school in schools:
            assert school.name in proposal.inner_text()
        assert "Fleetwood Outstanding" not in sam.content()
        assert fits(sam)
        sam.shot("builder")
        proposal.get_by_role("button", name="Accept").click()
        sam.get_by_text("with 5 schools").wait_for()
        cluster = Cluster.objects.get(cohort=cohort)
        assert sorted(cluster.memberships.values_list("school_id", flat=True)) == sorted(
            s.pk for s in schools
        )
        assert fits(sam)

        # Each school's lead completes its needs analysis.
        for school, lead in zip(schools, leads, strict=True):
            lead_page = journey.new_page(lead.username)
            lead_page.set_viewport_size({"width": WIDTH, "height": 800})
            login(lead_page, lead.username)
            lead_page.goto(reverse("clusters:needs_questionnaire", args=[cluster.pk, school.urn]))
            for area in AREAS:
                lead_page.get_by_label(f"{area}: score").select_option("2")
            lead_page.get_by_label("Leadership: what you see and what you need").fill("No STEM lead yet.")
            lead_page.get_by_role("button", name="Submit for review").click()
            lead_page.locator("#questionnaire-status", has_text="Submitted").wait_for()
            assert fits(lead_page)
            lead_page.context.close()
        assert NeedsQuestionnaire.objects.filter(cluster=cluster, status="submitted").count() == 5

        # Staff review one and add plan items: a cluster-wide one and one for the first school.
        sam.goto(reverse("clusters:needs_questionnaire", args=[cluster.pk, schools[0].urn]))
        sam.get_by_label("Reviewed: write the plan").check()
        sam.get_by_role("button", name="Save the review").click()
        sam.wait_for_url(f"**/clusters/{cluster.pk}/plan/")
        for school, title, hours in (
            (None, "Practical science twilight", "6"),
            (schools[0], "STEM lead coaching", "4"),
        ):
            if school is not None:
                sam.locator("#id_school").select_option(str(school.pk))
            sam.locator("#id_focus_area").select_option("great_teaching")
            sam.locator("#id_title").fill(title)
            sam.locator("#id_planned_hours").fill(hours)
            sam.locator("#id_planned_on").fill((cohort.starts_on + timedelta(days=14)).isoformat())
            sam.get_by_role("button", name="Add to the plan").click()
            sam.get_by_text(f"Added “{title}” to the plan.").wait_for()
        assert fits(sam)

        # Staff record the activity the plan asked for.
        sam.goto(reverse("clusters:cluster_activity_create", args=[cluster.pk]))
        sam.locator("#id_kind").select_option("teacher_cpd")
        sam.locator("#id_title").fill("Practical science twilight, session 1")
        sam.locator("#id_held_on").fill((cohort.starts_on + timedelta(days=14)).isoformat())
        sam.locator("#id_hours").fill("3")
        sam.locator("#id_teachers_reached").fill("9")
        sam.locator("#id_students_reached").fill("0")
        sam.locator("#id_focus_area").select_option("great_teaching")
        for school in schools:
            sam.get_by_label(school.name).check()
        assert fits(sam)
        sam.get_by_role("button", name="Save the activity").click()
        sam.wait_for_url(lambda url: "/activities/new/" not in url)
        activity = cluster.activities.get()

        # Staff send its survey: two one-time links.
        sam.goto(reverse("clusters:survey_send", args=[activity.pk]))
        sam.get_by_label("How many teachers").fill("2")
        sam.get_by_role("button", name="Make the links").click()
        sam.get_by_text("2 survey links ready to send.").wait_for()
        links = sam.locator(".survey-links code").all_inner_texts()
        assert len(links) == 2
        assert fits(sam)
        sam.shot("survey-links")

        # Two teachers answer, each by their own link, with no account.
        for n, (link, rating) in enumerate(zip(links, ("5", "3"), strict=True), start=1):
            teacher = journey.new_page(f"teacher{n}")
            teacher.set_viewport_size({"width": WIDTH, "height": 800})
            teacher.goto(link)
            for name in ("engaging_ideas", "hands_on", "sharing_across_schools", "overall_usefulness"):
                teacher.locator(f"input[name={name}][value='{rating}']").check()
            teacher.get_by_label("Comments").fill(f"Teacher {n}: the practicals worked.")
            assert fits(teacher)
            teacher.get_by_role("button", name="Send my answers").click()
            teacher.get_by_text("Thank you").first.wait_for()
            teacher.goto(link)  # a second answer by the same link is refused
            assert "already been answered" in teacher.content()
            teacher.context.close()
        assert Feedback.objects.filter(activity=activity).count() == 2

        # The process evaluation page shows the delivered hours and the ratings.
        sam.goto(reverse("evaluation:process_cohort", args=[cohort.pk]))
        row = sam.locator("tr", has_text=cluster.name).first
        text = row.inner_text()
        assert "3.0" in text  # CPD hours delivered
        assert "10.0 hours" in text  # planned: 6 cluster-wide and 4 for the first school
        assert "2 of 2" in text  # survey answered of invited
        ranking = sam.locator("table", has_text="Mean rating").first.inner_text()
        assert "4.00" in ranking  # (5 + 3) / 2 on every element
        dosage = sam.locator("#process-dosage tr", has_text=schools[0].name).inner_text()
        assert "10.0" in dosage
        assert "3.0" in dosage
        assert fits(sam)
        sam.shot("process")
        # The refused second answer is a 409 the browser logs; nothing else may go wrong.
        assert [p for p in journey.problems if "409 (Conflict)" not in p] == []
    finally:
        journey.close()
