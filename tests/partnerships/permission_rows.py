from partnerships.models import DataImport, Membership
from tests import factories
from tests.matrix import LEADS_ONLY_GET, LOGIN, STAFF_ONLY_GET, Row, claimants, expect, expect_all


def invitation_for_bob(w):
    """Beech Academy (Bob's school) invited into Alice's partnership."""
    membership = factories.MembershipFactory(
        partnership=w.partnership, school=w.school_b, status=Membership.Status.INVITED
    )
    return [membership.pk]


def a_partner(w):
    return [w.partnership.memberships.filter(role=Membership.Role.PARTNER).first().pk]


LEAD_ONLY_404 = {"anonymous": LOGIN, "other_staff": 403, "staff": 403, "admin": 403}

ROWS = [
    Row(
        "partnerships:lead_home",
        expect(anonymous=LOGIN, owner_lead=200, other_lead=200, other_staff=200, staff=200, admin=200),
    ),
    Row("partnerships:partnership_create", LEADS_ONLY_GET),
    Row(
        "partnerships:partnership_create",
        # Alice's school already leads a partnership in the cohort, and she cannot act for Beech: 400.
        # Claimants cannot choose Beech (not a school they claim): the form refuses it, 400.
        claimants(
            expect(anonymous=LOGIN, owner_lead=400, other_lead=302, other_staff=403, staff=403, admin=403),
            partner_contact=400,
            rejected_claimant=400,
        ),
        method="post",
        data=lambda w: {
            "cohort": w.cohort.pk,
            "lead_school": w.school_b.pk,
            "name": "Beech STEM",
            "local_stem_issue": "Too few girls choose physics.",
        },
        note="Bob starts one for Beech",
    ),
    Row(
        "partnerships:partnership_detail",
        expect(anonymous=LOGIN, owner_lead=200, other_lead=404, other_staff=404, staff=200, admin=200),
        args=lambda w: [w.partnership.pk],
    ),
    Row(
        "partnerships:school_search",
        expect(owner_lead=200, other_lead=404, **LEAD_ONLY_404),
        args=lambda w: [w.partnership.pk],
    ),
    Row(
        "partnerships:membership_invite",
        expect(owner_lead=302, other_lead=404, **LEAD_ONLY_404),
        args=lambda w: [w.partnership.pk],
        method="post",
        data=lambda w: {"school": w.school_b.pk},
    ),
    Row(
        "partnerships:membership_remove",
        expect(owner_lead=302, other_lead=404, **LEAD_ONLY_404),
        args=a_partner,
        method="post",
    ),
    Row(
        "partnerships:membership_respond",
        # Only Beech's lead can answer Beech's invitation; Alice and the claimants get a 404 for it.
        claimants(
            expect(owner_lead=404, other_lead=302, **LEAD_ONLY_404),
            partner_contact=404,
            rejected_claimant=404,
        ),
        args=invitation_for_bob,
        method="post",
        data=lambda w: {"answer": "confirm"},
    ),
    Row("partnerships:staff_partnership_list", STAFF_ONLY_GET),
]


# --- Sign-up, verification, e-mail invitations, notifications, personal data ------------------

STRONG_PASSWORD = "Kestrel-orbit-7-lantern"
ANON_ONLY = expect(anonymous=200, owner_lead=302, other_lead=302, other_staff=302, staff=302, admin=302)
SIGNED_IN_200 = expect(anonymous=LOGIN, owner_lead=200, other_lead=200, other_staff=200, staff=200, admin=200)
SIGNED_IN_302 = expect(anonymous=LOGIN, owner_lead=302, other_lead=302, other_staff=302, staff=302, admin=302)


def signup_data(w):
    return {
        "school": w.school_b.pk,
        "first_name": "Nia",
        "last_name": "Okafor",
        "email": "nia.okafor@beech.sch.uk",
        "role_at_school": "Head of science",
        "password1": STRONG_PASSWORD,
        "password2": STRONG_PASSWORD,
    }


def verification_token(w):
    from partnerships.onboarding import verification_token as token_for

    return [token_for(factories.pending_lead(w.school_b))]


def pending_request(w):
    from partnerships.models import LeadVerificationRequest, SchoolLead

    user = factories.LeadFactory(username="new.lead@beech.sch.uk", email="new.lead@beech.sch.uk")
    SchoolLead.objects.create(user=user, school=w.school_b)
    return [LeadVerificationRequest.objects.create(user=user, school=w.school_b).pk]


def beech_email_invitation(w):
    """Beech Academy (Bob's school) invited by e-mail into Alice's partnership (the one already
    sent when an earlier row of the layout test's shared world made it)."""
    from partnerships.models import EmailInvitation

    if earlier := EmailInvitation.objects.filter(partnership=w.partnership, school=w.school_b).first():
        return earlier
    return factories.EmailInvitationFactory(
        partnership=w.partnership, school=w.school_b, email="contact@beech.sch.uk", invited_by=w.owner_lead
    )


def invitation_token(w):
    from partnerships.invitations import invitation_token as token_for

    return [token_for(beech_email_invitation(w))]


