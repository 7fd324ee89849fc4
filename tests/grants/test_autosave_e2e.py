"""The autosave script in a real browser: what the lead types is in the database without pressing
Save, and is still there after a reload."""

from decimal import Decimal

import pytest

from grants import services
from grants.models import Application
from tests.conftest import login


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_typing_is_autosaved_and_survives_a_reload(page, partnership, lead_alice):
    application = services.application_start(partnership_id=partnership.pk, by=lead_alice)
    login(page, "lead_alice")
    page.wait_for_url("**/partnerships/")

    page.goto(f"/grants/applications/{application.pk}/step/1/")
    page.get_by_label("Aims of the partnership").fill("Typed, never saved by hand")
    page.get_by_role("status").filter(has_text="Draft saved").wait_for(timeout=15_000)
    page.shot("autosaved")
    page.reload()

    assert Application.objects.get(pk=application.pk).aims == "Typed, never saved by hand"
    assert page.get_by_label("Aims of the partnership").input_value() == "Typed, never saved by hand"


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_budget_total_updates_as_lines_are_typed(page, partnership, lead_alice):
    application = services.application_start(partnership_id=partnership.pk, by=lead_alice)
    login(page, "lead_alice")
    page.wait_for_url("**/partnerships/")

    page.goto(f"/grants/applications/{application.pk}/step/4/")
    page.get_by_label("Category, line 1").select_option("travel")
    page.get_by_label("Amount (£), line 1").fill("1234.50")
    page.get_by_role("status").filter(has_text="Draft saved").wait_for(timeout=15_000)

    assert page.locator("#requested-total").inner_text() == "£1,234.50"
    assert Application.objects.get(pk=application.pk).requested == Decimal("1234.50")
