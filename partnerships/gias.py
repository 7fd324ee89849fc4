"""Import the DfE "Get Information about Schools" (GIAS) all-establishments CSV.

The file is read as published: latin-1, one establishment per row, about 130 columns of
which we keep twelve (REQUIRED_COLUMNS); extra columns are ignored. Schools are matched by
URN, so importing the same file twice changes nothing. The file is streamed: rows are parsed
one at a time and written in batches (`bulk_create`/`bulk_update`), so memory does not grow
with the file, apart from the set of URNs already seen (to report duplicates).

A file that cannot be read as a whole (wrong encoding, missing column, empty) raises
`GiasFileError` and changes nothing: the header is checked before anything is written, and
the whole import runs in one transaction so that a failure half-way leaves no trace.
A single bad row is not fatal: it is skipped and reported with its line number and reason.
"""

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from partnerships.models import Funding, OfstedRating, Phase, School

OPPORTUNITY_AREAS_FILE = Path(__file__).resolve().parent / "data" / "opportunity_areas.csv"

# GIAS column -> our key (see School)
REQUIRED_COLUMNS = {
    "URN": "urn",
    "EstablishmentName": "name",
    "TypeOfEstablishment (name)": "establishment_type",
    "EstablishmentStatus (name)": "status",
    "PhaseOfEducation (name)": "phase",
    "LA (name)": "local_authority",
    "GOR (name)": "region",
    "DistrictAdministrative (name)": "district",
    "Postcode": "postcode",
    "NumberOfPupils": "pupils",
    "PercentageFSM": "fsm_percent",
    "OfstedRating (name)": "ofsted_rating",
}

# The School fields an import sets (and compares, to count unchanged rows).
FIELDS = [
    "name",
    "phase",
    "establishment_type",
    "funding",
    "local_authority",
    "region",
    "district",
    "postcode",
    "pupils",
    "fsm_percent",
    "ofsted_rating",
    "is_open",
    "opportunity_area",
]

PHASES = {
    "primary": Phase.PRIMARY,
    "middle deemed primary": Phase.PRIMARY,
    "secondary": Phase.SECONDARY,
    "middle deemed secondary": Phase.SECONDARY,
    "all-through": Phase.ALL_THROUGH,
    "all through": Phase.ALL_THROUGH,
    "16 plus": Phase.SIXTEEN_PLUS,
}
# Establishment types that make a school an FE college whatever its phase says.
FE_COLLEGE_TYPES = {"further education"}
# Establishment types that are not state-funded (besides any type naming "independent").
INDEPENDENT_TYPES = {"british schools overseas", "offshore schools"}

STATUSES = {
    "open": True,
    "open, but proposed to close": True,
    "closed": False,
    "proposed to open": False,
}

OFSTED = {
    "": OfstedRating.NOT_RATED,
    "outstanding": OfstedRating.OUTSTANDING,
    "good": OfstedRating.GOOD,
    "requires improvement": OfstedRating.REQUIRES_IMPROVEMENT,
    "inadequate": OfstedRating.INADEQUATE,
    "serious weaknesses": OfstedRating.INADEQUATE,
    "special measures": OfstedRating.INADEQUATE,
}
# GIAS writes these where a figure is withheld or not applicable.
NO_FIGURE = {"", "supp", "ne", "na", "n/a", "x"}

MAX_LENGTHS = {
    "name": 200,
    "establishment_type": 100,
    "local_authority": 100,
    "region": 100,
    "district": 100,
    "postcode": 10,
}
MAX_URN = 2_147_483_647

# A UTF-8 multi-byte sequence read as latin-1 shows as Ã© and the like: a lead byte
# (U+00C2–U+00F4) followed by a continuation byte (U+0080–U+00BF).
MOJIBAKE = re.compile("[\u00c2-\u00f4][\u0080-\u00bf]")


class GiasFileError(Exception):
    """The file as a whole cannot be imported; nothing was changed."""


class RowError(ValueError):
    """One row cannot be imported; the reason is the message."""


@dataclass
class Rejected:
    line: int
    urn: str
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejected] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.rows} rows: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {len(self.rejected)} rejected"
        )


