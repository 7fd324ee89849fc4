"""The messages of a review, in a real browser: staff ask for changes with a comment; the lead,
on a phone (375 px), sees the notice and the count in the header badge, reads the comment at the
top of the step she edits, replies in the conversation and resubmits; staff see the reply and
approve; the lead sees the approval in the portal. The captured e-mails (the live server runs in
this process: its locmem outbox is ours) carry the comment, the reply and absolute links to the
application."""

import re

import pytest
from django.conf import settings
from django.core import mail
from playwright.sync_api import expect

from grants.models import Application
from messaging.models import MessageTemplate, Notification
from tests.conftest import login
from tests.e2e.journeys import Journey, complete_partnership, log_in, status_badge, submitted_application

COMMENT = "Please say which of the five schools hosts each twilight CPD session."
REPLY = "Thank you: we have added the host school for each session to the timeline."
WIDTH = 375


def emails_to(address: str, subject_start: str) -> list:
    return [m for m in mail.outbox if address in m.to and m.subject.startswith(subject_start)]


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= WIDTH


def open_menu(page):
    toggler = page.get_by_role("button", name="Toggle navigation")
    if toggler.is_visible() and toggler.get_attribute("aria-expanded") != "true":
        toggler.click()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_changes_requested_reply_resubmit_and_approval_reach_the_lead(
    browser, live_server, request, page, cohort, school_a, lead_alice, staff_carol
):
    partnership = complete_partnership(cohort, school_a)
    application = submitted_application(partnership, lead_alice)
    detail = settings.PORTAL_BASE_URL.rstrip("/") + f"/grants/applications/{application.pk}/"
    journey = Journey(browser, live_server, request)
    carol = journey.attach(page, "carol")
    try:
        # Carol asks for changes with a comment.
        mail.outbox.clear()
        log_in(carol, "staff_carol")
        carol.goto(f"/grants/applications/{application.pk}/")
        carol.get_by_label("Changes needed").fill(COMMENT)
        carol.get_by_role("button", name="Request changes").click()
        expect(status_badge(carol)).to_have_text("Changes requested")

        [notice] = emails_to(lead_alice.email, "Changes requested")
        assert COMMENT in notice.body
        assert detail in notice.body
        assert f'href="{detail}"' in notice.alternatives[0][0]

        # Alice, on her phone, sees the count in the header badge and the notice.
        context = browser.new_context(base_url=live_server.url, viewport={"width": WIDTH, "height": 800})
        journey._contexts.append(context)
        alice = journey.attach(context.new_page(), "alice")
        alice.set_default_timeout(15_000)
        login(alice, "lead_alice")  # the "Log out" button log_in waits for is in the closed menu
        expect(alice.get_by_role("heading", name="My partnerships")).to_be_visible()
        unread = Notification.objects.filter(user=lead_alice, read_at__isnull=True).count()
        assert unread >= 2  # the receipt for her submission, the request for changes
        open_menu(alice)
        badge = alice.get_by_role("link", name=re.compile(r"^Notifications"))
        expect(badge).to_contain_text(f"{unread} unread")
        alice.shot("badge")
        badge.click()
        row = alice.get_by_role("row").filter(has_text="Changes requested")
        expect(row).to_contain_text(COMMENT)
        assert fits(alice)
        alice.shot("notifications")

        # She follows the notice to the application, opens a step and reads the comment there.
        row.get_by_role("link", name=re.compile("Changes requested")).click()
        alice.get_by_role("link", name="Edit the application").click()
        alice.get_by_role("link", name="3. Timeline").click()
        on_step = alice.get_by_role("region", name="Changes requested by programme staff")
        expect(on_step).to_contain_text(COMMENT)
        assert fits(alice)
        alice.shot("comment-on-step")
        timeline = alice.get_by_label("Timeline")
        timeline.press("End")
        timeline.press_sequentially(" Hosts: Seaview Primary (autumn), Seaview Academy (spring).")
        alice.get_by_role("button", name="Save and continue").click()

        # She answers the comment in the conversation.
        mail.outbox.clear()
        alice.goto(f"/grants/applications/{application.pk}/")
        alice.get_by_label("Message").fill(REPLY)
        alice.get_by_role("button", name="Send").click()
        alice.wait_for_url(f"**/grants/applications/{application.pk}/#conversation")
        expect(alice.locator("#conversation")).to_contain_text(REPLY)
        assert fits(alice)
        alice.shot("replied")
        [to_staff] = emails_to(staff_carol.email, "New message")
        assert REPLY in to_staff.body
        assert detail + "#conversation" in to_staff.body

        # And resubmits.
        alice.get_by_role("link", name="Edit the application").click()
        alice.get_by_role("link", name="6. Review and submit").click()
        alice.get_by_role("button", name="Resubmit the application").click()
        alice.get_by_role("button", name="Yes, resubmit").click()
        expect(status_badge(alice)).to_have_text("Submitted")

        # Carol sees the reply and approves.
        mail.outbox.clear()
        carol.goto(f"/grants/applications/{application.pk}/")
        expect(carol.locator("#conversation")).to_contain_text(REPLY)
        carol.get_by_role("button", name="Approve", exact=True).click()
        carol.get_by_role("button", name="Yes, approve").click()
        expect(status_badge(carol)).to_have_text("Approved")
        carol.shot("approved")

        # Alice sees the approval in the portal, and in the e-mail.
        alice.goto("/messaging/notifications/")
        expect(alice.get_by_role("row").filter(has_text="Approved:").first).to_be_visible()
        assert fits(alice)
        alice.shot("approval-notice")
        [approval] = emails_to(lead_alice.email, "Approved:")
        assert application.reference in approval.subject
        assert "Your application has been approved." in approval.body
        assert detail in approval.body
        assert f'href="{detail}award-letter/"' in approval.alternatives[0][0]  # the award letter (issue 19)
        assert Application.objects.get(pk=application.pk).status == Application.Status.APPROVED
        assert journey.problems == []
    finally:
        journey.close()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_staff_reword_the_approval_on_a_phone(
    browser, live_server, cohort, school_a, lead_alice, staff_carol
):
    partnership = complete_partnership(cohort, school_a)
    application = submitted_application(partnership, lead_alice)
    context = browser.new_context(base_url=live_server.url, viewport={"width": WIDTH, "height": 800})
    page = context.new_page()
    try:
        login(page, "staff_carol")
        page.goto(f"/grants/programmes/{cohort.programme_id}/emails/approved/")
        built_in = f"Approved: {application.reference} · {partnership.name}"
        expect(page.get_by_test_id("preview-subject")).to_have_text(built_in)
        assert fits(page)

        page.get_by_label("Subject").fill("Good news for $scool")
        page.get_by_role("button", name="Preview").click()
        expect(page.locator("#id_subject_error")).to_contain_text("Unknown placeholder $scool")
        assert not MessageTemplate.objects.exists()

        page.get_by_label("Subject").fill("Good news for $school")
        page.get_by_role("button", name="Preview").click()
        expect(page.get_by_test_id("preview-subject")).to_have_text(f"Good news for {school_a.name}")
        page.get_by_role("button", name="Save as a new version").click()
        expect(page.get_by_role("link", name="Version 1")).to_be_visible()
        assert fits(page)
        assert MessageTemplate.objects.get().subject == "Good news for $school"
    finally:
        context.close()
