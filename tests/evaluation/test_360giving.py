"""360Giving export: the JSON validates against the standard's package and grant schemas (offline,
from the copies in tests/data/360giving), and the spreadsheet (XLSX) uses the standard's column
titles and stores every value as text, so no cell is ever evaluated."""

import io
import json
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from evaluation import giving360
from grants.models import Application
from tests import factories

SCHEMAS = Path(__file__).resolve().parent.parent / "data" / "360giving"
GRANT_SCHEMA = json.loads((SCHEMAS / "360-giving-schema.json").read_text())
PACKAGE_SCHEMA = json.loads((SCHEMAS / "360-giving-package-schema.json").read_text())


def validator(schema) -> Draft202012Validator:
    """No network: the grant schema is registered under its own $id and under the URL the package
    schema's $ref names."""
    grant = DRAFT202012.create_resource(GRANT_SCHEMA)
    ref = PACKAGE_SCHEMA["properties"]["grants"]["items"]["$ref"]
    registry = Registry().with_resources([(GRANT_SCHEMA["$id"], grant), (ref, grant)])
    return Draft202012Validator(schema, registry=registry, format_checker=FormatChecker())


def errors(schema, instance) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator(schema).iter_errors(instance)]


def awarded(cohort, *, status=Application.Status.APPROVED, amount="11500.00", reference="ENT-0001", **school):
    lead = factories.SchoolFactory(**school)
    partnership = factories.PartnershipFactory(cohort=cohort, lead_school=lead, partners=4)
    return factories.ApplicationFactory(
        partnership=partnership,
        status=status,
        requested=Decimal("12000.00"),
        awarded=Decimal(amount),
        reference=reference,
        decided_at=timezone.make_aware(datetime(2026, 6, 23, 10, 0)),
    )


@pytest.fixture
def grants(cohort):
    return [
        awarded(cohort, reference="ENT-0001", urn=108305, name="Blackpool Primary", postcode="FY1 1AA"),
        awarded(cohort, reference="ENT-0002", amount="12000.00", status=Application.Status.COMPLETED),
    ]


def test_schemas_are_themselves_valid():
    Draft202012Validator.check_schema(GRANT_SCHEMA)
    Draft202012Validator.check_schema(PACKAGE_SCHEMA)


def test_exported_package_validates_against_the_package_schema(grants):
    package = giving360.package(giving360.awarded_applications())

    assert errors(PACKAGE_SCHEMA, package) == []


def test_each_exported_grant_validates_against_the_grant_schema(grants):
    for application in grants:
        assert errors(GRANT_SCHEMA, giving360.grant(application)) == []


def test_validation_catches_a_broken_grant(grants):
    """The validator is really checking: a grant without its recipient fails."""
    grant = giving360.grant(grants[0])
    del grant["recipientOrganization"]

    assert errors(GRANT_SCHEMA, grant)


def test_grant_identifies_recipient_by_urn_and_uses_the_prefix(grants, settings):
    settings.GRANTS_360G_PREFIX = "360G-example"

    grant = giving360.grant(grants[0])

    assert grant["id"] == "360G-example-ENT-0001"
    assert grant["recipientOrganization"] == [
        {"id": "GB-EDU-108305", "name": "Blackpool Primary", "postalCode": "FY1 1AA"}
    ]
    assert grant["currency"] == "GBP"
    assert grant["amountAwarded"] == 11500
    assert grant["awardDate"] == "2026-06-23"


def test_application_without_reference_uses_its_id(cohort, settings):
    application = awarded(cohort, reference=None)

    assert giving360.grant(application)["id"] == f"{settings.GRANTS_360G_PREFIX}-{application.pk}"


def test_pence_are_kept(cohort):
    application = awarded(cohort, amount="11999.99")

    assert giving360.grant(application)["amountAwarded"] == 11999.99


def test_funder_comes_from_settings(grants, settings):
    settings.FUNDER_ORG_ID, settings.FUNDER_ORG_NAME = "GB-CHC-1234567", "Example Funder"

    assert giving360.grant(grants[0])["fundingOrganization"] == [
        {"id": "GB-CHC-1234567", "name": "Example Funder"}
    ]


@pytest.mark.parametrize(
    "status",
    [
        Application.Status.DRAFT,
        Application.Status.SUBMITTED,
        Application.Status.REJECTED,
        Application.Status.WITHDRAWN,
    ],
)
def test_only_approved_and_completed_grants_are_exported(cohort, status):
    application = factories.ApplicationFactory(partnership__cohort=cohort, status=status)

    assert application not in giving360.awarded_applications()


def sheet(body: bytes) -> list[list]:
    from openpyxl import load_workbook

    return [list(row) for row in load_workbook(io.BytesIO(body))["grants"].iter_rows()]


