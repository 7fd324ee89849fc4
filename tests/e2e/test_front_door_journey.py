"""The front door in a real browser (issue 21): an anonymous visitor reads the open programme,
checks an independent school (not eligible, with the reason) and an eligible one, and signs up
from the eligible result with the school already chosen; axe finds nothing serious on the way."""

import pytest
from django.core import mail
from django.core.cache import cache
from playwright.sync_api import expect

from partnerships.models import Funding, SchoolLead
from tests import factories
from tests.e2e.axe import serious_violations

PASSWORD = "Kestrel-orbit-7-lantern"


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_visitor_checks_two_schools_and_signs_up_from_the_eligible_one(browser, live_server, cohort):
    context = browser.new_context(base_url=live_server.url, bypass_csp=True)  # axe is injected
    page = context.new_page()
    page.set_default_timeout(15_000)
    cache.clear()
    mail.outbox.clear()
    factories.SchoolFactory(name="Seaview Independent School", urn=160001, funding=Funding.INDEPENDENT)
    eligible = factories.SchoolFactory(name="Seaview Primary School", urn=160002)

    page.goto("/")
    expect(page.get_by_role("heading", name="Grants for school STEM partnerships")).to_be_visible()
    expect(page.get_by_text(f"up to £{cohort.programme.grant_cap:,.2f}")).to_be_visible()
    assert serious_violations(page) == []
    page.get_by_role("link", name="Check whether a school can take part").click()

    page.get_by_label("School name, URN or postcode").fill("160001")
    page.get_by_role("button", name="Check").click()
    result = page.locator(".eligibility-result")
    expect(result).to_contain_text("Not eligible")
    expect(result).to_contain_text("this school is independent")
    expect(page.get_by_role("link", name="Sign up as a lead of this school")).to_have_count(0)
    assert serious_violations(page) == []

    page.get_by_label("School name, URN or postcode").fill("160002")
    page.get_by_role("button", name="Check").click()
    expect(page.locator(".eligibility-result")).to_contain_text(f"Eligible for {cohort.programme.name}")
    page.get_by_role("link", name="Sign up as a lead of this school").click()

    expect(page.locator("#chosen-school")).to_contain_text("Seaview Primary School")
    page.get_by_label("First name").fill("Rosa")
    page.get_by_label("Last name").fill("Lind")
    page.get_by_label("Work e-mail address").fill("rosa.lind@seaview.sch.uk")
    page.get_by_label("Your role at the school").fill("Head of science")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()

    assert SchoolLead.objects.filter(school=eligible, user__email="rosa.lind@seaview.sch.uk").exists()
    context.close()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_the_signup_search_tells_an_independent_school_at_375_px(browser, live_server, cohort):
    """Issue 21: the sign-up's own school search says an independent school cannot apply, and
    why, before any account exists; the page fits a phone and axe finds nothing serious."""
    context = browser.new_context(
        base_url=live_server.url, bypass_csp=True, viewport={"width": 375, "height": 800}
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    cache.clear()
    independent = factories.SchoolFactory(name="Seaview Independent School", funding=Funding.INDEPENDENT)
    factories.SchoolFactory(name="Seaview Primary School")

    page.goto("/partnerships/signup/?q=Seaview")
    verdict = page.locator(f"#verdict-{independent.pk}")
    expect(verdict).to_contain_text("Cannot apply to any open programme.")
    expect(verdict).to_contain_text("this school is independent")
    expect(page.get_by_text(f"Can apply to {cohort.programme.name}.")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert serious_violations(page) == []

    page.get_by_role("link", name="Choose Seaview Independent School").click()
    expect(page.locator("#chosen-school-ineligible")).to_contain_text("this school is independent")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert serious_violations(page) == []
    context.close()
