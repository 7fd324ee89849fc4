"""Import outcome values from a CSV file keyed by URN: a hand-made `URN,value` file, or the DfE's
published school-level performance tables as they come (`england_ks2final.csv`,
`england_ks4final.csv`, `england_ks5final.csv`), or any other file through a column mapping.

    import_outcomes_file(path, year=2024, preset="ks4", publication="2023/24 revised") -> report

A **mapping** says which column gives which measure: `{"ATT8SCR": "ks4_attainment8", ...}`; a
column written `A+B` sums several columns (STEM A-level entries over subjects). A preset is a
mapping for a published layout; columns of a preset that a year's file lacks are listed in the
report, not an error (the tables gain and lose columns between years), but a file with none of
them is refused. Column names match whatever their case.

Rows: local-authority and national rows (`RECTYPE` 4, 5 and 7, or no URN) are skipped and
counted. A cell holding a suppression or not-applicable marker (`SUPP`, `NE`, `NP`, `LOWCOV`,
`NEW`, `x`, `c`, `z`, `..`, `:` …) or nothing is missing: no value, counted per marker. A bad
number, an out-of-range value, a repeated or unknown URN is a rejection, reported with its line.

Every value keeps its provenance: the file's name (`source`), the publication and the time of
the import. Values are matched on school, year and measure: a second import of the same file
changes nothing. The file is read as UTF-8 or Windows-1252 by portal.csvread (the reader every
importer uses: a file that is not text is refused before anything is read), streamed in batches,
in one transaction: a file that cannot be read as a whole changes nothing (OutcomesFileError).
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from evaluation.models import OUTCOME_YEAR_MAX, OUTCOME_YEAR_MIN, Measure, OutcomeValue
from evaluation.outcomes import value_in_range
from partnerships.models import School
from portal import csvread

BATCH_SIZE = 1000
REJECTIONS_KEPT = 200

# Markers the DfE performance tables (and the statistics service's files) write instead of a
# figure: suppressed, not entered, not published, low coverage, new school, not applicable …
MISSING_MARKERS = {
    "SUPP",
    "NE",
    "NP",
    "NA",
    "N/A",
    "LOW",
    "LOWCOV",
    "NEW",
    "SP",
    "X",
    "C",
    "Z",
    "U",
    "..",
    ":",
    "-",
}
# RECTYPE of rows that are not a school: local-authority totals and the national totals.
NOT_SCHOOL_RECTYPES = {"4", "5", "7"}


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    file_pattern: str
    columns: dict[str, str]  # column (or A+B) -> measure


PRESETS = {
    preset.key: preset
    for preset in (
        Preset(
            "ks2",
            "DfE KS2 school-level performance tables",
            "england_ks2final.csv",
            {"PTRWM_EXP": Measure.KS2_RWM_EXPECTED, "PTSCITA_EXP": Measure.KS2_SCIENCE_TA},
        ),
        Preset(
            "ks4",
            "DfE KS4 school-level performance tables",
            "england_ks4final.csv",
            {
                "ATT8SCR": Measure.KS4_ATTAINMENT8,
                "P8MEA": Measure.KS4_PROGRESS8,
                "ATT8SCR_FSM6CLA1A": Measure.KS4_ATTAINMENT8_DISADVANTAGED,
                "ATT8SCR_NFSM6CLA1A": Measure.KS4_ATTAINMENT8_OTHER,
                "PTSCI3_E": Measure.KS4_TRIPLE_SCIENCE,
            },
        ),
        Preset(
            "ks5",
            "DfE KS5 school-level performance tables (STEM A-level entries)",
            "england_ks5final.csv",
            {"NUMENT_STEM_ALEV": Measure.POST16_STEM_ALEVEL_ENTRIES},
        ),
    )
}


class OutcomesFileError(Exception):
    """The file as a whole cannot be imported (or the options are wrong); nothing was changed."""


@dataclass
class OutcomesReport:
    source: str = ""
    publication: str = ""
    year: int = 0
    encoding: str = ""
    mapping: dict[str, str] = field(default_factory=dict)
    columns_absent: list[str] = field(default_factory=list)
    rows: int = 0
    skipped_not_school: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    missing: Counter = field(default_factory=Counter)  # marker (or "blank") -> cells
    rejections: list[str] = field(default_factory=list)  # the first REJECTIONS_KEPT, "line N: …"
    by_measure: Counter = field(default_factory=Counter)  # measure -> values created or updated

    def summary(self) -> str:
        missing = sum(self.missing.values())
        markers = ", ".join(f"{marker} {n}" for marker, n in sorted(self.missing.items()))
        return (
            f"{self.rows} rows ({self.skipped_not_school} local-authority/national rows skipped): "
            f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}, "
            f"rejected {self.rejected}, missing {missing}" + (f" ({markers})" if markers else "")
        )


def parse_mapping(items: list[str]) -> dict[str, str]:
    """`["ATT8SCR=ks4_attainment8", "A+B=post16_stem_alevel_entries"]` -> mapping; errors say which."""
    mapping = {}
    for item in items:
        column, sep, measure = item.partition("=")
        column, measure = column.strip(), measure.strip()
        if not sep or not column or not measure:
            raise OutcomesFileError(f"--map {item!r}: write COLUMN=MEASURE, e.g. ATT8SCR=ks4_attainment8.")
        if measure not in Measure.values:
            raise OutcomesFileError(
                f"--map {item!r}: unknown measure {measure!r} (one of {', '.join(Measure.values)})."
            )
        mapping[column] = measure
    return mapping


def mapping_for(
    *, preset: str | None = None, mapping: dict[str, str] | None = None, measure: str | None = None
) -> dict[str, str]:
    """The column -> measure mapping from a preset, an explicit mapping and/or the old single
    measure (`value` column), the explicit entries winning."""
    found: dict[str, str] = {}
    if preset:
        if preset not in PRESETS:
            raise OutcomesFileError(f"Unknown preset {preset!r}: use one of {', '.join(PRESETS)}.")
        found.update(PRESETS[preset].columns)
    if measure:
        if measure not in Measure.values:
            raise OutcomesFileError(f"Unknown measure {measure!r}: use one of {', '.join(Measure.values)}.")
        found["value"] = measure
    found.update(mapping or {})
    if not found:
        raise OutcomesFileError(
            "Say what to import: a preset (ks2, ks4, ks5), --map COLUMN=MEASURE or --measure."
        )
    if len(set(found.values())) != len(found):
        repeated = [m for m, n in Counter(found.values()).items() if n > 1]
        raise OutcomesFileError(f"Two columns give the same measure: {', '.join(repeated)}.")
    return found


def check_year(year) -> int:
    text = str(year)
    if not (text.isdigit() and len(text) == 4 and OUTCOME_YEAR_MIN <= int(text) <= OUTCOME_YEAR_MAX):
        raise OutcomesFileError(f"Bad year {text!r}: give the year the academic year ends in, e.g. 2016.")
    return int(text)


def import_outcomes_file(
    path: str | Path,
    *,
    year,
    preset: str | None = None,
    mapping: dict[str, str] | None = None,
    measure: str | None = None,
    publication: str = "",
    source: str = "",
    progress: Callable[[OutcomesReport], None] | None = None,
) -> OutcomesReport:
    path = Path(path)
    columns_wanted = mapping_for(preset=preset, mapping=mapping, measure=measure)
    report = OutcomesReport(
        source=(source or path.name)[:200], publication=publication.strip()[:100], year=check_year(year)
    )
    if not path.is_file():
        raise OutcomesFileError(f"No such file: {path}")
    try:
        with csvread.read_csv(path, error=_Unreadable) as file:
            report.encoding = file.encoding
            with transaction.atomic():
                _Importer(file, columns_wanted, report, progress).run()
    except _Unreadable as exc:
        raise OutcomesFileError(f"{exc} Nothing was imported.") from None
    return report


class _Unreadable(Exception):
    """The file as a whole cannot be read (portal.csvread): turned into an OutcomesFileError."""


class _Reject(Exception):
    pass


class _Importer:
    def __init__(self, file: csvread.CsvFile, wanted: dict[str, str], report: OutcomesReport, progress):
        self.file, self.wanted, self.report, self.progress = file, wanted, report, progress
        self.seen: set[int] = set()
        self.now = timezone.now()

    def run(self) -> None:
        header = self.file.header  # an empty file or header: refused by csvread
        positions = {cell.strip().lower(): index for index, cell in enumerate(header)}
        if "urn" not in positions:
            raise OutcomesFileError(
                f"Missing column(s): urn (found: {', '.join(header[:12])}). Nothing was imported."
            )
        self.urn_col = positions["urn"]
        self.rectype_col = positions.get("rectype")
        self.columns: dict[str, list[int]] = {}  # measure -> the positions summed
        for column, measure in self.wanted.items():
            parts = [part.strip().lower() for part in column.split("+")]
            if all(part in positions for part in parts):
                self.columns[measure] = [positions[part] for part in parts]
            else:
                self.report.columns_absent.append(column)
        if not self.columns:
            raise OutcomesFileError(
                f"Missing column(s): {', '.join(self.wanted)} (found: {', '.join(header[:12])}"
                f"{' …' if len(header) > 12 else ''}). Nothing was imported."
            )
        self.report.mapping = {
            "+".join(header[i].strip() for i in where): measure for measure, where in self.columns.items()
        }
        batch = []
        for line, row in self.file.rows():
            self.report.rows += 1
            batch.append((line, row))
            if len(batch) >= BATCH_SIZE:
                self.save(batch)
                batch = []
                if self.progress:
                    self.progress(self.report)
        if batch:
            self.save(batch)
        if self.report.rows == 0:
            raise OutcomesFileError("The file has a header but no data rows. Nothing was imported.")

    def reject(self, line: int, reason: str) -> None:
        self.report.rejected += 1
        if len(self.report.rejections) < REJECTIONS_KEPT:
            self.report.rejections.append(f"line {line}: {reason}")

    def number(self, raw: str) -> Decimal | None:
        """The cell's figure; None (and counted) for a marker or a blank; _Reject if not a number."""
        text = raw.strip()
        if not text:
            self.report.missing["blank"] += 1
            return None
        if text.upper() in MISSING_MARKERS:
            self.report.missing[text] += 1
            return None
        try:
            value = Decimal(text.removesuffix("%").replace(",", "").strip())
        except InvalidOperation:
            raise _Reject(f"value {raw.strip()!r} is not a number") from None
        if not value.is_finite():
            raise _Reject(f"value {raw.strip()!r} is not a number")
        return value

    def parse(self, line: int, row: list[str]) -> tuple[int, dict[str, Decimal]] | None:
        """(URN, measure -> value) of a school row; None for a skipped row; _Reject if bad."""
        rectype = ""
        if self.rectype_col is not None and self.rectype_col < len(row):
            rectype = row[self.rectype_col].strip()
        raw_urn = row[self.urn_col].strip() if self.urn_col < len(row) else ""
        if rectype in NOT_SCHOOL_RECTYPES or (not raw_urn and self.rectype_col is not None):
            self.report.skipped_not_school += 1
            return None
        if not raw_urn.isdigit():
            raise _Reject(f"URN {raw_urn!r} is not a number")
        urn = int(raw_urn)
        if urn in self.seen:
            raise _Reject(f"URN {urn} appears more than once; the first row was kept")
        self.seen.add(urn)
        values = {}
        for measure, positions in self.columns.items():
            if max(positions) >= len(row):
                raise _Reject(f"URN {urn}: has {len(row)} column(s), expected at least {max(positions) + 1}")
            try:
                parts = [self.number(row[i]) for i in positions]
            except _Reject as exc:
                self.reject(line, f"URN {urn}: {exc}")
                continue
            if any(part is None for part in parts):
                continue  # missing: counted per marker by number()
            value = sum(parts, Decimal(0)).quantize(Decimal("0.01"))
            if not value_in_range(measure, value):
                self.reject(line, f"URN {urn}: value {value} is out of range for {measure}")
                continue
            values[measure] = value
        return urn, values

    def save(self, batch) -> None:
        parsed = []
        for line, row in batch:
            try:
                found = self.parse(line, row)
            except _Reject as exc:
                self.reject(line, str(exc))
                continue
            if found is not None:
                parsed.append((line, *found))
        schools = dict(School.objects.filter(urn__in=[urn for _, urn, _ in parsed]).values_list("urn", "id"))
        existing = {
            (o.school_id, o.measure): o
            for o in OutcomeValue.objects.filter(
                year=self.report.year, measure__in=list(self.columns), school_id__in=list(schools.values())
            )
        }
        report, create, update = self.report, [], []
        for line, urn, values in parsed:
            if urn not in schools:
                self.reject(line, f"URN {urn} is not in the schools register (unknown URN)")
                continue
            for measure, value in values.items():
                current = existing.get((schools[urn], measure))
                if current is None:
                    create.append(
                        OutcomeValue(
                            school_id=schools[urn],
                            year=report.year,
                            measure=measure,
                            value=value,
                            source=report.source,
                            publication=report.publication,
                            imported_at=self.now,
                        )
                    )
                elif (
                    current.value != value
                    or current.is_synthetic
                    or (current.source, current.publication) != (report.source, report.publication)
                ):
                    current.value, current.is_synthetic = value, False
                    current.source, current.publication = report.source, report.publication
                    current.imported_at = current.updated_at = self.now  # bulk_update skips auto_now
                    update.append(current)
                else:
                    report.unchanged += 1
                    continue
                report.by_measure[measure] += 1
        OutcomeValue.objects.bulk_create(create, batch_size=BATCH_SIZE)
        if update:
            OutcomeValue.objects.bulk_update(
                update, ["value", "source", "publication", "is_synthetic", "imported_at", "updated_at"]
            )
        report.created += len(create)
        report.updated += len(update)


# --- On the staff upload page (partnerships.imports) ------------------------------------------


def _run_for_upload(path: Path, options: dict, progress) -> dict:
    from partnerships.imports import ImportFailed

    try:
        report = import_outcomes_file(
            path,
            year=options.get("year", ""),
            preset=options.get("preset") or None,
            mapping=parse_mapping(options.get("mapping") or []),
            measure=options.get("measure") or None,
            publication=options.get("publication", ""),
            source=options.get("file_name", ""),
            progress=lambda r: progress(r.rows),
        )
    except OutcomesFileError as exc:
        raise ImportFailed(str(exc)) from None
    return {
        "summary": report.summary(),
        "rows": report.rows,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": report.rejected,
        "missing": dict(report.missing),
        "columns_absent": report.columns_absent,
        "rejections": report.rejections,
        "publication": report.publication,
    }


def register_importer() -> None:
    from partnerships.imports import Importer, register

    register(
        Importer(
            "outcomes",
            "Outcomes (DfE performance tables or URN,value)",
            _run_for_upload,
            help="Give the year; a preset for the DfE tables, or a measure for a URN,value file.",
            option_names=("year", "preset", "measure", "mapping", "publication"),
        )
    )
