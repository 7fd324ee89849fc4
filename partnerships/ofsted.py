"""Import Ofsted's published management information (MI) for state-funded schools.

GIAS stopped carrying Ofsted judgements in April 2025, and Ofsted stopped giving state-funded
schools a single-word overall effectiveness grade from September 2024. The monthly MI file
("Management information – state-funded schools – latest inspections") gives, by URN, the
latest graded inspection and its date, and from 2024 the latest ungraded inspection too.

`import_ofsted_mi(path_or_file, *, publication="", report=None) -> OfstedReport`:

- Columns by name, in either layout (COLUMNS lists the names each has used): before
  September 2024 `Inspection start date` / `Overall effectiveness`; since then
  `Inspection start date of latest OEIF graded inspection` / `Latest OEIF overall
  effectiveness`. Grades are the codes 1–4; a graded inspection without one (`Not judged`,
  blank, `NULL`, 9 — every graded inspection since 2 September 2024) is kept as not judged.
- History: every inspection not seen before becomes an `OfstedInspection` row with its
  source file, publication and import time; nothing is deleted.
- The register: a school in the file gets `ofsted_rating` from its latest graded inspection
  (`not_judged` when that gave no overall grade), `ofsted_inspected_on`, and `ofsted_source`
  naming the file; GIAS imports no longer overwrite it. Schools not in the file are left alone.
- Same file twice: nothing changes. One transaction per file; the file is read (encoding,
  header, file-level errors) by `portal.csvread`, like every importer's.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.utils import timezone

from partnerships.gias import GiasFileError, Rejected, RowError, parse_date
from partnerships.models import OfstedInspection, OfstedRating, School
from portal import csvread

# our key -> the column names Ofsted has used for it (first found wins)
COLUMNS = {
    "urn": ["URN"],
    "started_on": ["Inspection start date of latest OEIF graded inspection", "Inspection start date"],
    "overall_effectiveness": ["Latest OEIF overall effectiveness", "Overall effectiveness"],
    "inspection_type": ["Inspection type of latest OEIF graded inspection", "Inspection type"],
    "published_on": ["Publication date of latest OEIF graded inspection", "Publication date"],
    "ungraded_on": [
        "Date of latest ungraded inspection",
        "Inspection start date of latest ungraded inspection",
    ],
}
REQUIRED = ("urn", "started_on", "overall_effectiveness")

GRADES = {
    "1": OfstedInspection.Judgement.OUTSTANDING,
    "2": OfstedInspection.Judgement.GOOD,
    "3": OfstedInspection.Judgement.REQUIRES_IMPROVEMENT,
    "4": OfstedInspection.Judgement.INADEQUATE,
    "outstanding": OfstedInspection.Judgement.OUTSTANDING,
    "good": OfstedInspection.Judgement.GOOD,
    "requires improvement": OfstedInspection.Judgement.REQUIRES_IMPROVEMENT,
    "inadequate": OfstedInspection.Judgement.INADEQUATE,
}
NOT_JUDGED = {"", "not judged", "null", "9", "n/a", "na"}
RATING = {
    OfstedInspection.Judgement.OUTSTANDING: OfstedRating.OUTSTANDING,
    OfstedInspection.Judgement.GOOD: OfstedRating.GOOD,
    OfstedInspection.Judgement.REQUIRES_IMPROVEMENT: OfstedRating.REQUIRES_IMPROVEMENT,
    OfstedInspection.Judgement.INADEQUATE: OfstedRating.INADEQUATE,
    OfstedInspection.Judgement.NOT_JUDGED: OfstedRating.NOT_JUDGED,
}


@dataclass
class OfstedReport:
    rows: int = 0
    inspections_added: int = 0
    schools_updated: int = 0
    schools_unchanged: int = 0
    not_in_register: int = 0
    not_inspected: int = 0  # rows with no graded inspection date
    errors: list[Rejected] = field(default_factory=list)
    encoding: str = ""

    def summary(self) -> str:
        return (
            f"{self.rows} rows: {self.inspections_added} inspections added, {self.schools_updated} schools "
            f"updated, {self.schools_unchanged} unchanged, {self.not_in_register} not in the register, "
            f"{self.not_inspected} without a graded inspection, {len(self.errors)} rejected"
        )


@dataclass
class _Row:
    line: int
    urn: int
    started_on: date | None
    judgement: str
    inspection_type: str
    published_on: date | None
    ungraded_on: date | None


def parse_mi_row(raw: dict[str, str], line: int) -> _Row:
    urn_text = raw["urn"].strip()
    if not urn_text.isdigit() or int(urn_text) == 0:
        raise RowError(f"URN {urn_text!r} is not a whole number" if urn_text else "URN is missing")
    started_on = parse_date(raw["started_on"], "inspection start date")
    grade = raw["overall_effectiveness"].strip().lower()
    if grade in GRADES:
        judgement = GRADES[grade]
    elif grade in NOT_JUDGED:
        judgement = OfstedInspection.Judgement.NOT_JUDGED
    else:
        raise RowError(
            f"overall effectiveness {raw['overall_effectiveness'].strip()!r} is not 1–4 or 'Not judged'"
        )
    return _Row(
        line=line,
        urn=int(urn_text),
        started_on=started_on,
        judgement=judgement,
        inspection_type=" ".join(raw.get("inspection_type", "").split())[:120],
        published_on=parse_date(raw.get("published_on", ""), "publication date"),
        ungraded_on=parse_date(raw.get("ungraded_on", ""), "ungraded inspection date"),
    )


def import_ofsted_mi(
    path_or_file,
    *,
    publication: str = "",
    report: OfstedReport | None = None,
    batch_size: int = 1000,
    progress: Callable[[OfstedReport], None] | None = None,
) -> OfstedReport:
    """Import an Ofsted MI file (a path or a binary file object). GiasFileError: nothing changed."""
    report = report if report is not None else OfstedReport()
    with csvread.read_csv(path_or_file, error=GiasFileError) as file:
        report.encoding, name, positions = file.encoding, file.name, file.positions
        columns = {}
        for key, names in COLUMNS.items():
            found = next((positions[n] for n in names if n in positions), None)
            if found is not None:
                columns[key] = found
        missing = [COLUMNS[key][-1] for key in REQUIRED if key not in columns]
        if missing:
            raise GiasFileError(
                f"{name} is missing {', '.join(repr(m) for m in missing)} (or its newer name). "
                "Is this Ofsted's management information for state-funded schools?"
            )
        source = f"{name}" + (f" ({publication})" if publication else "")
        with transaction.atomic():
            _import(file, columns, report, source[:200], publication[:200], batch_size, progress)
            if report.rows == 0:
                raise GiasFileError(f"{name} is empty: it has a header but no rows.")
    return report


def _import(file, columns, report, source, publication, batch_size, progress) -> None:
    width = max(columns.values()) + 1
    batch: list[_Row] = []
    seen: dict[int, int] = {}
    for line, row in file.rows():
        report.rows += 1
        if len(row) < width:
            report.errors.append(
                Rejected(line, row[0] if row else "", f"the row has only {len(row)} columns")
            )
            continue
        raw = {key: row[index] for key, index in columns.items()}
        try:
            parsed = parse_mi_row(raw, line)
        except RowError as exc:
            report.errors.append(Rejected(line, raw["urn"].strip(), str(exc)))
            continue
        first = seen.setdefault(parsed.urn, line)
        if first != line:
            report.errors.append(
                Rejected(line, str(parsed.urn), f"URN {parsed.urn} already appears on line {first}")
            )
            continue
        if parsed.started_on is None and parsed.ungraded_on is None:
            report.not_inspected += 1
            continue
        if parsed.started_on is None:
            report.not_inspected += 1
        batch.append(parsed)
        if len(batch) >= batch_size:
            _write(batch, report, source, publication)
            batch = []
            if progress:
                progress(report)
    if batch:
        _write(batch, report, source, publication)
        if progress:
            progress(report)


def _write(batch: list[_Row], report: OfstedReport, source: str, publication: str) -> None:
    urns = [row.urn for row in batch]
    schools = {s.urn: s for s in School.objects.filter(urn__in=urns).only("pk", "urn", *SCHOOL_FIELDS)}
    known = set(OfstedInspection.objects.filter(urn__in=urns).values_list("urn", "kind", "started_on"))
    now = timezone.now()
    new, to_update = [], []
    for row in batch:
        school = schools.get(row.urn)
        if school is None:
            report.not_in_register += 1
        events = []
        if row.started_on:
            events.append((OfstedInspection.Kind.GRADED, row.started_on, row.judgement, row.inspection_type))
        if row.ungraded_on:
            events.append((OfstedInspection.Kind.UNGRADED, row.ungraded_on, "", "Ungraded inspection"))
        for kind, started_on, judgement, inspection_type in events:
            if (row.urn, kind, started_on) in known:
                continue
            new.append(
                OfstedInspection(
                    urn=row.urn,
                    school=school,
                    kind=kind,
                    inspection_type=inspection_type,
                    started_on=started_on,
                    published_on=row.published_on if kind == OfstedInspection.Kind.GRADED else None,
                    overall_effectiveness=judgement,
                    source_file=source,
                    publication=publication,
                    imported_at=now,
                )
            )
        if school is None or row.started_on is None:
            continue
        if school.ofsted_inspected_on and school.ofsted_inspected_on > row.started_on:
            report.schools_unchanged += 1  # an older file: the register already knows better
            continue
        values = {
            "ofsted_rating": RATING[row.judgement],
            "ofsted_inspected_on": row.started_on,
        }
        if all(getattr(school, k) == v for k, v in values.items()) and school.ofsted_source:
            report.schools_unchanged += 1
            continue
        for key, value in values.items():
            setattr(school, key, value)
        school.ofsted_source, school.updated_at = source, now
        to_update.append(school)
    if new:
        OfstedInspection.objects.bulk_create(new)
    if to_update:
        School.objects.bulk_update(to_update, [*SCHOOL_FIELDS, "updated_at"])
    report.inspections_added += len(new)
    report.schools_updated += len(to_update)


SCHOOL_FIELDS = ["ofsted_rating", "ofsted_inspected_on", "ofsted_source"]


def judgement_status(school: School) -> str:
    """How a school's Ofsted judgement reads on screens, with its date or why there is none."""
    on = f"{school.ofsted_inspected_on:%-d %B %Y}" if school.ofsted_inspected_on else ""
    if school.ofsted_rating == OfstedRating.NOT_JUDGED:
        return (
            f"No graded judgement since the inspection of {on}" if on else "No graded judgement"
        ) + " (Ofsted no longer gives state-funded schools an overall effectiveness grade)"
    if school.ofsted_rating == OfstedRating.NOT_RATED:
        return "Not yet inspected (no graded Ofsted judgement)"
    label = school.get_ofsted_rating_display()
    return f"{label} (inspection of {on})" if on else label
