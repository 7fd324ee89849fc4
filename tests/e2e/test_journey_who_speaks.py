"""Issue 13 in a real browser: Alice invites four partner schools by e-mail; each contact accepts
with a one-time code (no password). Two write from their school's own domain and count at once;
two write from public mail providers and wait until programme staff verify them. Then the
partnership has five schools and Alice submits the application. The new pages are looked at
375 px wide too (no horizontal scroll)."""

import re
from decimal import Decimal

import pytest
from django.core import mail
from django.core.cache import cache
from playwright.sync_api import expect

from grants import services as grant_services
from grants.models import Application
from partnerships import services
from partnerships.models import Membership
from tests import factories
from tests.e2e.journeys import APPLICATION_TEXT, Journey, link_for_email, log_in

PARTNERSHIP = "Fylde Coast Science"
# school, website in the register, contact's address, first name; the first two count at once.
PARTNERS = [
    ("Cedar Primary School", "https://www.cedar.lancs.sch.uk/", "head@cedar.lancs.sch.uk", "Cara"),
    ("Rowan Academy", "www.rowan-academy.org.uk", "science@rowan-academy.org.uk", "Ravi"),
    ("Oak Tree Primary", "https://www.oaktree.lancs.sch.uk/", "oaktree.stem@gmail.com", "Olu"),
    ("Elm Community College", "www.elmcollege.ac.uk", "elm.science.lead@outlook.com", "Ellen"),
]


