"""The needs analysis and CPD plan journey at 375 px (issue 18): the school's lead fills in the
needs analysis, autosaved without pressing Save, and submits it; programme staff review it and add
a bespoke plan item; after an activity the plan shows what was delivered of the plan."""

from datetime import timedelta
from decimal import Decimal

import pytest

from clusters import services
from clusters.models import NeedsAnalysis
from tests import factories
from tests.conftest import login


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_lead_fills_needs_with_autosave_staff_plan_and_the_plan_shows_delivered(page, school_a, lead_alice):
    page.set_viewport_size({"width": 375, "height": 800})
    programme = factories.ProgrammeFactory(kind="clusters", name="Aspire to STEM", slug="aspire-to-stem")
    staff = factories.StaffFactory(username="staff_sam")
    programme.staff.add(staff)
    cluster = factories.ClusterFactory(
        cohort=factories.CohortFactory(programme=programme), name="Blackpool cluster"
    )
    factories.ClusterMembershipFactory(cluster=cluster, school=school_a)

    login(page, "lead_alice")
    page.goto(f"/clusters/{cluster.pk}/needs/{school_a.urn}/")
    page.get_by_label("Leadership: score").select_option("2")
    page.get_by_label("Leadership: what you see and what you need").fill("New head, no STEM lead yet.")
    page.get_by_role("status").filter(has_text="Draft saved").wait_for(timeout=15_000)
    page.shot("needs-autosaved")
    assert (
        NeedsAnalysis.objects.get(school=school_a, focus_area="leadership").notes
        == "New head, no STEM lead yet."
    )
    page.reload()
    assert (
        page.get_by_label("Leadership: what you see and what you need").input_value()
        == "New head, no STEM lead yet."
    )
    for label in ("Great teaching", "Science capital", "Careers guidance"):
        page.get_by_label(f"{label}: score").select_option("3")
    page.get_by_role("button", name="Submit for review").click()
    page.locator("#questionnaire-status", has_text="Submitted").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    page.context.clear_cookies()
    login(page, "staff_sam")
    page.goto(f"/clusters/{cluster.pk}/needs/{school_a.urn}/")
    page.get_by_label("Reviewed: write the plan").check()
    page.get_by_role("button", name="Save the review").click()
    page.wait_for_url(f"**/clusters/{cluster.pk}/plan/")
    page.locator("#id_school").select_option(str(school_a.pk))
    page.locator("#id_focus_area").select_option("leadership")
    page.locator("#id_title").fill("STEM leadership coaching")
    page.locator("#id_planned_hours").fill("4")
    page.locator("#id_planned_on").fill(cluster.cohort.starts_on.isoformat())
    page.get_by_role("button", name="Add to the plan").click()
    page.get_by_text("Added “STEM leadership coaching” to the plan.").wait_for()

    services.activity_create(
        cluster=cluster,
        schools=[school_a],
        by=staff,
        kind="teacher_cpd",
        title="Leadership coaching, session 1",
        held_on=cluster.cohort.starts_on + timedelta(days=7),
        hours=Decimal("3.0"),
        teachers_reached=2,
        students_reached=0,
        focus_area="leadership",
    )
    page.reload()
    row = page.locator("#plan-progress tr", has_text="Leadership")
    assert "75%" in row.inner_text()
    page.shot("plan-delivered")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
