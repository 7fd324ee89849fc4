"""The impact page and the analysis plan page in Chromium, as programme staff on a phone-sized
screen (375 px): no horizontal scroll, no accessibility violations (axe, every impact level), the
event study drawn and its table there, the plan's version on the estimate."""

import pytest

from tests.conftest import RESULTS, login
from tests.e2e.axe import AXE
from tests.evaluation.test_impact_pages import compute, evaluated_cohort  # noqa: F401

WIDTH = 375


def all_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['impact']} {v['id']}: {v['help']} — {', '.join(' '.join(n['target']) for n in v['nodes'][:3])}"
        for v in result["violations"]
    ]


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": WIDTH, "height": 800}, bypass_csp=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= WIDTH


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_impact_and_plan_pages_fit_a_phone_and_pass_axe(phone, staff_carol, evaluated_cohort):  # noqa: F811
    compute(evaluated_cohort)
    login(phone, "staff_carol")
    phone.wait_for_load_state()
    folder = RESULTS / "impact-pages-375"
    folder.mkdir(parents=True, exist_ok=True)

    phone.goto(f"/evaluation/impact/cohorts/{evaluated_cohort.pk}/")
    phone.wait_for_function("document.getElementById('event-chart').offsetHeight > 0")
    phone.screenshot(path=str(folder / "impact.png"), full_page=True)
    assert phone.get_by_text("of the pre-registered plan").is_visible()
    assert phone.get_by_role("heading", name="Robustness").is_visible()
    assert phone.get_by_role("table", name="Difference from the baseline year").count() == 1
    assert no_horizontal_scroll(phone)
    assert all_violations(phone) == []

    phone.goto(f"/evaluation/impact/cohorts/{evaluated_cohort.pk}/plan/")
    phone.screenshot(path=str(folder / "plan.png"), full_page=True)
    assert phone.get_by_role("heading", name="Version 1, frozen").is_visible()
    assert no_horizontal_scroll(phone)
    assert all_violations(phone) == []
