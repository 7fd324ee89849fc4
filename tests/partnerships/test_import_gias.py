import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from partnerships.gias import import_gias
from partnerships.models import Funding, OfstedRating, Phase, School
from tests.factories import SchoolFactory

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "gias_sample.csv"
BAD_LINES = {  # line in the sample -> what the report must say
    39: "URN '12A45' is not a whole number",
    90: "URN is missing",
    143: "EstablishmentName is missing",
    192: "URN 110007 already appears on line 4",
    242: "PercentageFSM 'about a third' is not a number",
    262: "PercentageFSM '120.5' is not between 0 and 100",
    292: "NumberOfPupils 'three hundred' is not a whole number",
    307: "establishment status 'Unknown' is not a GIAS status",
}

pytestmark = pytest.mark.django_db

# The twelve columns the register first read (any GIAS layout has them, bar OfstedRating since 2025).
HEADER = [
    "URN",
    "EstablishmentName",
    "TypeOfEstablishment (name)",
    "EstablishmentStatus (name)",
    "PhaseOfEducation (name)",
    "LA (name)",
    "GOR (name)",
    "DistrictAdministrative (name)",
    "Postcode",
    "NumberOfPupils",
    "PercentageFSM",
    "OfstedRating (name)",
]


def sample_rows():
    with SAMPLE.open(encoding="latin-1", newline="") as handle:
        return list(csv.DictReader(handle))


def run(path, **options):
    out = io.StringIO()
    call_command("import_gias", str(path), stdout=out, **options)
    return out.getvalue()


def write(tmp_path, rows, header=None, encoding="latin-1", name="gias.csv"):
    header = header or HEADER
    path = tmp_path / name
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def row(urn="123456", name="Test Primary School", **changes):
    values = {
        "URN": urn,
        "EstablishmentName": name,
        "TypeOfEstablishment (name)": "Community school",
        "EstablishmentStatus (name)": "Open",
        "PhaseOfEducation (name)": "Primary",
        "LA (name)": "Blackpool",
        "GOR (name)": "North West",
        "DistrictAdministrative (name)": "Blackpool",
        "Postcode": "fy1  1aa",
        "NumberOfPupils": "210",
        "PercentageFSM": "23.5",
        "OfstedRating (name)": "Good",
    } | changes
    return [values[column] for column in HEADER]


# --- The sample -----------------------------------------------------------------------


def test_sample_creates_every_valid_row():
    valid = len(sample_rows()) - len(BAD_LINES)

    output = run(SAMPLE)

    assert School.objects.count() == valid
    assert f"{valid} created, 0 updated, 0 unchanged, 0 skipped" in output
    assert f"{len(BAD_LINES)} rejected" in output


def test_sample_reports_each_bad_row_with_its_line_and_reason():
    output = run(SAMPLE)

    reported = {
        int(text.split()[1].rstrip(":")): text for text in output.splitlines() if text.startswith("Line ")
    }
    assert sorted(reported) == sorted(BAD_LINES)
    for line, reason in BAD_LINES.items():
        assert reason in reported[line]


def test_second_run_reports_every_row_unchanged():
    run(SAMPLE)
    before = dict(School.objects.values_list("urn", "updated_at"))

    output = run(SAMPLE)

    assert f"0 created, 0 updated, {len(before)} unchanged" in output
    assert dict(School.objects.values_list("urn", "updated_at")) == before


def test_accented_names_are_read_as_latin_1():
    run(SAMPLE)

    assert School.objects.filter(name="St Thérèse's Catholic Primary School").exists()


def test_sample_has_enough_schools_for_the_demo_cohorts():
    run(SAMPLE)
    state_open = School.objects.filter(is_open=True, funding=Funding.STATE)

    assert state_open.filter(phase=Phase.PRIMARY).count() >= 210
    assert state_open.filter(phase=Phase.SECONDARY).count() >= 50
    weak = [OfstedRating.REQUIRES_IMPROVEMENT, OfstedRating.INADEQUATE]
    assert state_open.filter(ofsted_rating__in=weak).exclude(opportunity_area="").count() >= 15


# --- Mapping --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        ({"PhaseOfEducation (name)": "Middle deemed primary"}, "phase", Phase.PRIMARY),
        ({"PhaseOfEducation (name)": "Middle deemed secondary"}, "phase", Phase.SECONDARY),
        ({"PhaseOfEducation (name)": "All-through"}, "phase", Phase.ALL_THROUGH),
        ({"PhaseOfEducation (name)": "16 plus"}, "phase", Phase.SIXTEEN_PLUS),
        ({"PhaseOfEducation (name)": "Nursery"}, "phase", Phase.OTHER),
        (
            {"TypeOfEstablishment (name)": "Further education", "PhaseOfEducation (name)": "16 plus"},
            "phase",
            Phase.FE_COLLEGE,
        ),
        ({"TypeOfEstablishment (name)": "Other independent school"}, "funding", Funding.INDEPENDENT),
        ({"TypeOfEstablishment (name)": "Academy converter"}, "funding", Funding.STATE),
        ({"EstablishmentStatus (name)": "Closed"}, "is_open", False),
        ({"EstablishmentStatus (name)": "Open, but proposed to close"}, "is_open", True),
        ({"OfstedRating (name)": "Special Measures"}, "ofsted_rating", OfstedRating.INADEQUATE),
        ({"OfstedRating (name)": ""}, "ofsted_rating", OfstedRating.NOT_RATED),
        ({"DistrictAdministrative (name)": "Scarborough"}, "opportunity_area", "North Yorkshire Coast"),
        ({"DistrictAdministrative (name)": "Leeds"}, "opportunity_area", ""),
        ({"PercentageFSM": "SUPP"}, "fsm_percent", None),
        ({"PercentageFSM": "23.456"}, "fsm_percent", Decimal("23.46")),
        ({"NumberOfPupils": ""}, "pupils", None),
        ({}, "postcode", "FY1 1AA"),
    ],
)
def test_gias_values_are_mapped(tmp_path, changes, field, expected):
    import_gias(write(tmp_path, [row(**changes)]))

    assert getattr(School.objects.get(urn=123456), field) == expected


