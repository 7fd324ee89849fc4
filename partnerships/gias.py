"""Import the DfE "Get Information about Schools" (GIAS) all-establishments CSV, any layout since 2021.

The service the command, the daily refresh and the admin upload all call is
`import_gias(path_or_file, *, report=None, ...) -> ImportReport`.

Columns are found by name, in any order. Only five are required (REQUIRED_COLUMNS: URN,
EstablishmentName, TypeOfEstablishment, EstablishmentStatus, PhaseOfEducation); every other
field we keep (OPTIONAL_COLUMNS) is imported when the file has its column and left as it is
when it does not. So the 2025 layout, which dropped `OfstedLastInsp`,
`OfstedSpecialMeasures (code)/(name)` and `OfstedRating (name)`, imports like the 2021 and
2024 ones; Ofsted judgements come from Ofsted's own files (`partnerships/ofsted.py`).

Reading (portal.csvread, the reader every importer uses): GIAS publishes Windows-1252. The file
is scanned once before import: if every byte
decodes as UTF-8 it is read as UTF-8 (a byte-order mark is dropped), otherwise as cp1252 (so
`’` is U+2019, not a control character). A file that is not text — NUL or other control
bytes, UTF-16, bytes cp1252 does not define — is refused with the line it fails on.

Rows: matched by URN. A row whose `LastChangedDate` equals the one stored for the school is
skipped without being parsed or compared (`skipped`); pass `full=True` to compare every row.
Other rows are compared field by field: identical ones count as `unchanged` (no UPDATE).

Batches and atomicity: the file is streamed and written in batches (one SELECT a batch, then on
PostgreSQL one COPY and one INSERT ... ON CONFLICT, elsewhere one INSERT and one UPDATE, whatever
its size), all inside one transaction: a file-level failure
(`GiasFileError`: unreadable, missing column, not text, empty) leaves nothing behind. A bad
row is not fatal: it is left out, and reported in `report.errors` with its line and reason.
"""

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.utils import timezone

from partnerships import opportunity_areas
from partnerships.models import Funding, OfstedRating, Phase, School
from portal import csvread

# GIAS column -> our key. The five a file must have:
REQUIRED_COLUMNS = {
    "URN": "urn",
    "EstablishmentName": "name",
    "TypeOfEstablishment (name)": "establishment_type",
    "EstablishmentStatus (name)": "status",
    "PhaseOfEducation (name)": "phase",
}
# ... and the ones imported when present (the key is the School field, except lsoa_name).
OPTIONAL_COLUMNS = {
    "LA (name)": "local_authority",
    "LA (code)": "la_code",
    "GOR (name)": "region",
    "DistrictAdministrative (name)": "district",
    "DistrictAdministrative (code)": "district_code",
    "AdministrativeWard (code)": "ward_code",
    "LSOA (code)": "lsoa_code",
    "LSOA (name)": "lsoa_name",
    "ParliamentaryConstituency (code)": "constituency_code",
    "Postcode": "postcode",
    "NumberOfPupils": "pupils",
    "PercentageFSM": "fsm_percent",
    "OfstedRating (name)": "ofsted_rating",
    "SchoolWebsite": "website",
    "Trusts (code)": "trust_code",
    "Trusts (name)": "trust_name",
    "Federations (code)": "federation_code",
    "Federations (name)": "federation_name",
    "Easting": "easting",
    "Northing": "northing",
    "LastChangedDate": "last_changed_on",
}
# The columns whose values place a school in an Opportunity Area.
GEOGRAPHY = {"district", "district_code", "ward_code", "lsoa_code", "lsoa_name"}
# School fields every import sets, and those an optional column sets.
BASE_FIELDS = ["name", "phase", "establishment_type", "funding", "is_open"]
STANDING_FIELDS = ("phase", "establishment_type", "funding")  # a change may end eligibility
SCHOOL_FIELDS = set(OPTIONAL_COLUMNS.values()) - {"lsoa_name"}

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

