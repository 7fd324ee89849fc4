"""Issue 13: a partnership is five schools that really agreed. Only programme staff or the
school's own mail domain vouch for a person; an invitation is a request, never a credential."""

import re

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse

from grants import services as grant_services
from grants.models import Application, AuditEvent
from partnerships import invitations, onboarding, services, trust
from partnerships.eligibility import shortfall
from partnerships.models import (
    EmailInvitation,
    InvitationCode,
    LeadVerificationRequest,
    Membership,
    Partnership,
    SchoolLead,
    TrustEvent,
    VerifiedDomain,
)
from tests import factories

CODE_IN = re.compile(r"\b(\d{6})\b")


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def partnership(cohort, school_a, lead_alice):
    """Alice's partnership with three confirmed partners: one more school makes five."""
    return factories.PartnershipFactory(cohort=cohort, lead_school=school_a, name="Fylde STEM", partners=3)


@pytest.fixture
def cedar(db):
    return factories.SchoolFactory(
        name="Cedar Primary", urn=140001, website="https://www.cedar.lancs.sch.uk/"
    )


def link_in(message) -> str:
    return re.findall(re.escape(settings.PORTAL_BASE_URL.rstrip("/")) + r"(/\S+)", message.body)[0]


def token_of(path: str) -> str:
    return path.strip("/").split("/")[2]


@pytest.fixture
def invite(partnership, lead_alice, django_capture_on_commit_callbacks):
    """Alice invites `school` at `email`; returns the invitation and its link's token."""

    def invite(school, email):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            invitation = invitations.invitation_send(
                partnership=partnership, school=school, email=email, by=lead_alice
            )
        return invitation, token_of(link_in(mail.outbox[-1]))

    return invite


def accept_by_code(client, commit, token, *, name="Sam", answer="confirm"):
    """Over HTTP: ask for a code, read it from the e-mail, answer with it."""
    mail.outbox.clear()
    with commit(execute=True):
        sent = client.post(reverse("partnerships:invitation_code_send", args=[token]))
    assert sent.status_code == 302, sent
    code = CODE_IN.search(mail.outbox[-1].subject).group(1)
    with commit(execute=True):
        return client.post(
            reverse("partnerships:invitation_code_answer", args=[token]),
            {
                "code": code,
                "first_name": name,
                "last_name": "Reid",
                "role_at_school": "Teacher",
                "answer": answer,
            },
        )


# --- An invitation never vouches -------------------------------------------------------------


def test_a_lead_who_invites_their_own_address_for_another_school_is_not_verified_and_it_does_not_count(
    client, invite, partnership, cedar, lead_alice, django_capture_on_commit_callbacks
):
    cedar.website = ""
    cedar.save()
    _, token = invite(cedar, "alice.second.mailbox@gmail.com")

    response = accept_by_code(client, django_capture_on_commit_callbacks, token)

    attacker = User.objects.get(email="alice.second.mailbox@gmail.com")
    assert response.status_code == 302
    assert SchoolLead.objects.get(user=attacker, school=cedar).verified_at is None
    assert Membership.objects.get(partnership=partnership, school=cedar).status == Membership.Status.ACCEPTED
    assert shortfall(partnership) == 1  # four confirmed: Cedar does not count
    assert LeadVerificationRequest.objects.filter(user=attacker, school=cedar, status="pending").exists()


def test_answering_while_logged_in_as_the_invited_address_does_not_verify_either(
    client, invite, partnership, cedar, lead_alice
):
    cedar.website = ""
    cedar.save()
    lead_alice.email = "alice@alder.lancs.sch.uk"
    lead_alice.save()
    _, token = invite(cedar, "alice@alder.lancs.sch.uk")  # Alice's own address, for another school
    client.force_login(lead_alice)

    client.post(reverse("partnerships:invitation_answer", args=[token]), {"answer": "confirm"})

    assert SchoolLead.objects.get(user=lead_alice, school=cedar).verified_at is None
    assert Membership.objects.get(school=cedar).status == Membership.Status.ACCEPTED
    assert shortfall(partnership) == 1


