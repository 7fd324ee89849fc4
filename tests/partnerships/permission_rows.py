from partnerships.models import Membership
from tests import factories
from tests.matrix import LEADS_ONLY_GET, LOGIN, STAFF_ONLY_GET, Row, expect


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
        expect(anonymous=LOGIN, owner_lead=400, other_lead=302, other_staff=403, staff=403, admin=403),
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
        # Only Beech's lead can answer Beech's invitation; Alice gets a 404 for it.
        expect(owner_lead=404, other_lead=302, **LEAD_ONLY_404),
        args=invitation_for_bob,
        method="post",
        data=lambda w: {"answer": "confirm"},
    ),
    Row("partnerships:staff_partnership_list", STAFF_ONLY_GET),
]
