"""Open a published CSV file as text, whichever of the encodings public bodies use it is in.

DfE and GIAS files come as Windows-1252 (GIAS, older performance tables) or UTF-8, with or
without a byte-order mark. `open_text` finds out which by reading the file once as UTF-8 (in
chunks, so memory stays flat): valid UTF-8 is UTF-8, anything else is read as Windows-1252 — so
`’` (0x92) and `é` (0xE9) come out right, never as control characters. A file with NUL bytes or a
UTF-16 byte-order mark is not a CSV file we can read: `NotText` says so.
"""

import codecs
import io
from pathlib import Path

CHUNK = 1 << 20


class NotText(ValueError):
    """The file is not text in an encoding we read."""


def detect_encoding(path: Path) -> str:
    with path.open("rb") as raw:
        head = raw.read(4)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
            raise NotText(f"{path.name} looks like UTF-16 or a binary file, not a CSV file. Save it as CSV.")
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        raw.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := raw.read(CHUNK):
                if b"\x00" in chunk:
                    raise NotText(f"{path.name} contains NUL bytes: it is not a CSV text file.")
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8"


def open_text(path: Path, encoding: str | None = None) -> tuple[io.TextIOWrapper, str]:
    """The file as text (newline="" for the csv module) and the encoding used. `encoding=None`
    detects it; a UnicodeDecodeError while reading means the file is not text in that encoding."""
    encoding = encoding or detect_encoding(path)
    return path.open(encoding=encoding, newline=""), encoding


def first_bad_line(path: Path, encoding: str) -> int:
    """The number (from 1) of the first line that is not text in `encoding`, for the error message."""
    with path.open("rb") as raw:
        for number, line in enumerate(raw, start=1):
            try:
                line.decode(encoding.replace("-sig", ""))
            except UnicodeDecodeError:
                return number
    return 0