def test_an_accepted_but_unverified_contact_cannot_see_the_partnership_or_its_application(
    client, invite, partnership, cedar, django_capture_on_commit_callbacks
):
    application = factories.ApplicationFactory(partnership=partnership)
    _, token = invite(cedar, "sam@gmail.com")
    accept_by_code(client, django_capture_on_commit_callbacks, token)

    detail = client.get(reverse("partnerships:partnership_detail", args=[partnership.pk]))
    grant = client.get(reverse("grants:application_detail", args=[application.pk]))
    home = client.get(reverse("partnerships:lead_home"))

    assert (detail.status_code, grant.status_code) == (404, 404)
    assert "Waiting for programme staff to confirm that you work at Cedar Primary" in home.text
    assert "usually within two working days" in home.text
    assert "“Fylde STEM”" in home.text  # their acceptance is shown as recorded


# --- Accepting by one-time code ----------------------------------------------------------------


def test_accepting_by_code_works_without_a_password_and_counts_only_after_staff_verify(
    client, invite, partnership, cedar, staff_carol, django_capture_on_commit_callbacks
):
    _, token = invite(cedar, "sam.reid@gmail.com")

    response = accept_by_code(client, django_capture_on_commit_callbacks, token)

    user = User.objects.get(email="sam.reid@gmail.com")
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == user.pk  # signed in by the code
    assert not user.has_usable_password()
    assert shortfall(partnership) == 1
    request = LeadVerificationRequest.objects.get(user=user, status="pending")
    assert (request.source, request.invitation.school) == ("invitation", cedar)

    staff = client.__class__()
    staff.force_login(staff_carol)
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(reverse("partnerships:verification_decide", args=[request.pk]), {"decision": "approve"})

    assert Membership.objects.get(school=cedar).status == Membership.Status.CONFIRMED
    assert shortfall(partnership) == 0
    assert TrustEvent.objects.filter(action="verified_by_staff", subject=user, school=cedar).exists()
    assert TrustEvent.objects.filter(action="membership_confirmed", partnership=partnership).exists()


def test_a_code_on_the_schools_own_website_domain_counts_at_once(
    client, invite, partnership, cedar, django_capture_on_commit_callbacks
):
    _, token = invite(cedar, "head@cedar.lancs.sch.uk")

    accept_by_code(client, django_capture_on_commit_callbacks, token)

    assert Membership.objects.get(school=cedar).status == Membership.Status.CONFIRMED
    assert shortfall(partnership) == 0
    assert not LeadVerificationRequest.objects.exists()
    assert TrustEvent.objects.get(action="verified_by_domain").school == cedar


def test_a_person_may_set_a_password_later(client, invite, cedar, django_capture_on_commit_callbacks):
    _, token = invite(cedar, "head@cedar.lancs.sch.uk")
    accept_by_code(client, django_capture_on_commit_callbacks, token)

    response = client.post(
        reverse("partnerships:password_set"),
        {"new_password1": "Kestrel-orbit-7-lantern", "new_password2": "Kestrel-orbit-7-lantern"},
    )

    assert response.status_code == 302
    assert User.objects.get(email="head@cedar.lancs.sch.uk").check_password("Kestrel-orbit-7-lantern")


def test_codes_are_hashed_expire_are_single_use_and_five_wrong_tries_use_one_up(
    client, invite, cedar, django_capture_on_commit_callbacks
):
    _, token = invite(cedar, "sam@gmail.com")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("partnerships:invitation_code_send", args=[token]))
    code = CODE_IN.search(mail.outbox[-1].subject).group(1)
    record = InvitationCode.objects.get()
    assert code not in record.code_hash
    url = reverse("partnerships:invitation_code_answer", args=[token])
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    tries = [client.post(url, {"code": wrong, "first_name": "Sam", "answer": "confirm"}) for _ in range(5)]
    after = client.post(url, {"code": code, "first_name": "Sam", "answer": "confirm"})

    assert [r.status_code for r in tries] == [400] * 5
    assert "4 more tries" in tries[0].text
    assert after.status_code == 400
    assert "expired or been used up" in after.text
    assert not User.objects.filter(email="sam@gmail.com").exists()


