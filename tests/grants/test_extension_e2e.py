"""Deadline extensions on a phone (375 px): staff reopen a closed round's window for one draft
with a reason, an error first shown next to the field; the page fits the width and axe finds
nothing serious; the lead's application page then says until when it can be submitted."""

from datetime import timedelta

import pytest
from django.utils import timezone

from grants.models import Application, DeadlineExtension
from tests.conftest import login
from tests.e2e.axe import serious_violations

S = Application.Status
WIDTH = 375


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= WIDTH


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_staff_reopen_one_drafts_window_on_a_phone(browser, live_server, application_in, cohort, staff_carol):
    draft = application_in(S.DRAFT)
    cohort.applications_close_at = timezone.now() - timedelta(days=1)
    cohort.save(update_fields=["applications_close_at"])
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": WIDTH, "height": 800}, bypass_csp=True
    )
    page = context.new_page()
    try:
        login(page, "staff_carol")
        page.goto(f"/grants/applications/{draft.pk}/")
        page.get_by_role("link", name="Give more time").click()
        assert page.get_by_role("heading", name="Submission deadline").is_visible()
        assert fits(page)
        assert serious_violations(page) == []

        page.get_by_label("New deadline").fill("2000-01-01T10:00")
        page.get_by_label("Reason").fill("Snow closed the school for a week.")
        page.get_by_role("button", name="Set the new deadline").click()
        assert page.get_by_text("an extension must end after that").first.is_visible()
        assert fits(page)

        until = timezone.localtime(timezone.now() + timedelta(days=5)).replace(second=0, microsecond=0)
        page.get_by_label("New deadline").fill(f"{until:%Y-%m-%dT%H:%M}")
        page.get_by_role("button", name="Set the new deadline").click()
        page.wait_for_url(f"**/grants/applications/{draft.pk}/")
        assert page.get_by_text("extended for this application").is_visible()
        assert fits(page)
        assert DeadlineExtension.objects.get().until == until
    finally:
        context.close()
