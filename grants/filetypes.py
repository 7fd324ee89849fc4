"""What a file really is, read from its content, never from its name or the browser's claim.

`detect(fileobj)` returns the key of one of the formats the portal accepts (grants.models.
AttachmentType.Format) when the content is that format, else None; `describe(fileobj)` names what
the content looks like instead (puremagic's signatures), for the refusal message. Each format
is recognised by its own signature:

- PDF `%PDF-`, PNG its 8-byte signature, JPEG `FF D8 FF`;
- Word and Excel: a ZIP whose directory has `[Content_Types].xml` and `word/document.xml` or
  `xl/workbook.xml`, with no macros (`vbaProject.bin`): only the directory is read, nothing
  is decompressed;
- CSV: text with no NUL byte, UTF-8 (or Windows-1252 without control bytes), not starting like
  HTML, XML or a script.

The file is read in small pieces (the first 8 KB, the ZIP directory): never whole into memory.
"""

import zipfile

import puremagic

HEAD_BYTES = 8192
MAX_ZIP_ENTRIES = 5000

EXTENSIONS = {"pdf": "pdf", "docx": "docx", "xlsx": "xlsx", "csv": "csv", "png": "png", "jpeg": "jpg"}
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
    "png": "image/png",
    "jpeg": "image/jpeg",
}
# Names a person could give a file of each format (the name must agree with the content).
NAME_EXTENSIONS = {
    "pdf": {"pdf"},
    "docx": {"docx"},
    "xlsx": {"xlsx"},
    "csv": {"csv", "txt"},
    "png": {"png"},
    "jpeg": {"jpg", "jpeg"},
}
MARKUP_STARTS = (b"<", b"#!", b"%!", b"{\\rtf")


def _head(fileobj) -> bytes:
    fileobj.seek(0)
    head = fileobj.read(HEAD_BYTES)
    fileobj.seek(0)
    return head


def _office(fileobj) -> str | None:
    try:
        fileobj.seek(0)
        with zipfile.ZipFile(fileobj) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_ZIP_ENTRIES:
                return None
            names = {info.filename for info in infos}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return None
    finally:
        fileobj.seek(0)
    if "[Content_Types].xml" not in names or any(n.lower().endswith("vbaproject.bin") for n in names):
        return None
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    return None


def _text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    stripped = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if stripped.lower().startswith(MARKUP_STARTS):
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # a character cut by the 8 KB boundary is fine
            try:
                text = head.decode("cp1252")
            except UnicodeDecodeError:
                return False
            if any(ord(c) < 32 and c not in "\t\r\n" for c in text):
                return False
    return True


def detect(fileobj) -> str | None:
    head = _head(fileobj)
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"PK\x03\x04"):
        return _office(fileobj)
    if _text(head):
        return "csv"
    return None


def describe(fileobj) -> str:
    """What the content looks like, in words, for a refusal ("an HTML page", "a Windows program")."""
    head = _head(fileobj)
    if not head:
        return "an empty file"
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script")):
        return "an HTML page"
    if head.startswith(b"MZ"):
        return "a Windows program"
    if head.startswith(b"\x7fELF"):
        return "a Linux program"
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive (or an Office file with macros)"
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        matches = []
    if matches:
        best = matches[0]
        return f"a {best.name or best.extension} file"
    return "a file of unknown type"
