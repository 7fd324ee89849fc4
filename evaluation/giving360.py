"""Awarded grants as 360Giving data (Data Standard 1.4): a JSON package {"grants": [...]}, the
canonical form that is published, and the same grants as a spreadsheet for people (XLSX, the
standard's flat layout: column titles are the schema's titles joined by ":").

There is no CSV any more. A CSV cell beginning with =, +, - or @ runs as a formula in Excel, and
the only way to stop that in CSV is to change the value (a leading apostrophe), which an open
data file must not do. In the XLSX every cell is stored as text, so a spreadsheet shows
"=HYPERLINK(...)" exactly as typed and never evaluates it (docs/evaluation.md, "360Giving").

A grant is an application that was approved or completed. Its identifier is the publisher prefix
(settings.GRANTS_360G_PREFIX, "360G-<publisher>") followed by the application's reference (or its
id when it has none); the recipient is the partnership's lead school, identified by its DfE URN as
GB-EDU-<URN>; the funder comes from settings.FUNDER_ORG_ID and FUNDER_ORG_NAME.
"""

import io
from decimal import Decimal

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from grants.models import Application

AWARDED = (Application.Status.APPROVED, Application.Status.COMPLETED)
VERSION = "1.4"

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# (column title, function of a grant dict) in the 360Giving template's order.
COLUMNS = [
    ("Identifier", lambda g: g["id"]),
    ("Title", lambda g: g["title"]),
    ("Description", lambda g: g["description"]),
    ("Currency", lambda g: g["currency"]),
    ("Amount Awarded", lambda g: g["amountAwarded"]),
    ("Award Date", lambda g: g["awardDate"]),
    ("Recipient Org:Identifier", lambda g: g["recipientOrganization"][0]["id"]),
    ("Recipient Org:Name", lambda g: g["recipientOrganization"][0]["name"]),
    ("Recipient Org:Postal Code", lambda g: g["recipientOrganization"][0].get("postalCode", "")),
    ("Funding Org:Identifier", lambda g: g["fundingOrganization"][0]["id"]),
    ("Funding Org:Name", lambda g: g["fundingOrganization"][0]["name"]),
    ("Grant Programme:Code", lambda g: g["grantProgramme"][0]["code"]),
    ("Grant Programme:Title", lambda g: g["grantProgramme"][0]["title"]),
    ("Planned Dates:Start Date", lambda g: g["plannedDates"][0]["startDate"]),
    ("Planned Dates:End Date", lambda g: g["plannedDates"][0]["endDate"]),
    ("Planned Dates:Duration (months)", lambda g: g["plannedDates"][0]["duration"]),
    ("Beneficiary Location:Name", lambda g: _first(g.get("beneficiaryLocation"), "name")),
    ("Beneficiary Location:Country Code", lambda g: _first(g.get("beneficiaryLocation"), "countryCode")),
    ("Last Modified", lambda g: g["dateModified"]),
]


def _first(items, key):
    return items[0].get(key, "") if items else ""


def awarded_applications(*, cohort_id: int | None = None) -> QuerySet[Application]:
    qs = Application.objects.filter(status__in=AWARDED, awarded__isnull=False).select_related(
        "partnership__lead_school", "cohort__programme"
    )
    if cohort_id is not None:
        qs = qs.filter(cohort_id=cohort_id)
    return qs.order_by("cohort__starts_on", "reference", "id")


def grant_identifier(application: Application) -> str:
    return f"{settings.GRANTS_360G_PREFIX}-{application.reference or application.id}"


def _amount(value: Decimal) -> int | float:
    """A JSON number: whole pounds as an integer, pence kept otherwise."""
    return int(value) if value == value.to_integral_value() else float(value)


def _months(start, end) -> int:
    return max(0, (end.year - start.year) * 12 + end.month - start.month + (1 if end.day >= start.day else 0))


def grant(application: Application) -> dict:
    partnership, cohort = application.partnership, application.cohort
    programme, lead = cohort.programme, partnership.lead_school
    decided = application.decided_at or application.updated_at
    recipient = {"id": f"GB-EDU-{lead.urn}", "name": lead.name}
    if lead.postcode:
        recipient["postalCode"] = lead.postcode
    description = (application.aims or partnership.local_stem_issue or "").strip() or (
        f"A grant to {partnership.name} for sustained teacher CPD and STEM activities."
    )
    data = {
        "id": grant_identifier(application),
        "title": f"{programme.name}: {partnership.name}"[:140],
        "description": description,
        "currency": "GBP",
        "amountAwarded": _amount(application.awarded),
        "awardDate": timezone.localtime(decided).date().isoformat(),
        "recipientOrganization": [recipient],
        "fundingOrganization": [{"id": settings.FUNDER_ORG_ID, "name": settings.FUNDER_ORG_NAME}],
        "grantProgramme": [
            {"code": f"{programme.slug}-{cohort.pk}", "title": f"{programme.name} {cohort.name}"}
        ],
        "plannedDates": [
            {
                "startDate": cohort.starts_on.isoformat(),
                "endDate": cohort.ends_on.isoformat(),
                "duration": _months(cohort.starts_on, cohort.ends_on),
            }
        ],
        "dateModified": timezone.localtime(application.updated_at).isoformat(),
    }
    place = lead.local_authority or lead.region
    if place:
        data["beneficiaryLocation"] = [{"name": place, "countryCode": "GB"}]
    return data


def package(applications) -> dict:
    """A 360Giving package. The standard requires at least one grant: callers check first."""
    return {
        "grants": [grant(application) for application in applications],
        "version": VERSION,
        "title": f"Grants awarded by {settings.FUNDER_ORG_NAME}",
        "issued": timezone.localdate().isoformat(),
        "publisher": {"name": settings.FUNDER_ORG_NAME, "identifier": settings.FUNDER_ORG_ID},
    }


def rows(grants: list[dict]) -> list[list[str]]:
    """The flat table: the titles, then one row per grant, every value as text."""
    table = [[title for title, _ in COLUMNS]]
    for g in grants:
        table.append(["" if value(g) is None else str(value(g)) for _, value in COLUMNS])
    return table


def as_xlsx(grants: list[dict]) -> bytes:
    """The grants as an .xlsx workbook in which every cell is a text cell (never a formula)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("grants")
    for row in rows(grants):
        cells = []
        for text in row:
            cell = WriteOnlyCell(sheet, value=text)
            cell.data_type = "s"  # openpyxl would store text beginning with "=" as a formula
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