@cache
def opportunity_areas() -> dict[str, str]:
    """District (lower case) -> Opportunity Area, from partnerships/data/opportunity_areas.csv."""
    with OPPORTUNITY_AREAS_FILE.open(encoding="utf-8", newline="") as handle:
        return {
            row["district"].strip().lower(): row["opportunity_area"].strip() for row in csv.DictReader(handle)
        }


def phase_for(phase_name: str, establishment_type: str) -> str:
    if establishment_type.strip().lower() in FE_COLLEGE_TYPES:
        return Phase.FE_COLLEGE
    return PHASES.get(phase_name.strip().lower(), Phase.OTHER)


def funding_for(establishment_type: str) -> str:
    kind = establishment_type.strip().lower()
    if "independent" in kind or kind in INDEPENDENT_TYPES:
        return Funding.INDEPENDENT
    return Funding.STATE


def parse_row(raw: dict[str, str]) -> dict:
    """GIAS values (keyed as REQUIRED_COLUMNS' values) -> School field values; RowError if bad."""
    urn_text = raw["urn"].strip()
    if not urn_text.isdigit() or not 0 < int(urn_text) <= MAX_URN:
        raise RowError(f"URN {urn_text!r} is not a whole number" if urn_text else "URN is missing")
    values = {"urn": int(urn_text)}

    text = {key: " ".join(raw[key].split()) for key in MAX_LENGTHS}
    text["postcode"] = text["postcode"].upper()
    if not text["name"]:
        raise RowError("EstablishmentName is missing")
    for key, limit in MAX_LENGTHS.items():
        if len(text[key]) > limit:
            raise RowError(f"{key.replace('_', ' ')} is longer than {limit} characters")
    values.update(text)

    status = raw["status"].strip().lower()
    if status not in STATUSES:
        raise RowError(f"establishment status {raw['status'].strip()!r} is not a GIAS status")
    values["is_open"] = STATUSES[status]

    values["phase"] = phase_for(raw["phase"], text["establishment_type"])
    values["funding"] = funding_for(text["establishment_type"])
    values["ofsted_rating"] = OFSTED.get(raw["ofsted_rating"].strip().lower(), OfstedRating.NOT_RATED)
    values["opportunity_area"] = opportunity_areas().get(text["district"].lower(), "")

    pupils = raw["pupils"].strip()
    if pupils.lower() in NO_FIGURE:
        values["pupils"] = None
    elif pupils.isdigit() and int(pupils) <= MAX_URN:
        values["pupils"] = int(pupils)
    else:
        raise RowError(f"NumberOfPupils {pupils!r} is not a whole number")

    fsm = raw["fsm_percent"].strip()
    if fsm.lower() in NO_FIGURE:
        values["fsm_percent"] = None
    else:
        try:
            percent = Decimal(fsm)
        except InvalidOperation:
            raise RowError(f"PercentageFSM {fsm!r} is not a number") from None
        if not percent.is_finite() or not 0 <= percent <= 100:
            raise RowError(f"PercentageFSM {fsm!r} is not between 0 and 100")
        values["fsm_percent"] = percent.quantize(Decimal("0.01"))
    return values


def _open_text(path: Path, encoding: str) -> io.TextIOWrapper:
    raw = path.open("rb")
    head = raw.read(4)
    raw.seek(0)
    if not head:
        raw.close()
        raise GiasFileError(f"{path.name} is empty.")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        raw.close()
        raise GiasFileError(
            f"{path.name} looks like UTF-16; GIAS files are latin-1. Save it as CSV (latin-1) and try again."
        )
    if head.startswith(b"\xef\xbb\xbf") and encoding.lower().replace("_", "-") in ("latin-1", "latin1"):
        raw.close()
        raise GiasFileError(
            f"{path.name} is UTF-8 (it starts with a byte-order mark); GIAS files are latin-1. "
            "Use the file as downloaded, or run with --encoding utf-8."
        )
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"
    return io.TextIOWrapper(raw, encoding=encoding, newline="")


