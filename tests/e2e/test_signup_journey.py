"""The onboarding journey in a real browser: a head of science at a school the portal has never
heard of signs up, confirms her address from the e-mail, is verified by programme staff, starts a
partnership and invites four partner schools by e-mail; each partner's contact follows the link,
signs up and confirms, and the partnership reaches five confirmed schools."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from playwright.sync_api import expect

from partnerships.models import EmailInvitation, Membership, Partnership, SchoolLead
from tests import factories
from tests.conftest import RESULTS, login

PASSWORD = "Kestrel-orbit-7-lantern"
LEAD_EMAIL = "rosa.lind@harbour.sch.uk"
PARTNERSHIP = "Harbour Coast Science"
# Each partner's contact writes from the school's own domain (its website in the register), so
# their acceptance counts at once (issue 13); tests/e2e/test_journey_who_speaks.py has the others.
PARTNERS = [
    ("Harbour Church of England Primary", "dan.moss@harbource.lancs.sch.uk", "Dan", "Moss"),
    ("Harbour Academy", "priya.shah@harbouracademy.org.uk", "Priya", "Shah"),
    ("Harbour Community College", "tom.ellis@hcc.ac.uk", "Tom", "Ellis"),
    ("Harbour Infant School", "amy.ward@harbourinfants.lancs.sch.uk", "Amy", "Ward"),
]


def link_for(address: str) -> str:
    """The portal path in the newest e-mail to `address` (the locmem outbox: the live server
    runs in this process)."""
    messages = [m for m in mail.outbox if address in m.to]
    assert messages, f"no e-mail to {address}"
    base = re.escape(settings.PORTAL_BASE_URL.rstrip("/"))
    return re.findall(base + r"(/\S+)", messages[-1].body)[0]


def person(browser, live_server, request, who: str):
    """Another person: their own browser context (cookies), with numbered screenshots."""
    context = browser.new_context(base_url=live_server.url)
    other = context.new_page()
    other.set_default_timeout(15_000)
    folder = RESULTS / request.node.name
    counter = iter(range(1, 1000))

    def shot(name: str):
        folder.mkdir(parents=True, exist_ok=True)
        other.screenshot(path=str(folder / f"{who}-{next(counter):02d}-{name}.png"), full_page=True)

    other.shot = shot
    return other


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_new_lead_signs_up_is_verified_and_gathers_five_schools_by_email(
    page, browser, live_server, request, cohort, staff_carol
):
    cache.clear()
    mail.outbox.clear()
    harbour = factories.SchoolFactory(name="Harbour Primary School", urn=150001, postcode="FY8 1AA")
    partner_schools = {
        name: factories.SchoolFactory(name=name, website=f"https://www.{email.split('@')[1]}/")
        for name, email, *_ in PARTNERS
    }

    # Rosa signs up: finds her school in the register, gives her details.
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Sign up").click()
    expect(page.get_by_role("heading", name="Sign up as a school lead")).to_be_visible()
    page.get_by_label("School name, URN or postcode").fill("150001")
    page.get_by_role("button", name="Search the register").click()
    page.get_by_role("link", name="Choose Harbour Primary School").click()
    expect(page.locator("#chosen-school")).to_contain_text("Harbour Primary School")
    page.get_by_label("First name").fill("Rosa")
    page.get_by_label("Last name").fill("Lind")
    page.get_by_label("Work e-mail address").fill(LEAD_EMAIL)
    page.get_by_label("Your role at the school").fill("Head of science")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.shot("signup-form")
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    page.shot("check-your-email")

    # She confirms her address from the e-mail.
    page.goto(link_for(LEAD_EMAIL))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm my e-mail address").click()
    expect(page.get_by_role("heading", name="My partnerships")).to_be_visible()
    expect(page.locator(f"#verification-banner-{harbour.pk}")).to_contain_text("Waiting for programme staff")
    page.shot("waiting-for-verification")

    # Carol (programme staff) confirms that Rosa works at Harbour Primary.
    carol = person(browser, live_server, request, "carol")
    login(carol, "staff_carol")
    carol.goto("/partnerships/staff/lead-requests/")
    carol.shot("lead-requests")
    carol.get_by_role("button", name="Approve Rosa Lind at Harbour Primary School").click()
    expect(carol.get_by_role("alert").filter(has_text="Approved: Rosa Lind")).to_be_visible()
    carol.context.close()
    assert "You are verified as a lead of Harbour Primary School" in mail.outbox[-1].subject

    # Rosa, now verified, starts a partnership.
    page.reload()
    expect(page.locator(f"#verification-banner-{harbour.pk}")).to_have_count(0)
    page.get_by_role("link", name="Start a partnership").click()
    page.get_by_label("Programme and cohort").select_option(label=str(cohort))
    page.get_by_label("Partnership name").fill(PARTNERSHIP)
    page.get_by_label("Local STEM issue to address").fill("Few pupils on the coast choose science after 16.")
    page.get_by_role("button", name="Start the partnership").click()
    expect(page.get_by_role("heading", name=PARTNERSHIP, level=1)).to_be_visible()

    # She invites four partner schools by e-mail.
    for name, email, *_ in PARTNERS:
        page.get_by_role("link", name="Invite a partner by e-mail").click()
        page.get_by_label("School name, URN or postcode").fill(name)
        page.get_by_role("button", name="Search the register").click()
        page.get_by_role("link", name=f"Invite by e-mail {name}", exact=True).click()
        page.get_by_label("Partner contact's e-mail address").fill(email)
        page.get_by_role("button", name="Send the invitation").click()
        expect(
            page.get_by_role("alert").filter(has_text=f"Invitation for {name} sent to {email}")
        ).to_be_visible()
    invitations = page.locator("#email-invitations")
    expect(invitations.locator("tbody tr").filter(has_text="Sent")).to_have_count(4)
    page.shot("four-invitations-sent")

    # Each partner's contact follows the link, signs up and confirms.
    for name, email, first, last in PARTNERS:
        partner = person(browser, live_server, request, first.lower())
        partner.goto(link_for(email))
        expect(partner.get_by_role("heading", name=f"Invitation to join {PARTNERSHIP}")).to_be_visible()
        partner.get_by_role("link", name="Create an account").click()
        partner.get_by_label("First name").fill(first)
        partner.get_by_label("Last name").fill(last)
        partner.get_by_label("Your role at the school").fill("STEM co-ordinator")
        partner.locator("#id_password1").fill(PASSWORD)
        partner.locator("#id_password2").fill(PASSWORD)
        partner.get_by_role("button", name="Create my account").click()
        partner.get_by_role("button", name=f"Confirm that {name} joins").click()
        expect(partner.get_by_role("alert").filter(has_text=f"{name} has joined")).to_be_visible()
        partner.shot("confirmed")
        partner.context.close()

    # Rosa sees five confirmed schools and the four invitations accepted.
    page.reload()
    expect(page.locator("#schools-count")).to_contain_text("5 of 5")
    expect(page.locator("#schools-count")).to_contain_text("Enough schools to apply")
    expect(invitations.locator("tbody tr").filter(has_text="Accepted")).to_have_count(4)
    page.shot("five-confirmed-schools")

    partnership = Partnership.objects.get(name=PARTNERSHIP)
    confirmed = Membership.objects.filter(partnership=partnership, status=Membership.Status.CONFIRMED)
    assert sorted(confirmed.values_list("school__name", flat=True)) == sorted(
        ["Harbour Primary School", *partner_schools]
    )
    assert set(EmailInvitation.objects.values_list("status", flat=True)) == {"accepted"}
    for name, email, *_ in PARTNERS:
        link = SchoolLead.objects.get(user__email=email)
        assert (link.school, link.verified_at is not None) == (partner_schools[name], True)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_the_onboarding_pages_have_no_serious_accessibility_violations(
    browser, live_server, cohort, lead_alice, staff_carol, school_a, school_b
):
    from messaging.models import Notification
    from partnerships.invitations import invitation_token
    from partnerships.models import LeadVerificationRequest
    from partnerships.onboarding import verification_token
    from tests.e2e.axe import serious_violations

    cache.clear()
    partnership = factories.PartnershipFactory(cohort=cohort, lead_school=school_a, name=PARTNERSHIP)
    invitation = factories.EmailInvitationFactory(
        partnership=partnership, school=school_b, invited_by=lead_alice
    )
    pending = factories.pending_lead(school_b)
    waiting = factories.LeadFactory(first_name="Nia", last_name="Okafor")
    SchoolLead.objects.create(user=waiting, school=school_b)
    LeadVerificationRequest.objects.create(user=waiting, school=school_b, role_at_school="Head of science")
    Notification.objects.create(user=lead_alice, kind="test", title="Applications close in 7 days", url="/")
    token = invitation_token(invitation)
    pages = {
        None: [
            "/partnerships/signup/?q=Alder",
            f"/partnerships/signup/?school={school_a.pk}",
            "/partnerships/signup/check-your-email/",
            f"/partnerships/signup/confirm/{verification_token(pending)}/",
            f"/partnerships/join/{token}/",
            f"/partnerships/join/{token}/sign-up/",
            "/partnerships/join/not-a-token/",
        ],
        "lead_alice": [
            f"/partnerships/{partnership.pk}/",
            f"/partnerships/{partnership.pk}/invite-by-email/?q=Beech",
            f"/partnerships/{partnership.pk}/invite-by-email/?school={school_b.pk}",
            "/messaging/notifications/",
            "/partnerships/my-data/",
        ],
        "staff_carol": ["/partnerships/staff/lead-requests/"],
    }
    found = []
    for username, paths in pages.items():
        context = browser.new_context(base_url=live_server.url, bypass_csp=True)
        axe_page = context.new_page()
        axe_page.set_default_timeout(15_000)
        if username:
            login(axe_page, username)
            axe_page.wait_for_load_state()
        for path in paths:
            axe_page.goto(path)
            found += [f"{path}: {v}" for v in serious_violations(axe_page)]
        if username is None:  # a refused sign-up: the error summary
            axe_page.goto(f"/partnerships/signup/?school={school_a.pk}")
            axe_page.get_by_role("button", name="Create my account").click()
            expect(axe_page.get_by_text("There is a problem")).to_be_visible()
            found += [f"sign-up errors: {v}" for v in serious_violations(axe_page)]
        context.close()

    assert found == []
