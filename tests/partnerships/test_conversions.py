"""An academy conversion (or a "Merged" link) moves the memberships of open partnerships to the
school the converter is now; completed partnerships keep the old URN; each move is audited."""

import pytest

from partnerships import lineage, services
from partnerships.gias_links import import_links
from partnerships.models import Membership, Partnership, SchoolLink, TrustEvent
from tests import factories

pytestmark = pytest.mark.django_db

HEADER = "URN,LinkURN,LinkName,LinkType,LinkEstablishedDate\n"


def links_file(tmp_path, *rows, name="links.csv"):
    path = tmp_path / name
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def conversion():
    """Oak Primary (URN 100001) closed and reopened as Oak Academy (URN 140001)."""
    old = factories.SchoolFactory(urn=100001, name="Oak Primary", is_open=False)
    new = factories.SchoolFactory(urn=140001, name="Oak Academy")
    return old, new


def test_a_conversion_in_the_links_file_moves_an_open_partnerships_membership(tmp_path, conversion):
    old, new = conversion
    membership = factories.MembershipFactory(school=old)

    report = import_links(links_file(tmp_path, "100001,140001,Oak Academy,Successor,01-09-2013"))

    membership.refresh_from_db()
    assert (membership.school, report.memberships_moved, report.memberships_left) == (new, 1, [])
    event = TrustEvent.objects.get(action=TrustEvent.Action.MEMBERSHIP_MOVED)
    assert (event.school, event.partnership) == (new, membership.partnership)
    assert "Oak Primary (URN 100001) closed" in event.comment
    assert "URN 140001 (Oak Academy)" in event.comment


def test_the_lead_school_of_a_partnership_follows_its_conversion(tmp_path, conversion):
    old, new = conversion
    partnership = factories.PartnershipFactory(lead_school=old, partners=4)

    import_links(links_file(tmp_path, "140001,100001,Oak Primary,Predecessor,01-09-2013"))

    partnership.refresh_from_db()
    assert partnership.lead_school == new
    assert partnership.memberships.get(role=Membership.Role.LEAD).school == new


def test_a_completed_partnership_keeps_the_old_urn_as_history(tmp_path, conversion):
    old, _ = conversion
    membership = factories.MembershipFactory(school=old, partnership__status=Partnership.Status.COMPLETED)

    report = import_links(links_file(tmp_path, "100001,140001,Oak Academy,Successor,01-09-2013"))

    membership.refresh_from_db()
    assert (membership.school, report.memberships_moved) == (old, 0)
    assert not TrustEvent.objects.exists()


def test_a_merged_link_is_followed_like_a_successor(tmp_path, conversion):
    old, new = conversion
    membership = factories.MembershipFactory(school=old)
    path = links_file(tmp_path, "100001,140001,Oak Academy,Merged - expansion of school capacity,")

    import_links(path)

    assert SchoolLink.objects.get().relation == SchoolLink.Relation.MERGED
    assert lineage.current(100001) == 140001
    membership.refresh_from_db()
    assert membership.school == new


def test_a_merged_link_on_the_open_school_points_the_other_way(tmp_path, conversion):
    """The row sits on the school still open: the closed one linked from it came before."""
    old, new = conversion
    membership = factories.MembershipFactory(school=old)

    import_links(links_file(tmp_path, "140001,100001,Oak Primary,Merged - change in age range,"))

    assert (lineage.current(100001), lineage.predecessors(140001)) == (140001, [100001])
    membership.refresh_from_db()
    assert membership.school == new


def test_a_successor_already_in_the_cohort_leaves_the_membership_and_says_why(tmp_path, conversion):
    old, new = conversion
    membership = factories.MembershipFactory(school=old)
    factories.PartnershipFactory(cohort=membership.cohort, lead_school=new)

    report = import_links(links_file(tmp_path, "100001,140001,Oak Academy,Successor,01-09-2013"))

    membership.refresh_from_db()
    assert (membership.school, report.memberships_moved) == (old, 0)
    assert report.memberships_left == [
        f"Oak Primary (URN 100001) in {membership.partnership}: Oak Academy (URN 140001) is in another "
        "partnership of the cohort"
    ]


def test_a_successor_not_in_the_register_leaves_the_membership(tmp_path):
    old = factories.SchoolFactory(urn=100001, name="Oak Primary", is_open=False)
    membership = factories.MembershipFactory(school=old)

    report = import_links(links_file(tmp_path, "100001,149999,Elsewhere,Successor,01-09-2013"))

    membership.refresh_from_db()
    assert membership.school == old
    assert "successor URN 149999 is not an open school in the register" in report.memberships_left[0]


def test_following_twice_moves_nothing_more(tmp_path, conversion):
    old, _ = conversion
    factories.MembershipFactory(school=old)
    import_links(links_file(tmp_path, "100001,140001,Oak Academy,Successor,01-09-2013"))

    again = services.memberships_follow_successors()

    assert (again.moved, again.left) == ([], [])
    assert TrustEvent.objects.filter(action=TrustEvent.Action.MEMBERSHIP_MOVED).count() == 1


def test_a_register_import_that_closes_a_converted_school_moves_its_membership(tmp_path):
    from partnerships.gias import import_gias

    old = factories.SchoolFactory(urn=100001, name="Oak Primary")
    new = factories.SchoolFactory(urn=140001, name="Oak Academy")
    membership = factories.MembershipFactory(school=old)
    SchoolLink.objects.create(
        urn=100001, linked_urn=140001, link_type="Successor", relation=SchoolLink.Relation.SUCCESSOR
    )
    register = tmp_path / "gias.csv"
    register.write_text(
        "URN,EstablishmentName,TypeOfEstablishment (name),EstablishmentStatus (name),"
        "PhaseOfEducation (name)\n"
        "100001,Oak Primary,Community school,Closed,Primary\n"
        "140001,Oak Academy,Academy converter,Open,Primary\n",
        encoding="utf-8",
    )

    report = import_gias(register)

    membership.refresh_from_db()
    assert (membership.school, report.memberships_moved) == (new, 1)