def test_an_expired_code_is_refused(client, invite, cedar, django_capture_on_commit_callbacks):
    _, token = invite(cedar, "sam@gmail.com")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("partnerships:invitation_code_send", args=[token]))
    code = CODE_IN.search(mail.outbox[-1].subject).group(1)
    now = factories.timezone.now()
    InvitationCode.objects.update(
        created_at=now - invitations.timedelta(minutes=20), expires_at=now - invitations.timedelta(minutes=5)
    )

    response = client.post(
        reverse("partnerships:invitation_code_answer", args=[token]),
        {"code": code, "first_name": "Sam", "answer": "confirm"},
    )

    assert response.status_code == 400
    assert Membership.objects.get(school=cedar).status == Membership.Status.INVITED


def test_a_used_code_cannot_answer_again(client, invite, cedar, django_capture_on_commit_callbacks):
    _, token = invite(cedar, "sam@gmail.com")
    accept_by_code(client, django_capture_on_commit_callbacks, token)
    client.logout()

    again = client.post(
        reverse("partnerships:invitation_code_answer", args=[token]),
        {"code": "000000", "first_name": "Eve", "answer": "decline"},
    )

    assert again.status_code == 410  # the invitation is answered: the link changes nothing
    assert Membership.objects.get(school=cedar).status == Membership.Status.ACCEPTED


def test_asking_for_codes_is_rate_limited(client, invite, cedar, django_capture_on_commit_callbacks):
    _, token = invite(cedar, "sam@gmail.com")
    url = reverse("partnerships:invitation_code_send", args=[token])

    with django_capture_on_commit_callbacks(execute=True):
        statuses = [client.post(url).status_code for _ in range(11)]

    assert statuses[:10] == [302] * 10
    assert statuses[10] == 429


def test_an_address_with_a_password_account_must_log_in_not_use_a_code(client, invite, cedar):
    factories.LeadFactory(username="sam@gmail.com", email="sam@gmail.com")
    _, token = invite(cedar, "sam@gmail.com")

    response = client.post(reverse("partnerships:invitation_code_send", args=[token]))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert not InvitationCode.objects.exists()


# --- Which domains vouch -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("website", "email", "vouches"),
    [
        ("https://www.cedar.lancs.sch.uk/", "head@cedar.lancs.sch.uk", "website"),
        ("www.cedar-primary.org.uk", "office@cedar-primary.org.uk", "website"),
        ("www.cedar-primary.org.uk", "office@staff.cedar-primary.org.uk", "website"),
        ("www.cedar-primary.org.uk", "office@cedar-primary.co.uk", ""),
        ("https://cedar.wordpress.com", "someone@wordpress.com", ""),  # a platform's subdomain
        ("https://sites.google.com/view/cedar", "x@google.com", ""),
        ("https://www.gmail.com", "anyone@gmail.com", ""),  # a public provider never vouches
        ("", "head@cedar.lancs.sch.uk", ""),
    ],
)
def test_only_the_schools_own_website_domain_vouches(db, website, email, vouches):
    school = factories.SchoolFactory(website=website)

    assert trust.domain_vouches_for(email, school) == vouches


def test_a_website_domain_shared_by_two_schools_vouches_for_neither(db):
    one = factories.SchoolFactory(website="https://www.fylde-trust.org.uk/cedar")
    factories.SchoolFactory(website="https://www.fylde-trust.org.uk/rowan")

    assert trust.domain_vouches_for("head@fylde-trust.org.uk", one) == ""


@pytest.mark.parametrize(
    "domain", ["gmail.com", "outlook.com", "yahoo.co.uk", "btinternet.com", "mailinator.com"]
)
def test_public_and_disposable_providers_come_from_the_packaged_lists(domain):
    assert trust.public_provider_reason(domain)