def invitation_pk(w):
    return [beech_email_invitation(w).pk]


# A lead opening an invitation sent to someone else, or staff, gets "this link is for someone else".
INVITATION_OPEN = claimants(
    expect(anonymous=200, owner_lead=403, other_lead=200, other_staff=403, staff=403, admin=403),
    partner_contact=403,
    rejected_claimant=403,
)

ROWS += [
    Row("partnerships:signup", ANON_ONLY),
    Row("partnerships:signup", expect_all(302), method="post", data=signup_data, note="a new lead"),
    Row("partnerships:signup_done", expect_all(200)),
    Row(
        "partnerships:verify_email",
        expect(anonymous=200, owner_lead=403, other_lead=403, other_staff=403, staff=403, admin=403),
        args=verification_token,
    ),
    Row(
        "partnerships:verify_email",
        expect(anonymous=302, owner_lead=403, other_lead=403, other_staff=403, staff=403, admin=403),
        args=verification_token,
        method="post",
        data=lambda w: {"password": factories.PASSWORD},
    ),
    Row("partnerships:verification_requests", STAFF_ONLY_GET),
    Row("partnerships:programme_messages", STAFF_ONLY_GET),
    Row(
        "partnerships:verification_decide",
        expect(anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=302, staff=302, admin=302),
        args=pending_request,
        method="post",
        data=lambda w: {"decision": "approve"},
    ),
    Row(
        "partnerships:email_invite",
        expect(owner_lead=200, other_lead=404, **LEAD_ONLY_404),
        args=lambda w: [w.partnership.pk],
    ),
    Row(
        "partnerships:email_invite",
        expect(owner_lead=302, other_lead=404, **LEAD_ONLY_404),
        args=lambda w: [w.partnership.pk],
        method="post",
        data=lambda w: {"school": w.school_b.pk, "email": "head@beech.sch.uk"},
    ),
    Row(
        "partnerships:invitation_resend",
        expect(owner_lead=302, other_lead=404, **LEAD_ONLY_404),
        args=invitation_pk,
        method="post",
    ),
    Row(
        "partnerships:invitation_withdraw",
        expect(owner_lead=302, other_lead=404, **LEAD_ONLY_404),
        args=invitation_pk,
        method="post",
    ),
    Row("partnerships:invitation_open", INVITATION_OPEN, args=invitation_token),
    Row("partnerships:invitation_signup", ANON_ONLY, args=invitation_token),
    Row(
        "partnerships:invitation_signup",
        expect_all(302),
        args=invitation_token,
        method="post",
        data=lambda w: {
            "first_name": "Sam",
            "last_name": "Reid",
            "role_at_school": "STEM co-ordinator",
            "password1": STRONG_PASSWORD,
            "password2": STRONG_PASSWORD,
        },
    ),
    Row(
        "partnerships:invitation_answer",
        # Bob leads Beech (verified) so he may answer; nobody else signed in may.
        claimants(
            expect(anonymous=LOGIN, owner_lead=403, other_lead=302, other_staff=403, staff=403, admin=403),
            partner_contact=403,
            rejected_claimant=403,
        ),
        args=invitation_token,
        method="post",
        data=lambda w: {"answer": "confirm"},
    ),
    Row("partnerships:personal_data", SIGNED_IN_200),
    Row("partnerships:personal_data_download", SIGNED_IN_200),
    Row(
        "partnerships:account_close",
        expect(anonymous=LOGIN, owner_lead=400, other_lead=400, other_staff=403, staff=403, admin=403),
        method="post",
        note="without the password",
    ),
]


# --- One-time codes and the optional password (issue 13) ---------------------------------------

ROWS += [
    # Anyone holding the link may ask for a code for the invited address; signed-in people are
    # sent back to the invitation page (they answer there).
    Row("partnerships:invitation_code_send", expect_all(302), args=invitation_token, method="post"),
    Row("partnerships:invitation_code_answer", ANON_ONLY, args=invitation_token),
    Row(
        "partnerships:invitation_code_answer",
        # No code was sent: a clear 400 for the anonymous holder of the link, nothing changes.
        expect_all(302, anonymous=400),
        args=invitation_token,
        method="post",
        data=lambda w: {"code": "123456", "first_name": "Sam", "answer": "confirm"},
        note="without a code sent",
    ),
    # Everyone in the matrix has a password already: on to "change your password".
    Row("partnerships:password_set", expect_all(302)),
    Row(
        "partnerships:school_detail",
        STAFF_ONLY_GET,
        args=lambda w: [w.school_a.urn],
        note="the register page with the URN lineage",
    ),
    Row("partnerships:data_imports", STAFF_ONLY_GET, note="upload public data files"),
    Row(
        "partnerships:data_import_detail",
        STAFF_ONLY_GET,
        args=lambda w: [DataImport.objects.create(kind="links", file_name="links.csv").pk],
    ),
    Row(
        "partnerships:data_import_status",
        STAFF_ONLY_GET,
        args=lambda w: [DataImport.objects.create(kind="links", file_name="links.csv").pk],
    ),
]