def _read_header(reader, path: Path) -> dict[str, int]:
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise GiasFileError(f"{path.name} is empty: it has no header row.")
    positions = {name.strip(): index for index, name in enumerate(header)}
    missing = [column for column in REQUIRED_COLUMNS if column not in positions]
    if missing:
        raise GiasFileError(
            f"{path.name} is missing required column{'s' if len(missing) > 1 else ''}: "
            + ", ".join(f'"{column}"' for column in missing)
            + ". Is this the GIAS all-establishments CSV?"
        )
    return {key: positions[column] for column, key in REQUIRED_COLUMNS.items()}


def import_gias(
    path: str | Path,
    *,
    encoding: str = "latin-1",
    batch_size: int = 1000,
    dry_run: bool = False,
    progress: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Import the file at `path`; return the report. Raises GiasFileError (nothing changed)."""
    path = Path(path)
    if not path.is_file():
        raise GiasFileError(f"{path} does not exist or is not a file.")
    report = ImportReport()
    with _open_text(path, encoding) as handle:
        reader = csv.reader(handle)
        try:
            columns = _read_header(reader, path)
            with transaction.atomic():
                latin = encoding.lower().replace("_", "-") in ("latin-1", "latin1", "iso-8859-1")
                _import_rows(reader, columns, report, batch_size, progress, check_mojibake=latin)
                if dry_run:
                    transaction.set_rollback(True)
        except UnicodeDecodeError as exc:
            raise GiasFileError(
                f"{path.name} is not {encoding} text (line {reader.line_num + 1}: {exc.reason})."
            ) from None
        except csv.Error as exc:
            raise GiasFileError(
                f"{path.name} is not a readable CSV file (line {reader.line_num}: {exc})."
            ) from None
    if report.rows == 0:
        raise GiasFileError(f"{path.name} is empty: it has a header but no rows.")
    return report


def _import_rows(
    reader, columns, report: ImportReport, batch_size: int, progress, *, check_mojibake: bool
) -> None:
    width = max(columns.values()) + 1
    seen: dict[int, int] = {}  # URN -> line it was first seen on
    batch: list[dict] = []
    previous_end = reader.line_num
    for row in reader:
        line, previous_end = previous_end + 1, reader.line_num
        if not row or not any(cell.strip() for cell in row):
            continue
        report.rows += 1
        urn_text = row[columns["urn"]].strip() if len(row) > columns["urn"] else ""
        if len(row) < width:
            report.rejected.append(Rejected(line, urn_text, f"the row has only {len(row)} columns"))
            continue
        raw = {key: row[index] for key, index in columns.items()}
        try:
            values = parse_row(raw)
        except RowError as exc:
            report.rejected.append(Rejected(line, urn_text, str(exc)))
            continue
        if check_mojibake and MOJIBAKE.search(
            values["name"] + values["local_authority"] + values["district"]
        ):
            raise GiasFileError(
                f"Line {line} reads {values['name']!r}: the file looks like UTF-8, but GIAS files are "
                "latin-1. Use the file as downloaded, or run with --encoding utf-8."
            )
        first = seen.setdefault(values["urn"], line)
        if first != line:
            report.rejected.append(
                Rejected(line, urn_text, f"URN {values['urn']} already appears on line {first}")
            )
            continue
        batch.append(values)
        if len(batch) >= batch_size:
            _write_batch(batch, report)
            batch = []
            if progress:
                progress(report)
    if batch:
        _write_batch(batch, report)


def _write_batch(batch: list[dict], report: ImportReport) -> None:
    existing = {
        school.urn: school
        for school in School.objects.filter(urn__in=[values["urn"] for values in batch]).only(
            "pk", "urn", *FIELDS
        )
    }
    now = timezone.now()
    to_create, to_update = [], []
    for values in batch:
        school = existing.get(values["urn"])
        if school is None:
            to_create.append(School(**values))
        elif all(getattr(school, name) == values[name] for name in FIELDS):
            report.unchanged += 1
        else:
            for name in FIELDS:
                setattr(school, name, values[name])
            school.updated_at = now
            to_update.append(school)
    School.objects.bulk_create(to_create)
    School.objects.bulk_update(to_update, [*FIELDS, "updated_at"])
    report.created += len(to_create)
    report.updated += len(to_update)