def test_a_public_provider_address_never_auto_verifies_even_after_staff_approve_one(
    client, cedar, staff_carol, django_capture_on_commit_callbacks
):
    first = factories.pending_lead(cedar, email="cedar.head@gmail.com")
    SchoolLead.objects.filter(user=first).update(verified_at=None)
    request = LeadVerificationRequest.objects.create(user=first, school=cedar)
    client.force_login(staff_carol)

    refused = client.post(
        reverse("partnerships:verification_decide", args=[request.pk]),
        {"decision": "approve", "trust_domain": "on"},
    )
    request.refresh_from_db()
    assert request.status == "pending"  # trusting gmail.com is refused, nothing changed
    assert refused.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("partnerships:verification_decide", args=[request.pk]), {"decision": "approve"})
    second = factories.LeadFactory(username="cedar.deputy@gmail.com", email="cedar.deputy@gmail.com")
    link = SchoolLead.objects.create(user=second, school=cedar)
    with django_capture_on_commit_callbacks(execute=True):
        onboarding._verify_or_ask(link, now=factories.timezone.now())

    assert SchoolLead.objects.get(user=first).verified_at is not None
    assert not VerifiedDomain.objects.exists()
    link.refresh_from_db()
    assert link.verified_at is None
    assert LeadVerificationRequest.objects.filter(user=second, status="pending").exists()


def test_staff_trusting_the_schools_domain_verifies_later_colleagues_at_once(cedar, staff_carol):
    cedar.website = ""
    cedar.save()
    first = factories.LeadFactory(username="head@cedar-primary.org.uk", email="head@cedar-primary.org.uk")
    SchoolLead.objects.create(user=first, school=cedar)
    request = LeadVerificationRequest.objects.create(user=first, school=cedar)

    onboarding.verification_decide(request_id=request.pk, approve=True, by=staff_carol, trust_domain=True)
    colleague = factories.LeadFactory(
        username="deputy@cedar-primary.org.uk", email="deputy@cedar-primary.org.uk"
    )
    verified = onboarding._verify_or_ask(
        SchoolLead.objects.create(user=colleague, school=cedar), now=factories.timezone.now()
    )

    assert verified is True
    assert VerifiedDomain.objects.get(school=cedar).verified_by == staff_carol
    assert TrustEvent.objects.filter(action="domain_trusted", school=cedar).exists()


@pytest.mark.parametrize("domain", ["gmail.com", "mailinator.com", "sch.uk"])
def test_a_public_disposable_or_bare_suffix_domain_cannot_be_trusted(cedar, staff_carol, domain):
    with pytest.raises(ValidationError):
        onboarding.verified_domain_add(school=cedar, domain=domain, by=staff_carol)
    with pytest.raises(ValidationError):
        VerifiedDomain(school=cedar, domain=domain).full_clean()


# --- Unverified claims open nothing ----------------------------------------------------------


def test_an_unverified_claimant_gets_no_email_about_the_schools_application(
    partnership, lead_alice, school_a, staff_carol, django_capture_on_commit_callbacks
):
    claimant = factories.LeadFactory(username="claims.alder@gmail.com", email="claims.alder@gmail.com")
    SchoolLead.objects.create(user=claimant, school=school_a)
    factories.MembershipFactory(partnership=partnership)  # five confirmed
    application = factories.ApplicationFactory(partnership=partnership, status=Application.Status.SUBMITTED)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        grant_services.application_request_changes(
            application_id=application.pk, by=staff_carol, comment="Say more about the CPD."
        )

    recipients = {address for message in mail.outbox for address in message.to}
    assert lead_alice.email in recipients
    assert claimant.email not in recipients


def test_an_invitation_notice_goes_only_to_the_invited_schools_verified_contacts(
    partnership, lead_alice, django_capture_on_commit_callbacks
):
    school = factories.SchoolFactory()
    verified = factories.LeadFactory(email="head@rowan.lancs.sch.uk")
    factories.link_lead(verified, school)
    claimant = factories.LeadFactory(email="rowan.claim@gmail.com")
    SchoolLead.objects.create(user=claimant, school=school)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.membership_invite(partnership=partnership, school=school, by=lead_alice)

    assert [m.to for m in mail.outbox] == [[verified.email]]


