"""Import the GIAS links file (`links_edubasealldata*.csv`): which establishments succeed which.

Columns, found by name in any order: `URN`, `LinkURN`, `LinkType` (required), `LinkName` and
`LinkEstablishedDate` (optional; dates as GIAS writes them, `01-09-2012`, or ISO). The file is
Windows-1252 or UTF-8 (detected, see portal.csvread). Links are matched on (URN, LinkURN,
LinkType): importing the same file twice changes nothing. A file that cannot be read as a whole
raises GiasLinksFileError and changes nothing; a bad row is skipped and reported with its line.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from partnerships.models import SchoolLink
from portal import csvread

REQUIRED = {"URN": "urn", "LinkURN": "linked_urn", "LinkType": "link_type"}
OPTIONAL = {"LinkName": "linked_name", "LinkEstablishedDate": "established_on"}
DATE_FORMATS = ("%d-%m-%Y", "%d/%m/%Y", "%Y-%m-%d")
MAX_URN = 2_147_483_647
BATCH_SIZE = 1000
FIELDS = ["linked_name", "relation", "established_on", "source"]


class GiasLinksFileError(Exception):
    """The file as a whole cannot be imported; nothing was changed."""


@dataclass
class LinksReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    new_links: list[str] = field(default_factory=list)  # the first few, for the refresh report
    # Memberships of open partnerships moved to a closed school's successor, and those left (why).
    memberships_moved: int = 0
    memberships_left: list[str] = field(default_factory=list)
    encoding: str = ""

    def summary(self) -> str:
        return (
            f"{self.rows} links: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {len(self.rejected)} rejected"
        )


def relation_for(link_type: str) -> str:
    """GIAS link types start with the direction: "Successor", "Successor - amalgamated",
    "Predecessor - Split School" …; "Merged - …" links are followed like successors (lineage);
    "Sixth Form Centre Link" and "Other" have no direction."""
    kind = link_type.strip().lower()
    if kind.startswith("successor"):
        return SchoolLink.Relation.SUCCESSOR
    if kind.startswith("predecessor"):
        return SchoolLink.Relation.PREDECESSOR
    if kind.startswith("merged"):
        return SchoolLink.Relation.MERGED
    return SchoolLink.Relation.OTHER


def _urn(text: str, column: str) -> int:
    text = text.strip()
    if not text.isdigit() or not 0 < int(text) <= MAX_URN:
        raise ValueError(f"{column} {text!r} is not a URN" if text else f"{column} is missing")
    return int(text)


def _date(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"LinkEstablishedDate {text!r} is not a date (dd-mm-yyyy)")


def parse_row(row: list[str], columns: dict[str, int], source: str) -> dict:
    def cell(key):
        index = columns.get(key)
        return row[index] if index is not None and index < len(row) else ""

    values = {
        "urn": _urn(cell("urn"), "URN"),
        "linked_urn": _urn(cell("linked_urn"), "LinkURN"),
        "link_type": " ".join(cell("link_type").split()),
        "linked_name": " ".join(cell("linked_name").split())[:200],
        "established_on": _date(cell("established_on")),
        "source": source[:200],
    }
    if not values["link_type"]:
        raise ValueError("LinkType is missing")
    if len(values["link_type"]) > 100:
        raise ValueError("LinkType is longer than 100 characters")
    if values["urn"] == values["linked_urn"]:
        raise ValueError(f"URN {values['urn']} is linked to itself")
    values["relation"] = relation_for(values["link_type"])
    return values


def import_links(path, *, source: str = "", dry_run: bool = False, progress=None) -> LinksReport:
    """Import the links file (a path or a binary file object); return the report.
    GiasLinksFileError: nothing changed."""
    report = LinksReport()
    with csvread.read_csv(path, error=GiasLinksFileError) as file:
        report.encoding, name, positions = file.encoding, file.name, file.positions
        source = source or name
        missing = [column for column in REQUIRED if column not in positions]
        if missing:
            raise GiasLinksFileError(
                f"{name} is missing column(s) {', '.join(missing)}: is this the GIAS links file "
                "(links_edubasealldata*.csv)?"
            )
        wanted = {**REQUIRED, **OPTIONAL}
        columns = {key: positions[column] for column, key in wanted.items() if column in positions}
        with transaction.atomic():
            _import_rows(file, columns, source, report, progress)
            if report.rows == 0:
                raise GiasLinksFileError(f"{name} is empty: it has a header but no rows.")
            if dry_run:
                transaction.set_rollback(True)
            else:
                from partnerships import services  # services sits above the importer (as in gias.py)

                followed = services.memberships_follow_successors(source=f"links file {name}")
                report.memberships_moved, report.memberships_left = len(followed.moved), followed.left
    return report


def _import_rows(file, columns, source, report: LinksReport, progress) -> None:
    batch, seen = [], {}
    for line, row in file.rows():
        report.rows += 1
        try:
            values = parse_row(row, columns, source)
        except ValueError as exc:
            report.rejected.append((line, str(exc)))
            continue
        key = (values["urn"], values["linked_urn"], values["link_type"])
        if key in seen:
            report.rejected.append((line, f"the same link already appears on line {seen[key]}"))
            continue
        seen[key] = line
        batch.append(values)
        if len(batch) >= BATCH_SIZE:
            _write(batch, report)
            batch = []
            if progress:
                progress(report)
    if batch:
        _write(batch, report)


def _write(batch: list[dict], report: LinksReport) -> None:
    existing = {
        (link.urn, link.linked_urn, link.link_type): link
        for link in SchoolLink.objects.filter(urn__in={values["urn"] for values in batch})
    }
    now = timezone.now()
    create, update = [], []
    for values in batch:
        link = existing.get((values["urn"], values["linked_urn"], values["link_type"]))
        if link is None:
            create.append(SchoolLink(**values))
            if len(report.new_links) < 50:
                report.new_links.append(f"{values['urn']} → {values['linked_urn']} ({values['link_type']})")
        elif all(getattr(link, name) == values[name] for name in FIELDS if name != "source"):
            report.unchanged += 1
        else:
            for name in FIELDS:
                setattr(link, name, values[name])
            link.updated_at = now
            update.append(link)
    SchoolLink.objects.bulk_create(create)
    SchoolLink.objects.bulk_update(update, [*FIELDS, "updated_at"])
    report.created += len(create)
    report.updated += len(update)
