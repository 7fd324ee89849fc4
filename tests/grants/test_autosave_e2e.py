"""The autosave script in a real browser: what the lead types is in the database without pressing
Save, and is still there after a reload."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

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


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_budget_line_autosaved_then_saved_and_continued_is_still_there_after_a_reload(
    page, partnership, lead_alice
):
    """The lost-line bug: autosave stored the line, then "Save and continue" replaced the lines
    with nothing (the posted formset was compared with the saved lines and looked unchanged)."""
    application = services.application_start(partnership_id=partnership.pk, by=lead_alice)
    page.clock.install()  # the autosave interval is moved on, not waited for
    login(page, "lead_alice")
    page.wait_for_url("**/partnerships/")

    page.goto(f"/grants/applications/{application.pk}/step/4/")
    page.get_by_label("Category, line 1").select_option("travel")
    page.get_by_label("Amount (£), line 1").fill("1234.50")
    page.get_by_label("Note, line 1").fill("Minibus to the STEM fair")
    page.clock.run_for("00:05")
    expect(page.locator("#autosave-status")).to_contain_text("Draft saved", timeout=15_000)
    assert list(application.budget_lines.values_list("amount", flat=True)) == [Decimal("1234.50")]

    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("heading", name="Step 5: Declarations")).to_be_visible()
    page.shot("after-save-and-continue")
    lines = list(application.budget_lines.values_list("category", "amount", "note"))
    assert lines == [("travel", Decimal("1234.50"), "Minibus to the STEM fair")]
    assert Application.objects.get(pk=application.pk).requested == Decimal("1234.50")

    page.get_by_role("link", name="4. Budget").click()
    expect(page.get_by_label("Amount (£), line 1")).to_have_value("1234.50")
    page.reload()
    expect(page.get_by_label("Amount (£), line 1")).to_have_value("1234.50")
    expect(page.get_by_label("Note, line 1")).to_have_value("Minibus to the STEM fair")
    expect(page.locator("#requested-total")).to_have_text("£1,234.50")
    page.shot("after-reload")


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_jumping_to_another_step_saves_what_was_typed_first(page, partnership, lead_alice):
    application = services.application_start(partnership_id=partnership.pk, by=lead_alice)
    page.clock.install()
    login(page, "lead_alice")
    page.wait_for_url("**/partnerships/")

    page.goto(f"/grants/applications/{application.pk}/step/1/")
    page.get_by_label("Aims of the partnership").fill("Typed, then straight to the timeline")
    page.get_by_role("link", name="3. Timeline").click()  # before any autosave could run

    expect(page.get_by_role("heading", name="Step 3: Timeline")).to_be_visible()
    assert Application.objects.get(pk=application.pk).aims == "Typed, then straight to the timeline"


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_text_over_the_limit_is_counted_refused_next_to_the_field_and_never_cut(
    page, partnership, lead_alice
):
    application = services.application_start(partnership_id=partnership.pk, by=lead_alice)
    login(page, "lead_alice")
    page.wait_for_url("**/partnerships/")
    page.goto(f"/grants/applications/{application.pk}/step/1/")
    aims = page.get_by_label("Aims of the partnership")

    aims.fill("x" * 9_990)
    expect(page.locator("#id_aims-count")).to_have_text("9,990 of 10,000 characters")
    aims.fill("x" * 15_000)  # as a paste would: the browser keeps all of it
    expect(page.locator("#id_aims-count")).to_have_text("15,000 of 10,000 characters")
    expect(page.locator("#id_aims-over")).to_contain_text("5,000 characters over the limit")
    page.shot("over-the-limit")

    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_text("Keep this to 10,000 characters: it has 15,000.").first).to_be_visible()
    assert len(page.get_by_label("Aims of the partnership").input_value()) == 15_000
    assert Application.objects.get(pk=application.pk).aims == ""
    page.shot("refused-next-to-the-field")