def test_an_unverified_claimant_cannot_read_the_schools_application(client, partnership, school_a):
    application = factories.ApplicationFactory(partnership=partnership)
    claimant = factories.LeadFactory()
    SchoolLead.objects.create(user=claimant, school=school_a)
    client.force_login(claimant)

    assert client.get(reverse("grants:application_detail", args=[application.pk])).status_code == 404
    assert client.get(reverse("partnerships:partnership_detail", args=[partnership.pk])).status_code == 404
    with pytest.raises(Exception, match="Only a lead"):
        grant_services.application_save_draft(
            application_id=application.pk, by=claimant, fields={"aims": "x"}
        )


def test_a_partnership_started_by_an_unverified_lead_does_not_hold_the_schools_place(
    cohort, school_b, lead_bob
):
    claimant = factories.LeadFactory()
    SchoolLead.objects.create(user=claimant, school=school_b)

    first = services.partnership_create(
        cohort=cohort, lead_school=school_b, name="Claimed", local_stem_issue="Physics.", by=claimant
    )
    second = services.partnership_create(
        cohort=cohort, lead_school=school_b, name="Real", local_stem_issue="Maths.", by=lead_bob
    )

    assert first.memberships.get().status == Membership.Status.ACCEPTED
    assert second.memberships.get().status == Membership.Status.CONFIRMED
    assert shortfall(first) == 5  # the unverified lead's own school does not count


def test_rejecting_a_claim_withdraws_what_it_made(
    client, cohort, school_b, partnership, invite, staff_carol, django_capture_on_commit_callbacks
):
    claimant = factories.LeadFactory(username="claims.beech@gmail.com", email="claims.beech@gmail.com")
    SchoolLead.objects.create(user=claimant, school=school_b)
    claimed = services.partnership_create(
        cohort=cohort, lead_school=school_b, name="Claimed", local_stem_issue="Physics.", by=claimant
    )
    draft = grant_services.application_start(partnership_id=claimed.pk, by=claimant)
    # The same person also accepted an invitation for Beech into Alice's partnership.
    invitation, token = invite(school_b, "claims.beech@gmail.com")
    client.force_login(claimant)
    client.post(reverse("partnerships:invitation_answer", args=[token]), {"answer": "confirm"})
    request = LeadVerificationRequest.objects.get(user=claimant, school=school_b, status="pending")
    staff = client.__class__()
    staff.force_login(staff_carol)

    with django_capture_on_commit_callbacks(execute=True):
        staff.post(
            reverse("partnerships:verification_decide", args=[request.pk]),
            {"decision": "reject", "reason": "Not on the staff list."},
        )

    claimed.refresh_from_db()
    draft.refresh_from_db()
    invitation.refresh_from_db()
    assert claimed.status == Partnership.Status.WITHDRAWN
    assert draft.status == Application.Status.WITHDRAWN
    assert AuditEvent.objects.filter(application=draft, action="withdrawn_claim_rejected").exists()
    assert not Membership.objects.filter(partnership=partnership, school=school_b).exists()
    assert invitation.status == EmailInvitation.Status.WITHDRAWN
    actions = set(TrustEvent.objects.filter(subject=claimant).values_list("action", flat=True))
    assert {"claim_rejected", "partnership_withdrawn", "acceptance_withdrawn"} <= actions
    assert not SchoolLead.objects.filter(user=claimant).exists()
    assert any("is no longer in Fylde STEM" in m.subject for m in mail.outbox)  # Alice is told


def test_verification_confirms_an_unverified_leads_own_partnership(cohort, school_b, staff_carol):
    lead = factories.LeadFactory(email="new.head@gmail.com")
    SchoolLead.objects.create(user=lead, school=school_b)
    started = services.partnership_create(
        cohort=cohort, lead_school=school_b, name="Mine", local_stem_issue="Physics.", by=lead
    )
    request = LeadVerificationRequest.objects.create(user=lead, school=school_b)

    onboarding.verification_decide(request_id=request.pk, approve=True, by=staff_carol)

    assert started.memberships.get().status == Membership.Status.CONFIRMED