# Text fields: School field -> (GIAS column for messages, longest allowed).
TEXT = {
    "name": ("EstablishmentName", 200),
    "establishment_type": ("TypeOfEstablishment (name)", 100),
    "local_authority": ("LA (name)", 100),
    "region": ("GOR (name)", 100),
    "district": ("DistrictAdministrative (name)", 100),
    "postcode": ("Postcode", 10),
    "website": ("SchoolWebsite", 200),
    "la_code": ("LA (code)", 3),
    "district_code": ("DistrictAdministrative (code)", 9),
    "ward_code": ("AdministrativeWard (code)", 9),
    "lsoa_code": ("LSOA (code)", 9),
    "constituency_code": ("ParliamentaryConstituency (code)", 9),
    "trust_code": ("Trusts (code)", 20),
    "trust_name": ("Trusts (name)", 200),
    "federation_code": ("Federations (code)", 20),
    "federation_name": ("Federations (name)", 200),
}
MAX_INT = 2_147_483_647


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
    """What one import did. `rows` counts data rows read; each ends in exactly one of
    created, updated, unchanged (compared, identical), skipped (same LastChangedDate as
    stored, not compared) or errors."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[Rejected] = field(default_factory=list)
    encoding: str = ""
    columns: list[str] = field(default_factory=list)  # the optional columns the file had
    dry_run: bool = False
    # Schools that may have stopped counting (closed, or their type, funding or phase changed):
    # their partnerships' minimum is re-checked after the import (services.schools_changed).
    changed_standing: list[int] = field(default_factory=list)
    # Memberships of open partnerships moved to a closed school's successor, and those left (why).
    memberships_moved: int = 0
    memberships_left: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> list[Rejected]:
        return self.errors

    @property
    def changed(self) -> int:
        return self.created + self.updated

    def summary(self) -> str:
        return (
            f"{self.rows} rows: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.skipped} skipped (unchanged since LastChangedDate), "
            f"{len(self.errors)} rejected"
        )


def phase_for(phase_name: str, establishment_type: str) -> str:
    if establishment_type.strip().lower() in FE_COLLEGE_TYPES:
        return Phase.FE_COLLEGE
    return PHASES.get(phase_name.strip().lower(), Phase.OTHER)


def funding_for(establishment_type: str) -> str:
    kind = establishment_type.strip().lower()
    if "independent" in kind or kind in INDEPENDENT_TYPES:
        return Funding.INDEPENDENT
    return Funding.STATE


def parse_date(text: str, column: str) -> date | None:
    """GIAS dates are dd-mm-yyyy (older downloads and Excel re-saves: dd/mm/yyyy, ISO)."""
    text = text.strip()
    if not text:
        return None
    try:
        if len(text) == 10 and text[4] == "-":
            return date.fromisoformat(text)
        day, month, year = re.split(r"[-/]", text)
        return date(int(year), int(month), int(day))
    except ValueError:
        raise RowError(f"{column} {text!r} is not a date (dd-mm-yyyy)") from None


def _whole(text: str, column: str) -> int | None:
    text = text.strip()
    if text.lower() in NO_FIGURE:
        return None
    if text.isdigit() and int(text) <= MAX_INT:
        return int(text)
    raise RowError(f"{column} {text!r} is not a whole number")


def parse_row(raw: dict[str, str], current_area: str = "") -> dict:
    """GIAS values (keyed as the columns' keys; optional keys only when the file has them)
    -> School field values. RowError if a value is bad."""
    urn_text = raw["urn"].strip()
    if not urn_text.isdigit() or not 0 < int(urn_text) <= MAX_INT:
        raise RowError(f"URN {urn_text!r} is not a whole number" if urn_text else "URN is missing")
    values = {"urn": int(urn_text)}

    for key, (column, limit) in TEXT.items():
        if key in raw:
            text = " ".join(raw[key].split())
            if len(text) > limit:
                raise RowError(f"{column} is longer than {limit} characters")
            values[key] = text
    if not values["name"]:
        raise RowError("EstablishmentName is missing")
    if "postcode" in values:
        values["postcode"] = values["postcode"].upper()

    status = raw["status"].strip().lower()
    if status not in STATUSES:
        raise RowError(f"establishment status {raw['status'].strip()!r} is not a GIAS status")
    values["is_open"] = STATUSES[status]
    values["phase"] = phase_for(raw["phase"], values["establishment_type"])
    values["funding"] = funding_for(values["establishment_type"])

    if "ofsted_rating" in raw:
        values["ofsted_rating"] = OFSTED.get(raw["ofsted_rating"].strip().lower(), OfstedRating.NOT_RATED)
    if "pupils" in raw:
        values["pupils"] = _whole(raw["pupils"], "NumberOfPupils")
    for key, column in (("easting", "Easting"), ("northing", "Northing")):
        if key in raw:
            values[key] = _whole(raw[key], column)
    if "last_changed_on" in raw:
        values["last_changed_on"] = parse_date(raw["last_changed_on"], "LastChangedDate")

    if "fsm_percent" in raw:
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

    if GEOGRAPHY & raw.keys():
        values["opportunity_area"] = opportunity_areas.classify(
            district_code=values.get("district_code", ""),
            district_name=values.get("district", ""),
            lsoa_code=values.get("lsoa_code", ""),
            lsoa_name=raw.get("lsoa_name", ""),
            ward_code=values.get("ward_code", ""),
            current=current_area,
        )
    return values


# --- Reading the file (portal.csvread) ------------------------------------------------------


def _columns(file: csvread.CsvFile) -> dict[str, int]:
    name, positions = file.name, file.positions
    missing = [column for column in REQUIRED_COLUMNS if column not in positions]
    if missing:
        raise GiasFileError(
            f"{name} is missing required column{'s' if len(missing) > 1 else ''}: "
            + ", ".join(f'"{column}"' for column in missing)
            + ". Is this the GIAS all-establishments CSV?"
        )
    columns = {key: positions[column] for column, key in REQUIRED_COLUMNS.items()}
    columns |= {key: positions[column] for column, key in OPTIONAL_COLUMNS.items() if column in positions}
    return columns


def import_gias(
    path_or_file,
    *,
    report: ImportReport | None = None,
    encoding: str = "auto",
    batch_size: int = 1000,
    dry_run: bool = False,
    full: bool = False,
    progress: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Import a GIAS all-establishments CSV (a path, or a binary file object such as an upload).

    Returns the report (pass `report` to have an object you hold filled in as it goes, e.g. for
    a progress bar; `progress(report)` is called after each batch). `encoding="auto"` detects
    UTF-8 or Windows-1252; `full=True` compares rows even when their LastChangedDate is the one
    stored. Raises GiasFileError, and then nothing was changed.
    """
    report = report if report is not None else ImportReport()
    report.dry_run = dry_run
    with csvread.read_csv(path_or_file, encoding=encoding, error=GiasFileError) as file:
        report.encoding, name = file.encoding, file.name
        columns = _columns(file)
        report.columns = [c for c, key in OPTIONAL_COLUMNS.items() if key in columns]
        with transaction.atomic():
            _import_rows(file, columns, report, batch_size, progress, full=full)
            report.errors.sort(key=lambda error: error.line)
            if report.rows == 0:
                raise GiasFileError(f"{name} is empty: it has a header but no rows.")
            if report.changed_standing and not dry_run:
                from partnerships import services  # services sits above the importer

                # A school closed by this file whose successor is known: its open memberships move
                # first, so the minimum is re-checked only where a school really left.
                followed = services.memberships_follow_successors(
                    school_ids=report.changed_standing, source=f"GIAS register {name}"
                )
                report.memberships_moved, report.memberships_left = len(followed.moved), followed.left
                services.schools_changed(
                    school_ids=report.changed_standing,
                    reason=f"The GIAS register import ({name}) closed or changed a school.",
                )
            if dry_run:
                transaction.set_rollback(True)
    return report


# --- Writing -----------------------------------------------------------------------------------


@dataclass
class _Pending:
    line: int
    urn: int
    urn_text: str
    row: list[str]
    last_changed_on: date | None


def _import_rows(file, columns, report: ImportReport, batch_size: int, progress, *, full: bool) -> None:
    width = max(columns.values()) + 1
    urn_at, changed_at = columns["urn"], columns.get("last_changed_on")
    fields = [*BASE_FIELDS, *(key for key in columns if key in SCHOOL_FIELDS)]
    if GEOGRAPHY & columns.keys():
        fields.append("opportunity_area")
    seen: dict[int, int] = {}  # URN -> line it was first seen on
    batch: list[_Pending] = []
    copy = _uses_copy()
    if copy:
        _incoming_table(create=True)
    for line, row in file.rows():
        report.rows += 1
        urn_text = row[urn_at].strip() if len(row) > urn_at else ""
        if len(row) < width:
            report.errors.append(Rejected(line, urn_text, f"the row has only {len(row)} columns"))
            continue
        if not urn_text.isdigit() or not 0 < int(urn_text) <= MAX_INT:
            reason = f"URN {urn_text!r} is not a whole number" if urn_text else "URN is missing"
            report.errors.append(Rejected(line, urn_text, reason))
            continue
        urn = int(urn_text)
        first = seen.setdefault(urn, line)
        if first != line:
            report.errors.append(Rejected(line, urn_text, f"URN {urn} already appears on line {first}"))
            continue
        try:
            last_changed = parse_date(row[changed_at], "LastChangedDate") if changed_at is not None else None
        except RowError as exc:
            report.errors.append(Rejected(line, urn_text, str(exc)))
            continue
        batch.append(_Pending(line, urn, urn_text, row, last_changed))
        if len(batch) >= batch_size:
            _write_batch(batch, columns, fields, report, full=full)
            batch = []
            if progress:
                progress(report)
    if batch:
        _write_batch(batch, columns, fields, report, full=full)
        if progress:
            progress(report)
    if copy:
        _incoming_table(create=False)


def _write_batch(
    batch: list[_Pending], columns, fields: list[str], report: ImportReport, *, full: bool
) -> None:
    existing = {
        school.urn: school
        for school in School.objects.filter(urn__in=[p.urn for p in batch]).only(
            "pk", "urn", "last_changed_on", "opportunity_area", "ofsted_source", *fields
        )
    }
    now = timezone.now()
    to_create, to_update = [], []
    for pending in batch:
        school = existing.get(pending.urn)
        if (
            school is not None
            and not full
            and pending.last_changed_on is not None
            and school.last_changed_on == pending.last_changed_on
        ):
            report.skipped += 1
            continue
        raw = {key: pending.row[index] for key, index in columns.items()}
        try:
            values = parse_row(raw, current_area=school.opportunity_area if school else "")
        except RowError as exc:
            report.errors.append(Rejected(pending.line, pending.urn_text, str(exc)))
            continue
        if school is not None and school.ofsted_source and "ofsted_rating" in values:
            values["ofsted_rating"] = school.ofsted_rating  # Ofsted's own file wins over GIAS's copy
        if school is None:
            to_create.append(values)
        elif all(getattr(school, name) == values[name] for name in fields):
            report.unchanged += 1
        else:
            if (school.is_open and not values["is_open"]) or any(
                getattr(school, name) != values[name] for name in STANDING_FIELDS
            ):
                report.changed_standing.append(school.pk)
            for name in fields:
                setattr(school, name, values[name])
            school.updated_at = now
            to_update.append(school)
    if _uses_copy():
        _copy_upsert(to_create, to_update, fields, now)
    else:
        if to_create:
            School.objects.bulk_create([School(**values) for values in to_create])
        if to_update:
            School.objects.bulk_update(to_update, [*fields, "updated_at"])
    report.created += len(to_create)
    report.updated += len(to_update)


# --- PostgreSQL: COPY into a temporary table, then one INSERT ... ON CONFLICT ------------------

# On PostgreSQL a batch is written with COPY (psycopg2 `copy_expert`) into a temporary table and
# moved into the register by one `INSERT ... SELECT ... ON CONFLICT (urn) DO UPDATE`: no model
# instances for new rows, no per-value adaptation, no CASE WHEN per field for updates. Set to
# False to measure the ORM path (bulk_create / bulk_update, also SQLite's) on PostgreSQL.
COPY_ON_POSTGRES = True
INCOMING = "gias_incoming"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value) -> str:
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    return str(value)  # int, Decimal, date, aware datetime: PostgreSQL reads str() of each


