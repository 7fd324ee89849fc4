"""The GIAS links file and URN lineage: predecessors, successors, the current URN, the school page."""

from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from partnerships import lineage
from partnerships.gias_links import GiasLinksFileError, import_links
from partnerships.models import SchoolLink
from tests import factories

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parents[1] / "data"
LINKS = DATA / "links_edubasealldata_sample.csv"


def test_the_links_file_imports_with_its_counts_and_windows_1252_names():
    report = import_links(LINKS)

    assert (report.rows, report.created, report.updated, report.unchanged) == (10, 8, 0, 0)
    assert [line for line, _ in report.rejected] == [10, 11]
    assert "URN 'abc' is not a URN" in report.rejected[0][1]
    assert "'31-02-2013' is not a date" in report.rejected[1][1]
    assert report.encoding == "cp1252"
    link = SchoolLink.objects.get(urn=140001, linked_urn=148001)
    assert link.linked_name == "St Mary’s Academy, Café Trust"
    assert link.relation == SchoolLink.Relation.SUCCESSOR
    assert str(link.established_on) == "2021-04-01"
    assert link.source == LINKS.name
    sixth_form = SchoolLink.objects.get(urn=100020)
    assert (sixth_form.relation, sixth_form.established_on) == (SchoolLink.Relation.OTHER, None)
    assert SchoolLink.objects.get(urn=140001, linked_urn=100001).relation == SchoolLink.Relation.PREDECESSOR


def test_importing_the_links_file_twice_changes_nothing():
    import_links(LINKS)
    again = import_links(LINKS)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 8)
    assert SchoolLink.objects.count() == 8


def test_a_changed_link_is_updated_in_place(tmp_path):
    import_links(LINKS)
    changed = tmp_path / "links.csv"
    changed.write_text(
        "URN,LinkURN,LinkName,LinkType,LinkEstablishedDate\n100001,140001,St Mary's,Successor,02-09-2013\n",
        encoding="utf-8",
    )

    report = import_links(changed)

    assert (report.created, report.updated) == (0, 1)
    assert str(SchoolLink.objects.get(urn=100001, linked_urn=140001).established_on) == "2013-09-02"


def test_a_file_without_the_link_columns_changes_nothing(tmp_path):
    wrong = tmp_path / "edubasealldata.csv"
    wrong.write_text("URN,EstablishmentName\n100001,Alder\n", encoding="utf-8")

    with pytest.raises(GiasLinksFileError, match=r"missing column.*LinkURN, LinkType"):
        import_links(wrong)
    assert not SchoolLink.objects.exists()


def test_a_binary_file_is_refused_with_a_reason(tmp_path):
    binary = tmp_path / "links.xlsx"
    binary.write_bytes(b"PK\x03\x04\x00\x00binary")

    with pytest.raises(GiasLinksFileError, match="not a CSV"):
        import_links(binary)


def test_lineage_follows_chains_both_ways():
    import_links(LINKS)

    assert lineage.predecessors(148001) == [140001, 100001]
    assert lineage.successors(100001) == [140001, 148001]
    assert lineage.current(100001) == 148001
    assert lineage.current(148001) == 148001
    assert lineage.predecessors(137010) == [100010, 100011]  # an amalgamation: two schools into one
    assert lineage.current(100011) == 137010


def test_a_cycle_in_the_links_ends_the_walk():
    import_links(LINKS)

    assert lineage.successors(100030) == [100031]
    assert lineage.predecessors(100030) == [100031]
    assert lineage.current(100030) == 100030  # a loop names no current URN


def test_a_split_school_has_no_single_current_urn():
    family = lineage.Lineage([(1, 2), (1, 3)])

    assert family.current(1) == 1
    assert family.successors(1) == [2, 3]


def test_links_to_sixth_form_centres_are_not_lineage():
    import_links(LINKS)

    assert lineage.successors(100020) == []
    assert lineage.current(100020) == 100020


def test_the_school_page_shows_the_lineage_and_memberships_under_the_old_urn(client):
    import_links(LINKS)
    old = factories.SchoolFactory(urn=100001, name="St Mary's CofE Primary", is_open=False)
    new = factories.SchoolFactory(urn=140001, name="St Mary's Academy")
    partnership = factories.PartnershipFactory(lead_school=old, name="Fylde STEM")
    staff = factories.StaffFactory()
    partnership.cohort.programme.staff.add(staff)
    client.force_login(staff)

    response = client.get(reverse("partnerships:school_detail", args=[new.urn]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "St Mary&#x27;s CofE Primary</a> (100001)" in page
    assert 'URN 148001 <span class="text-muted">(not in the register)</span>' in page
    assert "Fylde STEM" in page
    assert "(as URN 100001" in page
    assert "This school is now URN" in page
    assert ">148001</a>" in page


def test_the_command_reports_counts_and_rejections(capsys):
    call_command("import_gias_links", str(LINKS))

    out = capsys.readouterr().out
    assert "Line 10: rejected" in out
    assert "10 links: 8 created, 0 updated, 0 unchanged, 2 rejected (cp1252)." in out