def test_an_acceptance_lapses_when_the_school_joined_another_partnership_meanwhile(
    client, invite, partnership, cedar, cohort, staff_carol, django_capture_on_commit_callbacks
):
    cedar.website = ""
    cedar.save()
    _, token = invite(cedar, "sam@gmail.com")
    accept_by_code(client, django_capture_on_commit_callbacks, token)
    other = factories.PartnershipFactory(cohort=cohort)
    factories.MembershipFactory(partnership=other, school=cedar)  # Cedar's verified lead said yes there
    request = LeadVerificationRequest.objects.get(status="pending")

    onboarding.verification_decide(request_id=request.pk, approve=True, by=staff_carol)

    assert Membership.objects.get(partnership=partnership, school=cedar).status == Membership.Status.DECLINED
    assert TrustEvent.objects.filter(action="membership_lapsed", partnership=partnership).exists()


# --- The minimum holds in every state ----------------------------------------------------------


def five_confirmed(partnership):
    factories.MembershipFactory(partnership=partnership)
    return partnership.memberships.filter(role=Membership.Role.PARTNER).first()


@pytest.mark.parametrize("status", [Application.Status.SUBMITTED, Application.Status.APPROVED])
def test_removing_a_member_below_the_minimum_after_submission_is_refused_with_the_reason(
    client, partnership, lead_alice, status
):
    member = five_confirmed(partnership)
    factories.ApplicationFactory(partnership=partnership, status=status, awarded="100.00", requested="100.00")
    client.force_login(lead_alice)

    response = client.post(reverse("partnerships:membership_remove", args=[member.pk]), follow=True)

    assert Membership.objects.filter(pk=member.pk).exists()
    assert "fewer than the 5 the programme needs" in response.text


def test_removing_a_member_of_a_draft_or_with_a_sixth_school_is_allowed(partnership, lead_alice):
    member = five_confirmed(partnership)
    application = factories.ApplicationFactory(partnership=partnership)
    services.membership_remove(membership=member, by=lead_alice)  # a draft: allowed

    application.status = Application.Status.SUBMITTED
    application.save()
    factories.MembershipFactory(partnership=partnership)
    factories.MembershipFactory(partnership=partnership)  # six confirmed
    services.membership_remove(
        membership=partnership.memberships.filter(role="partner").first(), by=lead_alice
    )

    assert partnership.memberships.filter(status="confirmed").count() == 5


def test_a_completed_grants_partnership_is_read_only(partnership, lead_alice):
    member = five_confirmed(partnership)
    factories.ApplicationFactory(
        partnership=partnership, status=Application.Status.COMPLETED, awarded="100.00", requested="100.00"
    )

    with pytest.raises(ValidationError, match="completed"):
        services.membership_remove(membership=member, by=lead_alice)
    with pytest.raises(ValidationError, match="completed"):
        services.membership_invite(partnership=partnership, school=factories.SchoolFactory(), by=lead_alice)


def test_a_school_closing_sends_a_submitted_application_back_with_the_reason(partnership, lead_alice):
    member = five_confirmed(partnership)
    application = factories.ApplicationFactory(partnership=partnership, status=Application.Status.SUBMITTED)
    member.school.is_open = False
    member.school.save()

    services.schools_changed(school_ids=[member.school_id], reason=f"{member.school.name} closed.")

    application.refresh_from_db()
    assert application.status == Application.Status.CHANGES_REQUESTED
    event = AuditEvent.objects.get(application=application, action="below_minimum")
    assert "closed" in event.comment
    assert "has 4" in event.comment


def test_a_school_closing_flags_an_approved_grant_for_staff(partnership, staff_carol):
    member = five_confirmed(partnership)
    application = factories.ApplicationFactory(
        partnership=partnership, status=Application.Status.APPROVED, awarded="100.00", requested="100.00"
    )
    member.school.is_open = False
    member.school.save()

    moved = grant_services.applications_recheck_minimum(reason="The register changed.")

    application.refresh_from_db()
    assert (moved, application.status) == (0, Application.Status.APPROVED)
    assert AuditEvent.objects.filter(application=application, action="below_minimum").exists()


def test_approval_rechecks_the_minimum(partnership, staff_carol):
    member = five_confirmed(partnership)
    application = factories.ApplicationFactory(
        partnership=partnership, status=Application.Status.SUBMITTED, requested="1000.00"
    )
    member.school.is_open = False  # closed in the register after submission
    member.school.save()

    with pytest.raises(ValidationError, match="cannot be approved"):
        grant_services.application_approve(application_id=application.pk, by=staff_carol, amount="1000.00")

    application.refresh_from_db()
    assert application.status == Application.Status.SUBMITTED
    assert not application.payments.exists()


