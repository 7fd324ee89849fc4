"""Journey 3 in a real browser: an admin opens the cohort dashboard, a grant is awarded, and after
the summary rebuild ("Rebuild now") the dashboard shows the new award and the partnership count."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from grants import services as grant_services
from partnerships.models import Partnership
from tests import factories
from tests.e2e.journeys import Journey, complete_partnership, gbp, headline, log_in, submitted_application


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_journey_3_admin_sees_the_new_award_on_the_cohort_dashboard(
    browser, live_server, request, page, cohort, school_a, school_b, lead_alice, staff_carol, admin_dan
):
    partnership = complete_partnership(cohort, school_a)
    application = submitted_application(partnership, lead_alice)
    factories.PartnershipFactory(cohort=cohort, lead_school=school_b, name="Beech Maths Circle")
    partnerships = Partnership.objects.filter(cohort=cohort).count()
    journey = Journey(browser, live_server, request)
    dan = journey.attach(page, "dan")
    try:
        # Dan goes from the dashboards to the programme and its cohort.
        log_in(dan, "admin_dan")
        expect(dan.get_by_role("heading", name="Dashboards", level=1)).to_be_visible()
        dan.shot("dashboards")
        dan.get_by_role("link", name=cohort.programme.name).first.click()
        dan.shot("programme")
        dan.get_by_role("link", name=cohort.name).first.click()
        expect(dan.get_by_role("heading", name=f"{cohort.programme.name} {cohort.name}")).to_be_visible()
        if dan.locator("#headline-awarded").count() == 0:  # not built yet: build it first
            with dan.expect_navigation():
                dan.get_by_role("button", name="Rebuild now").click()
        expect(dan.locator("#headline-awarded")).to_have_text(gbp(Decimal("0.00")))
        expect(dan.locator("#headline-partnerships")).to_have_text(str(partnerships))
        dan.shot("cohort-before-award")

        # Carol awards the grant (journey 2's last step, done here through the service).
        award = application.requested - Decimal("250.50")
        grant_services.application_approve(application_id=application.pk, by=staff_carol, amount=award)

        # Dan asks for a rebuild, then reloads: the award and the partnerships are counted.
        dan.reload()
        dan.shot("cohort-after-award-reload")
        rebuild = dan.get_by_role("button", name="Rebuild now")
        if rebuild.count():
            with dan.expect_navigation():  # the page's script reloads it once the new figures are built
                rebuild.click()
            dan.shot("rebuild-done")
        dan.reload()
        expect(dan.locator("#summary-state-label")).to_have_text("Ready")
        expect(dan.locator("#stale-flag")).to_have_count(0)
        assert headline(dan, "awarded") == gbp(award)
        assert headline(dan, "partnerships") == str(partnerships)
        expect(dan.locator("canvas#chart-money")).to_be_visible()
        dan.shot("cohort-after-rebuild")

        dan.get_by_role("link", name="See the cohort's partnerships").click()
        expect(dan.get_by_role("row").filter(has_text=partnership.name)).to_be_visible()
        dan.shot("cohort-partnerships")
        assert journey.problems == []
    finally:
        journey.close()


@pytest.mark.e2e
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_journey_3_the_dashboard_follows_a_rebuild_by_a_real_worker(
    celery_worker, settings, browser, live_server, request, page, cohort, school_a, lead_alice, staff_carol
):
    """The same, with the rebuild queued on Redis and run by a worker: the page follows the
    rebuild's progress and reloads itself when the new figures are ready."""
    admin = factories.AdminFactory(username="admin_dan")
    application = submitted_application(complete_partnership(cohort, school_a), lead_alice)
    journey = Journey(browser, live_server, request)
    dan = journey.attach(page, "dan")
    try:
        log_in(dan, admin.username)
        dan.goto(f"/evaluation/cohorts/{cohort.pk}/")
        dan.shot("cohort-as-first-seen")
        if dan.locator("#headline-awarded").count() == 0:
            dan.get_by_role("button", name="Rebuild now").click()
        expect(dan.locator("#headline-awarded")).to_have_text(gbp(Decimal("0.00")), timeout=20_000)
        dan.shot("cohort-before-award")

        award = application.requested
        grant_services.application_approve(application_id=application.pk, by=staff_carol, amount=award)
        dan.get_by_role("button", name="Rebuild now").click()
        dan.shot("rebuild-queued")
        expect(dan.locator("#headline-awarded")).to_have_text(gbp(award), timeout=20_000)
        expect(dan.locator("#summary-state-label")).to_have_text("Ready")
        dan.shot("cohort-after-rebuild")
        assert journey.problems == []
    finally:
        journey.close()
