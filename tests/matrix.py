"""The permission matrix: every URL pattern × every role, with the status each must get.

Each app lists its rows in `tests/<app>/permission_rows.py` as `ROWS = [Row(...), ...]`;
`tests/test_permission_matrix.py` runs them all and fails when a URL pattern has no row.

A row names the URL, how to fill its arguments from the `World` (a fixed cast and their
objects, built fresh for each test), the method and POST data, and the expected status
for each of the six roles:

    Row("grants:application_detail", args=lambda w: [w.application.pk],
        expect=expect(anonymous=302, owner_lead=200, other_lead=404, other_staff=404, staff=200, admin=200))

`args`/`data` are called with the world, so a row that needs an object of its own can
build it there with the factories.

Building a World costs some 150 inserts, and the matrix has thousands of tests: the `world`
fixture (tests/conftest.py) builds it once per test module inside an open transaction; each test
runs in a savepoint of it (pytest-django's `db`), rolled back afterwards, and gets a deep copy of
the Python objects, so no test sees another's rows or in-memory changes.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from tests import factories

ROLES = (
    "anonymous",
    "owner_lead",
    "other_lead",
    "other_staff",
    "staff",
    "admin",
    # People who claim a school without anyone vouching for them (issue 13): they must get no
    # more than a lead with no stake in the world's objects, so they default to other_lead's status.
    "partner_contact",  # accepted an invitation for Cedar into Alice's partnership; not verified
    "rejected_claimant",  # claimed Alice's school; programme staff rejected the claim
    # A reviewer from outside the programme team (issue 17), in programme P's pool, assigned to
    # nothing unless a row's args assign them: they reach only their own review pages. By default
    # refused (403) wherever a lead or staff member with no stake is refused, else as other_lead.
    "reviewer",
    # Finance (issue 19): payments and payee details of every programme, never a decision. A row
    # that does not name it expects what someone who is neither a lead nor staff gets: a page
    # for leads only or for staff only is 403, a school's objects 404 (see `expect`).
    "finance",
)
CORE_ROLES = ROLES[:6]
CLAIMANTS = ("partner_contact", "rejected_claimant")


def expect(**statuses: int) -> dict[str, int]:
    missing = set(CORE_ROLES) - set(statuses)
    unknown = set(statuses) - set(ROLES)
    if missing or unknown:
        raise ValueError(f"expect() needs the six core roles; missing {missing}, unknown {unknown}")
    for claimant in CLAIMANTS:
        statuses.setdefault(claimant, statuses["other_lead"])
    statuses.setdefault(
        "reviewer",
        403 if 403 in (statuses["other_lead"], statuses["other_staff"]) else statuses["other_lead"],
    )
    lead, staff = statuses["other_lead"], statuses["other_staff"]
    statuses.setdefault("finance", 403 if lead != staff and 403 in (lead, staff) else lead)
    return statuses


def expect_all(status: int, **overrides: int) -> dict[str, int]:
    return expect(**{role: overrides.get(role, status) for role in ROLES})


def claimants(statuses: dict[str, int], **overrides: int) -> dict[str, int]:
    """A row's expectations with the claimants' statuses set where they differ from other_lead's."""
    return {**statuses, **overrides}


# Common shapes
LOGIN = 302  # anonymous users are sent to the login page
STAFF_ONLY_GET = expect(
    anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=200, staff=200, admin=200
)
LEADS_ONLY_GET = expect(
    anonymous=LOGIN, owner_lead=200, other_lead=200, other_staff=403, staff=403, admin=403
)


@dataclass(frozen=True)
class Row:
    url_name: str
    expect: dict[str, int]
    args: Callable = field(default=lambda w: [])
    method: str = "get"
    data: Callable = field(default=lambda w: {})
    note: str = ""

    @property
    def id(self) -> str:
        return f"{self.method.upper()} {self.url_name}{' ' + self.note if self.note else ''}"


class World:
    """Two programmes, each with its own staff; an open cohort of programme P; Alice's school
    leads a partnership of five confirmed schools in it (with a draft application); Bob's
    school is in no partnership."""

    def __init__(self):
        self.programme = factories.ProgrammeFactory(name="ENTHUSE Partnerships", slug="enthuse-partnerships")
        self.other_programme = factories.ProgrammeFactory(name="Aspire to STEM", slug="aspire-to-stem")
        self.cohort = factories.CohortFactory(
            programme=self.programme,
            applications_open_at=timezone.now() - timedelta(days=10),
            applications_close_at=timezone.now() + timedelta(days=30),
        )
        self.school_a = factories.SchoolFactory(urn=100001, name="Alder Primary School")
        self.school_b = factories.SchoolFactory(urn=100002, name="Beech Academy", phase="secondary")

        self.users = {
            "anonymous": None,
            "owner_lead": factories.LeadFactory(username="lead_alice"),
            "other_lead": factories.LeadFactory(username="lead_bob"),
            "other_staff": factories.StaffFactory(username="staff_erin"),
            "staff": factories.StaffFactory(username="staff_carol"),
            "admin": factories.AdminFactory(username="admin_dan"),
            "finance": factories.FinanceFactory(username="finance_fay"),
        }
        factories.link_lead(self.users["owner_lead"], self.school_a)
        factories.link_lead(self.users["other_lead"], self.school_b)
        self.programme.staff.add(self.users["staff"])
        self.other_programme.staff.add(self.users["other_staff"])

        self.partnership = factories.PartnershipFactory(
            cohort=self.cohort, lead_school=self.school_a, partners=4
        )
        self.application = factories.ApplicationFactory(partnership=self.partnership)
        self._claimants()

    def _claimants(self):
        from partnerships.models import LeadVerificationRequest, Membership, SchoolLead

        self.school_c = factories.SchoolFactory(urn=100003, name="Cedar Primary School")
        contact = factories.LeadFactory(username="cedar.contact@gmail.com", email="cedar.contact@gmail.com")
        SchoolLead.objects.create(user=contact, school=self.school_c)
        factories.MembershipFactory(
            partnership=self.partnership,
            school=self.school_c,
            status=Membership.Status.ACCEPTED,
            responded_by=contact,
        )
        LeadVerificationRequest.objects.create(user=contact, school=self.school_c, source="invitation")
        claimant = factories.LeadFactory(username="claims.alder@gmail.com", email="claims.alder@gmail.com")
        LeadVerificationRequest.objects.create(
            user=claimant,
            school=self.school_a,
            status=LeadVerificationRequest.Status.REJECTED,
            reason="Not on the school's staff list.",
            decided_by=self.users["staff"],
            decided_at=timezone.now(),
        )
        self.users["partner_contact"], self.users["rejected_claimant"] = contact, claimant
        from grants.models import ProgrammeReviewer

        self.users["reviewer"] = factories.ReviewerFactory(username="reviewer_rhea")
        ProgrammeReviewer.objects.create(programme=self.programme, user=self.users["reviewer"])

    def __getattr__(self, name):
        if name.startswith("__") or name == "users":  # copy.deepcopy probes a half-built copy
            raise AttributeError(name)
        try:
            return self.users[name]
        except KeyError:
            raise AttributeError(name) from None