def wide_enough(page) -> bool:
    """No horizontal scroll; otherwise say which elements stick out."""
    wider = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').slice(0, 40))"""
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), wider
    return True


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_four_partners_accept_by_code_two_wait_for_staff_and_the_application_submits(
    browser, live_server, request, cohort, lead_alice, school_a, staff_carol
):
    cache.clear()
    mail.outbox.clear()
    journey = Journey(browser, live_server, request)
    schools = {name: factories.SchoolFactory(name=name, website=site) for name, site, *_ in PARTNERS}
    partnership = services.partnership_create(
        cohort=cohort,
        lead_school=school_a,
        name=PARTNERSHIP,
        local_stem_issue="Few choose physics.",
        by=lead_alice,
    )
    application = grant_services.application_start(partnership_id=partnership.pk, by=lead_alice)
    grant_services.application_save_draft(
        application_id=application.pk,
        by=lead_alice,
        fields={**APPLICATION_TEXT, **dict.fromkeys(grant_services.DECLARATIONS, True)},
        budget_lines=[{"category": "supply_cover", "amount": Decimal("4800.00"), "note": "Cover"}],
    )

    try:
        # Alice finds each school in the register; nobody speaks for them on the portal yet, so
        # "Invite" leads straight to the e-mail invitation form.
        alice = journey.new_page("alice")
        log_in(alice, "lead_alice")
        for name, _site, email, _first in PARTNERS:
            alice.goto(f"/partnerships/{partnership.pk}/find-schools/?q={name.replace(' ', '+')}")
            alice.get_by_role("link", name=f"Invite by e-mail {name}", exact=True).click()
            alice.get_by_label("Partner contact's e-mail address").fill(email)
            alice.get_by_role("button", name="Send the invitation").click()
            expect(
                alice.get_by_role("alert").filter(has_text=f"Invitation for {name} sent to {email}")
            ).to_be_visible()
        alice.shot("four-invitations-sent")

        # Each contact opens the link, asks for a code, and answers with it: no password.
        for name, _site, email, first in PARTNERS:
            contact = journey.new_page(first.lower())
            contact.set_viewport_size({"width": 375, "height": 800})
            contact.goto(link_for_email(email))
            expect(contact.get_by_role("heading", name=f"Invitation to join {PARTNERSHIP}")).to_be_visible()
            assert wide_enough(contact)
            contact.get_by_role("button", name="E-mail me a code").click()
            expect(
                contact.get_by_role("heading", name="Answer with the code we e-mailed you")
            ).to_be_visible()
            code = re.search(r"\b(\d{6})\b", [m for m in mail.outbox if email in m.to][-1].subject).group(1)
            contact.get_by_label("The 6-digit code from the e-mail").fill(code)
            contact.get_by_label("First name").fill(first)
            contact.get_by_label("Last name").fill("Partner")
            contact.get_by_label("Your role at the school").fill("Science lead")
            assert wide_enough(contact)
            contact.shot("code")
            contact.get_by_role("button", name=f"Confirm that {name} joins").click()
            if email.endswith(("@gmail.com", "@outlook.com")):
                expect(
                    contact.get_by_role("alert").filter(has_text="It counts once programme staff")
                ).to_be_visible()
                expect(contact.locator(f"#verification-banner-{schools[name].pk}")).to_contain_text(
                    "usually within two working days"
                )
                assert wide_enough(contact)
            else:
                expect(contact.get_by_role("alert").filter(has_text=f"{name} has joined")).to_be_visible()
            contact.shot("answered")

        # Two count already (the lead school and the two on their own domains); two wait.
        alice.goto(f"/partnerships/{partnership.pk}/")
        expect(alice.locator("#schools-count")).to_contain_text("3 of 5")
        assert Membership.objects.filter(partnership=partnership, status="accepted").count() == 2
        alice.shot("two-waiting")

        # Carol (programme staff, with her second factor) verifies the two public-provider contacts.
        carol = journey.new_page("carol")
        log_in(carol, "staff_carol")
        carol.goto("/partnerships/staff/lead-requests/")
        expect(carol.get_by_text("Accepted an e-mail invitation").first).to_be_visible()
        carol.shot("lead-requests")
        for name, _site, _email, first in PARTNERS[2:]:
            carol.get_by_role("button", name=f"Approve {first} Partner at {name}").click()
            expect(carol.get_by_role("alert").filter(has_text=f"Approved: {first} Partner")).to_be_visible()

        # Five schools: Alice submits.
        alice.goto(f"/partnerships/{partnership.pk}/")
        expect(alice.locator("#schools-count")).to_contain_text("5 of 5")
        alice.goto(f"/grants/applications/{application.pk}/review/")
        alice.get_by_role("button", name="Submit the application").click()
        alice.get_by_role("button", name="Yes, submit").click()
        expect(alice.get_by_role("alert").filter(has_text="Application submitted")).to_be_visible()
        alice.shot("submitted")

        assert Application.objects.get(pk=application.pk).status == Application.Status.SUBMITTED
        assert Membership.objects.filter(partnership=partnership, status="confirmed").count() == 5
        assert not journey.problems, journey.problems
    finally:
        journey.close()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_the_new_pages_fit_a_phone(browser, live_server, request, cohort, lead_alice, school_a, staff_carol):
    """375 px wide: the invitation, code, set-password, lead-requests and two-factor pages."""
    from partnerships.invitations import invitation_token
    from partnerships.models import LeadVerificationRequest, SchoolLead

    cache.clear()
    journey = Journey(browser, live_server, request)
    cedar = factories.SchoolFactory(name="Cedar Primary School", website="www.cedar.lancs.sch.uk")
    partnership = factories.PartnershipFactory(cohort=cohort, lead_school=school_a, name=PARTNERSHIP)
    invitation = factories.EmailInvitationFactory(
        partnership=partnership, school=cedar, email="cedar.head.teacher@gmail.com", invited_by=lead_alice
    )
    waiting = factories.LeadFactory(
        first_name="Olu", last_name="Partner", email="cedar.head.teacher@gmail.com"
    )
    SchoolLead.objects.create(user=waiting, school=cedar)
    LeadVerificationRequest.objects.create(
        user=waiting, school=cedar, source="invitation", invitation=invitation
    )
    newcomer = factories.StaffFactory(username="staff_new", otp_device=False)
    token = invitation_token(invitation)
    try:
        visitor = journey.new_page("visitor")
        visitor.set_viewport_size({"width": 375, "height": 800})
        for path in [f"/partnerships/join/{token}/", f"/partnerships/join/{token}/code/answer/"]:
            visitor.goto(path)
            visitor.shot(path.strip("/").split("/")[-1])
            assert wide_enough(visitor)
        carol = journey.new_page("carol")
        log_in(carol, "staff_carol")  # on a wide screen (the log-out button is in the menu on a phone)
        carol.set_viewport_size({"width": 375, "height": 800})
        carol.goto("/partnerships/staff/lead-requests/")
        expect(carol.get_by_label("Also trust @gmail.com for Cedar Primary School")).to_have_count(0)
        carol.shot("lead-requests")
        assert wide_enough(carol)
        carol.goto("/account/two-factor/recovery-codes/")
        assert wide_enough(carol)
        new = journey.new_page("newcomer")
        new.set_viewport_size({"width": 375, "height": 800})
        new.goto("/accounts/login/")
        new.get_by_label("Username").fill(newcomer.username)
        new.get_by_label("Password").fill(factories.PASSWORD)
        new.get_by_role("button", name="Log in").click()
        expect(new.get_by_role("heading", name="Set up your sign-in codes")).to_be_visible()
        new.shot("two-factor-setup")
        assert wide_enough(new)
        assert not journey.problems, journey.problems
    finally:
        journey.close()