def _uses_copy() -> bool:
    return connection.vendor == "postgresql" and COPY_ON_POSTGRES


def _incoming_table(create: bool) -> None:
    """Create (before the first batch) or drop (after the last) the batches' temporary table:
    the register's columns, no defaults or constraints, inside the import's transaction."""
    table = connection.ops.quote_name(School._meta.db_table)
    with connection.cursor() as cursor:
        if create:
            cursor.execute(f"CREATE TEMPORARY TABLE {INCOMING} AS SELECT * FROM {table} WITH NO DATA")
        else:
            cursor.execute(f"DROP TABLE {INCOMING}")


def _copy_upsert(to_create: list[dict], to_update: list[School], fields: list[str], now) -> None:
    if not to_create and not to_update:
        return
    meta = School._meta
    columns = [f for f in meta.concrete_fields if not f.primary_key]
    names = [f.column for f in columns]
    defaults = {f.attname: f.get_default() for f in columns}
    defaults["updated_at"] = now
    buffer = io.StringIO()
    for values in to_create:
        row = defaults | values
        buffer.write("\t".join([_copy_value(row[f.attname]) for f in columns]))
        buffer.write("\n")
    for school in to_update:
        # Only `fields` and updated_at reach an existing row (ON CONFLICT ... SET); the defaults
        # just make the proposed row valid (NOT NULL is checked before the conflict is).
        row = defaults | {name: getattr(school, name) for name in fields} | {"urn": school.urn}
        buffer.write("\t".join([_copy_value(row[f.attname]) for f in columns]))
        buffer.write("\n")
    buffer.seek(0)
    table = connection.ops.quote_name(meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(n) for n in names)
    updated = [connection.ops.quote_name(meta.get_field(name).column) for name in [*fields, "updated_at"]]
    updates = ", ".join(f"{column} = EXCLUDED.{column}" for column in updated)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY {INCOMING} ({quoted}) FROM STDIN", buffer)
        cursor.execute(
            f"WITH incoming AS (DELETE FROM {INCOMING} RETURNING {quoted}) "
            f"INSERT INTO {table} ({quoted}) SELECT {quoted} FROM incoming "
            f"ON CONFLICT (urn) DO UPDATE SET {updates}"
        )