def test_spreadsheet_titles_are_the_schema_titles(grants):
    header = [cell.value for cell in sheet(giving360.as_xlsx([]))[0]]

    props, defs = GRANT_SCHEMA["properties"], GRANT_SCHEMA["$defs"]

    def title(path: str) -> str:
        name, _, sub = path.partition(".")
        prop = props[name]
        if "$ref" in prop:  # currency
            prop = defs[prop["$ref"].rsplit("/", 1)[-1]]
        if not sub:
            return prop["title"]
        target = defs[prop["items"]["$ref"].rsplit("/", 1)[-1]]
        return f"{prop['title']}:{target['properties'][sub]['title']}"

    expected = [
        title(path)
        for path in [
            "id",
            "title",
            "description",
            "currency",
            "amountAwarded",
            "awardDate",
            "recipientOrganization.id",
            "recipientOrganization.name",
            "recipientOrganization.postalCode",
            "fundingOrganization.id",
            "fundingOrganization.name",
            "grantProgramme.code",
            "grantProgramme.title",
            "plannedDates.startDate",
            "plannedDates.endDate",
            "plannedDates.duration",
            "beneficiaryLocation.name",
            "beneficiaryLocation.countryCode",
            "dateModified",
        ]
    ]
    assert header == expected


def test_spreadsheet_has_one_row_per_grant_every_cell_text(grants):
    table = sheet(giving360.as_xlsx([giving360.grant(a) for a in grants]))
    titles = [cell.value for cell in table[0]]
    rows = [dict(zip(titles, (cell.value for cell in row), strict=True)) for row in table[1:]]

    assert rows[0]["Recipient Org:Identifier"] == "GB-EDU-108305"
    assert len(rows) == 2
    assert rows[1]["Amount Awarded"] == "12000"
    assert {cell.data_type for row in table for cell in row} == {"s"}


@pytest.mark.parametrize("text", ['=HYPERLINK("http://evil.example","Click")', "+1+1", "-2", "@SUM(A1)"])
def test_a_leads_text_that_looks_like_a_formula_is_kept_exactly_and_stored_as_text(cohort, text):
    application = awarded(cohort)
    application.aims = text
    application.save()
    body = giving360.as_xlsx([giving360.grant(application)])

    description = sheet(body)[1][2]
    package = giving360.package([application])

    assert description.value == text  # exactly as typed: nothing added, nothing cut
    assert description.data_type == "s"
    assert "<f>" not in zipfile.ZipFile(io.BytesIO(body)).read("xl/worksheets/sheet1.xml").decode()
    assert package["grants"][0]["description"] == text  # the canonical JSON too


def test_command_writes_a_valid_json_package_to_stdout(grants):
    out = io.StringIO()

    call_command("export_360giving", stdout=out)

    package = json.loads(out.getvalue())
    assert len(package["grants"]) == 2
    assert errors(PACKAGE_SCHEMA, package) == []


def test_command_limits_to_one_cohort(grants, programme):
    other = factories.CohortFactory(programme=programme)
    awarded(other, reference="OTHER-1")
    out = io.StringIO()

    call_command("export_360giving", cohort=other.pk, stdout=out)

    assert [g["id"].rsplit("-", 2)[-2:] for g in json.loads(out.getvalue())["grants"]] == [["OTHER", "1"]]


def test_command_writes_the_spreadsheet_to_a_file(grants, tmp_path):
    target = tmp_path / "grants.xlsx"

    call_command("export_360giving", format="xlsx", output=str(target), stdout=io.StringIO())

    assert len(sheet(target.read_bytes())) == 3


def test_command_needs_a_file_for_the_spreadsheet(grants):
    with pytest.raises(CommandError, match="needs --output"):
        call_command("export_360giving", format="xlsx", stdout=io.StringIO())


def test_page_spreadsheet_download(client, staff_carol, grants, cohort):
    client.force_login(staff_carol)

    response = client.get(f"/evaluation/impact/cohorts/{cohort.pk}/360giving.xlsx")

    assert response.status_code == 200
    assert response["Content-Type"] == giving360.XLSX_CONTENT_TYPE
    assert response["Content-Disposition"].endswith('.xlsx"')
    assert len(sheet(response.content)) == 3


def test_command_refuses_to_write_an_empty_package(cohort):
    with pytest.raises(CommandError, match="No awarded grants"):
        call_command("export_360giving", cohort=cohort.pk, stdout=io.StringIO())


def test_command_refuses_an_unknown_cohort(db):
    with pytest.raises(CommandError, match="No cohort with id 999999"):
        call_command("export_360giving", cohort=999999, stdout=io.StringIO())


def test_page_json_download_validates(client, staff_carol, grants, cohort):
    client.force_login(staff_carol)

    response = client.get(f"/evaluation/impact/cohorts/{cohort.pk}/360giving.json")

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert errors(PACKAGE_SCHEMA, json.loads(response.content)) == []


def test_demo_data_export_validates(db, django_user_model):
    """seed_demo's ENTHUSE 2014–16 cohort, exported with the command, is a valid package."""
    from portal.management.commands.seed_demo import Command as SeedDemo

    SeedDemo().handle(without_outcomes=True)  # grants only: the outcome data is not exported
    out = io.StringIO()

    call_command("export_360giving", stdout=out)

    package = json.loads(out.getvalue())
    assert len(package["grants"]) >= 38
    assert errors(PACKAGE_SCHEMA, package) == []
