"""Read a published CSV file (GIAS, Ofsted, DfE), whichever of the encodings public bodies use.

One reader for every importer: `read_csv(source, error=...)` opens a path or a binary file object
(an upload; a stream that cannot be rewound is copied to a temporary file once), finds the
encoding, reads the header, and hands back a `CsvFile` whose `rows()` yields (line, cells) for
each non-blank row. Every way the file as a whole can be unreadable — missing, empty, not text,
not CSV, a byte the encoding does not define — raises the importer's own `error` class with a
message naming the file and the line, so the importer's transaction (opened inside the `with`)
is rolled back and nothing is changed.

Encoding (`encoding="auto"`): the file is scanned once, in chunks (memory stays flat). If every
byte decodes as UTF-8 it is read as "utf-8-sig" (a byte-order mark is dropped), otherwise as
"cp1252" — so `’` (0x92) and `é` (0xE9) come out right, never as control characters. A file that
is not text is refused before anything is read: a UTF-16 byte-order mark, a ZIP archive (an .xlsx
or a zipped download), NUL or other C0 control bytes, or bytes Windows-1252 leaves undefined.
"""

import codecs
import csv
import io
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20
# Bytes no CSV text file holds (NUL and the C0 controls other than tab, LF, CR, and Ctrl-Z).
NOT_TEXT = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x19\x1b-\x1f]")
# Bytes Windows-1252 leaves undefined.
NOT_CP1252 = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")


class NotText(ValueError):
    """The file as a whole cannot be read (the default `error` of read_csv)."""


def _line_at(chunk: bytes, position: int, line: int) -> int:
    return line + chunk.count(b"\n", 0, position)


def detect_encoding(raw: BinaryIO, name: str, error: type[Exception] = NotText) -> str:
    """Scan the whole file once: "utf-8-sig" if it is all UTF-8, else "cp1252". `error` (naming
    the line) if it is not text. Leaves `raw` at the start."""
    raw.seek(0)
    head = raw.read(4)
    if not head:
        raise error(f"{name} is empty.")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise error(f"{name} is UTF-16 text; save it as CSV (UTF-8 or Windows-1252) and try again.")
    if head.startswith(b"PK\x03\x04"):
        raise error(f"{name} is a ZIP archive, not a CSV file: extract the CSV from it first.")
    raw.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8, line, bad_cp1252 = True, 1, None
    while chunk := raw.read(CHUNK):
        if match := NOT_TEXT.search(chunk):
            raise error(
                f"{name} is not a text file: line {_line_at(chunk, match.start(), line)} holds the "
                f"byte 0x{match.group()[0]:02x}. Is this the CSV download?"
            )
        if utf8:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                utf8 = False
        if bad_cp1252 is None and (match := NOT_CP1252.search(chunk)):
            bad_cp1252 = (_line_at(chunk, match.start(), line), match.group()[0])
        line += chunk.count(b"\n")
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    raw.seek(0)
    if utf8:
        return "utf-8-sig"
    if bad_cp1252:
        raise error(
            f"{name} is neither UTF-8 nor Windows-1252 text: line {bad_cp1252[0]} holds the byte "
            f"0x{bad_cp1252[1]:02x}."
        )
    return "cp1252"


def first_bad_line(raw: BinaryIO, encoding: str) -> int:
    """The number (from 1) of the first line that is not text in `encoding` (the text wrapper
    reads ahead, so its position says nothing)."""
    raw.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    number = 0
    for number, line in enumerate(raw, start=1):
        try:
            decoder.decode(line)
        except UnicodeDecodeError:
            return number
    return max(number, 1)


def open_binary(source, error: type[Exception] = NotText) -> tuple[BinaryIO, str, bool]:
    """(binary file, display name, whether we opened it) for a path or a binary file object."""
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise error(f"{path} does not exist or is not a file.")
        return path.open("rb"), path.name, True
    name = Path(getattr(source, "name", "") or "upload.csv").name
    if hasattr(source, "seekable") and source.seekable():
        return source, name, False
    spooled = tempfile.TemporaryFile()  # noqa: SIM115 - closed by read_csv; a stream we cannot rewind is copied once
    shutil.copyfileobj(source, spooled)
    return spooled, name, True


@dataclass
class CsvFile:
    name: str
    encoding: str
    reader: object  # csv.reader
    header: list[str] = field(default_factory=list)

    @property
    def positions(self) -> dict[str, int]:
        """Column name (white space folded) -> its first position."""
        found: dict[str, int] = {}
        for index, column in enumerate(self.header):
            found.setdefault(" ".join(column.split()), index)
        return found

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line the row starts on, its cells) for every row that is not blank."""
        previous_end = self.reader.line_num
        for row in self.reader:
            line, previous_end = previous_end + 1, self.reader.line_num
            if row and any(cell.strip() for cell in row):
                yield line, row


def _encoding(encoding: str, raw: BinaryIO, name: str, error) -> str:
    if encoding == "auto":
        return detect_encoding(raw, name, error)
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        return "utf-8-sig"
    codecs.lookup(encoding)  # LookupError for an unknown name
    return encoding


@contextmanager
def read_csv(source, *, encoding: str = "auto", error: type[Exception] = NotText) -> Iterator[CsvFile]:
    """The file (a path or a binary file object) as a CsvFile with its header read; `error` for a
    file that cannot be read as a whole, at any point inside the `with`."""
    raw, name, owned = open_binary(source, error)
    try:
        encoding = _encoding(encoding, raw, name, error)
        handle = io.TextIOWrapper(raw, encoding=encoding, newline="")
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if not header or not any(cell.strip() for cell in header):
                raise error(f"{name} is empty: it has no header row.")
            yield CsvFile(name=name, encoding=encoding, reader=reader, header=header)
        except UnicodeDecodeError as exc:
            line = first_bad_line(raw, encoding)
            raise error(f"{name} is not {encoding} text (line {line}: {exc.reason}).") from None
        except csv.Error as exc:
            raise error(f"{name} is not a readable CSV file (line {reader.line_num}: {exc}).") from None
        finally:
            handle.detach()
    finally:
        if owned:
            raw.close()