def test_every_opportunity_area_district_is_recognised(tmp_path):
    districts = [
        "Blackpool",
        "Bradford",
        "Derby",
        "Doncaster",
        "Fenland",
        "East Cambridgeshire",
        "Hastings",
        "Ipswich",
        "Norwich",
        "Oldham",
        "Scarborough",
        "Stoke-on-Trent",
        "West Somerset",
    ]
    rows = [row(urn=str(100 + i), **{"DistrictAdministrative (name)": d}) for i, d in enumerate(districts)]

    import_gias(write(tmp_path, rows))

    assert not School.objects.filter(opportunity_area="").exists()


def test_changed_row_is_updated_by_urn(tmp_path):
    SchoolFactory(urn=123456, name="Old name", ofsted_rating=OfstedRating.GOOD)

    report = import_gias(write(tmp_path, [row(name="New name", **{"OfstedRating (name)": "Inadequate"})]))

    school = School.objects.get(urn=123456)
    assert (report.updated, school.name, school.ofsted_rating) == (1, "New name", OfstedRating.INADEQUATE)


def test_rows_over_several_batches_are_all_written(tmp_path):
    rows = [row(urn=str(1000 + i)) for i in range(25)]

    report = import_gias(write(tmp_path, rows), batch_size=10)

    assert (report.created, School.objects.count()) == (25, 25)


def test_extra_columns_in_any_order_are_ignored(tmp_path):
    header = ["Town", *reversed(HEADER), "HeadLastName"]
    values = dict(zip(HEADER, row(), strict=True))
    path = write(tmp_path, [["Blackpool", *(values[c] for c in reversed(HEADER)), "x"]], header=header)

    import_gias(path)

    assert School.objects.get().name == "Test Primary School"


def test_dry_run_counts_but_saves_nothing(tmp_path):
    output = run(write(tmp_path, [row()]), dry_run=True)

    assert "1 created" in output
    assert "Dry run" in output
    assert not School.objects.exists()


# --- Malformed files change nothing ---------------------------------------------------


def test_missing_column_stops_the_import_and_changes_nothing(tmp_path):
    SchoolFactory(urn=123456, name="Kept")
    header = [c for c in HEADER if c != "PhaseOfEducation (name)"]
    path = write(tmp_path, [row(name="Changed")[:4] + row()[5:]], header=header)

    with pytest.raises(
        CommandError, match=r'missing required column: "PhaseOfEducation \(name\)".*Nothing was changed'
    ):
        run(path)

    assert School.objects.get().name == "Kept"


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")

    with pytest.raises(CommandError, match="is empty"):
        run(path)


def test_header_without_rows_is_refused(tmp_path):
    with pytest.raises(CommandError, match="no rows"):
        run(write(tmp_path, []))


def test_utf_16_file_is_refused(tmp_path):
    with pytest.raises(CommandError, match="UTF-16"):
        run(write(tmp_path, [row()], encoding="utf-16"))

    assert not School.objects.exists()


def test_utf_8_file_is_detected_and_read_as_utf_8(tmp_path):
    run(write(tmp_path, [row(name="École Sainte-Thérèse")], encoding="utf-8"))

    assert School.objects.get().name == "École Sainte-Thérèse"


def test_utf_8_file_imports_when_its_encoding_is_given(tmp_path):
    run(write(tmp_path, [row(name="École Sainte-Thérèse")], encoding="utf-8"), encoding="utf-8")

    assert School.objects.get().name == "École Sainte-Thérèse"


def test_windows_1252_file_read_as_utf_8_is_refused_naming_the_line(tmp_path):
    with pytest.raises(CommandError, match=r"is not utf-8-sig text \(line 2"):
        run(write(tmp_path, [row(name="École")], encoding="cp1252"), encoding="utf-8")


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        run(tmp_path / "nope.csv")


def test_short_row_is_rejected_with_its_line(tmp_path):
    path = write(tmp_path, [row(urn="1"), ["2", "Short School"]])

    report = import_gias(path)

    assert [(r.line, r.urn) for r in report.rejected] == [(3, "2")]
    assert "only 2 columns" in report.rejected[0].reason