def test_declining_by_code_needs_no_account(client, invite, cedar, django_capture_on_commit_callbacks):
    _, token = invite(cedar, "sam@gmail.com")

    response = accept_by_code(client, django_capture_on_commit_callbacks, token, name="", answer="decline")

    assert response.status_code == 302
    assert Membership.objects.get(school=cedar).status == Membership.Status.DECLINED
    assert not User.objects.filter(email="sam@gmail.com").exists()


def test_an_unverified_claimant_is_reminded_of_nothing(partnership, school_a):
    from partnerships.selectors import school_contacts

    claimant = factories.LeadFactory()
    SchoolLead.objects.create(user=claimant, school=school_a)

    assert claimant not in school_contacts(school_a.pk)


def test_closing_a_school_in_the_admin_rechecks_the_minimum(client, partnership, admin_dan):
    member = five_confirmed(partnership)
    application = factories.ApplicationFactory(partnership=partnership, status=Application.Status.SUBMITTED)
    school = member.school
    client.force_login(admin_dan)
    data = {
        field.name: getattr(school, field.attname)
        for field in school._meta.concrete_fields
        if field.editable and field.name != "id" and getattr(school, field.attname) is not None
    }
    data["is_open"] = ""

    client.post(reverse("admin:partnerships_school_change", args=[school.pk]), data)

    school.refresh_from_db()
    application.refresh_from_db()
    assert not school.is_open
    assert application.status == Application.Status.CHANGES_REQUESTED


def test_the_recheck_command_sends_back_what_fell_below(partnership):
    from django.core.management import call_command

    member = five_confirmed(partnership)
    application = factories.ApplicationFactory(partnership=partnership, status=Application.Status.SUBMITTED)
    factories.School.objects.filter(pk=member.school_id).update(is_open=False)  # a bulk import

    call_command("recheck_minimums", reason="The register import closed a school.")

    application.refresh_from_db()
    assert application.status == Application.Status.CHANGES_REQUESTED


def _gias_file(tmp_path, school, status):
    path = tmp_path / "edubasealldata20261201.csv"
    path.write_text(
        "URN,EstablishmentName,TypeOfEstablishment (name),"
        "EstablishmentStatus (name),PhaseOfEducation (name)\n"
        f"{school.urn},{school.name},Community school,{status},Primary\n",
        encoding="utf-8",
    )
    return path


def test_a_register_import_that_closes_a_member_sends_a_submitted_application_back(partnership, tmp_path):
    """The daily GIAS refresh, the upload page and the command all go through import_gias: a school
    it closes no longer props up a submitted application's minimum."""
    from partnerships.gias import import_gias

    member = five_confirmed(partnership)
    application = factories.ApplicationFactory(partnership=partnership, status=Application.Status.SUBMITTED)

    report = import_gias(_gias_file(tmp_path, member.school, "Open"))
    application.refresh_from_db()
    assert (report.changed_standing, application.status) == ([], Application.Status.SUBMITTED)

    report = import_gias(_gias_file(tmp_path, member.school, "Closed"))

    application.refresh_from_db()
    assert report.changed_standing == [member.school_id]
    assert application.status == Application.Status.CHANGES_REQUESTED
    assert (
        "GIAS register import"
        in AuditEvent.objects.get(application=application, action="below_minimum").comment
    )


def test_a_dry_run_import_that_would_close_a_member_changes_nothing(partnership, tmp_path):
    from partnerships.gias import import_gias

    member = five_confirmed(partnership)
    application = factories.ApplicationFactory(partnership=partnership, status=Application.Status.SUBMITTED)

    import_gias(_gias_file(tmp_path, member.school, "Closed"), dry_run=True)

    application.refresh_from_db()
    member.school.refresh_from_db()
    assert (application.status, member.school.is_open) == (Application.Status.SUBMITTED, True)
    assert not AuditEvent.objects.filter(application=application, action="below_minimum").exists()
