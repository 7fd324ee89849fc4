"""The conversation on a phone (375 px): the lead reads staff's message and replies, with no
horizontal scroll, even for a long unbroken word."""

import pytest

from grants import services
from grants.models import Application, ApplicationMessage
from tests.conftest import login

S = Application.Status
WIDTH = 375


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_the_lead_replies_in_the_conversation_on_a_phone(browser, live_server, application_in, staff_carol):
    application = application_in(S.SUBMITTED)
    services.message_post(application_id=application.pk, by=staff_carol, body="Please confirm " + "x" * 120)
    context = browser.new_context(base_url=live_server.url, viewport={"width": WIDTH, "height": 800})
    page = context.new_page()
    login(page, "lead_alice")

    page.goto(f"/grants/applications/{application.pk}/")
    assert page.get_by_role("heading", name="Conversation").is_visible()
    page.get_by_label("Message").fill("Confirmed, thank you.")
    page.get_by_role("button", name="Send").click()

    page.wait_for_url(f"**/grants/applications/{application.pk}/#conversation")
    assert page.get_by_text("Confirmed, thank you.").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    assert ApplicationMessage.objects.filter(author__username="lead_alice").count() == 1
    context.close()
