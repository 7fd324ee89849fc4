"""Files on applications (the programme's attachment types) and evidence on reports: the checks
every upload passes, the writes, and the scoped read every download goes through.

An upload is refused, before anything is stored, when its content is not a format the type
allows (grants/filetypes.py reads the content; the name and the browser's content type are
ignored), when it is larger than the type's limit, or when it would take the application's (or
the report's) files past their total. Its name is made safe for the download; the stored path
is a random key. Files are written through Django's storage API (settings.STORAGES["default"]:
the filesystem, or S3-compatible object storage, docs/operations.md), streamed in chunks.
The virus check (grants/scanning.py) runs before the row is saved; a file it does not pass is
kept quarantined and never served.

Drafts keep their files. Submitting freezes the current files with the submitted version;
replacing or removing a frozen file afterwards (when changes are requested) marks it superseded
and keeps it; a file never submitted is deleted when replaced or removed.
"""

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone

from grants import filetypes, scanning
from grants.models import Application, Attachment, AttachmentType, EndOfGrantReport
from grants.selectors import applications_for, is_lead_of
from partnerships.models import Membership, School

EDITABLE_STATES = (Application.Status.DRAFT, Application.Status.CHANGES_REQUESTED)
REPORT_EDITABLE = (EndOfGrantReport.Status.DRAFT, EndOfGrantReport.Status.RETURNED)
EVIDENCE_FORMATS = ("pdf", "png", "jpeg", "docx", "xlsx", "csv")
MAX_EVIDENCE_FILES = 20
CAPTION_LIMIT = 200


def application_files_max_bytes() -> int:
    return getattr(settings, "APPLICATION_FILES_MAX_BYTES", 50 * 1024 * 1024)


def evidence_max_bytes() -> int:
    return getattr(settings, "REPORT_EVIDENCE_MAX_BYTES", 10 * 1024 * 1024)


def report_files_max_bytes() -> int:
    return getattr(settings, "REPORT_FILES_MAX_BYTES", 50 * 1024 * 1024)


def upload_ceiling(request=None) -> int:
    """Where an upload's stream is cut off: the limit of the attachment type the form names in
    its query string (`?type=`), else the largest any upload field takes."""
    type_id = request.GET.get("type", "") if request is not None else ""
    if type_id.isdigit():
        limit = AttachmentType.objects.filter(pk=int(type_id)).values_list("max_bytes", flat=True).first()
        if limit:
            return limit
    largest_type = max(AttachmentType.objects.values_list("max_bytes", flat=True), default=0)
    return max(largest_type, evidence_max_bytes())


def megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")


# --- Reads ------------------------------------------------------------------------------------


def attachments_for(user) -> QuerySet[Attachment]:
    """The files of the applications the user may see (grants.selectors.applications_for): the
    same scoping as the pages they belong to. Downloads fetch through this and 404 otherwise."""
    return Attachment.objects.filter(application__in=applications_for(user))


@dataclass
class Slot:
    """One file the application asks for: a type, and the partner school for a per-school type."""

    attachment_type: AttachmentType
    school: School | None
    current: Attachment | None

    @property
    def label(self) -> str:
        return (
            f"{self.attachment_type.name}: {self.school.name}" if self.school else self.attachment_type.name
        )

    @property
    def key(self) -> str:
        return f"{self.attachment_type.pk}-{self.school.pk if self.school else 0}"


def partner_schools(application) -> list[School]:
    return [
        m.school
        for m in Membership.objects.filter(
            partnership_id=application.partnership_id,
            role=Membership.Role.PARTNER,
            status=Membership.Status.CONFIRMED,
        )
        .select_related("school")
        .order_by("school__name")
    ]


def slots(application) -> list[Slot]:
    types = list(AttachmentType.objects.filter(programme_id=application.cohort.programme_id))
    if not types:
        return []
    current = {
        (a.attachment_type_id, a.school_id): a
        for a in Attachment.objects.filter(
            application=application, superseded_at__isnull=True, attachment_type__isnull=False
        )
    }
    schools = partner_schools(application) if any(t.per_partner_school for t in types) else []
    result = []
    for kind in types:
        for school in schools if kind.per_partner_school else [None]:
            result.append(Slot(kind, school, current.get((kind.pk, school.pk if school else None))))
    return result


def missing(application) -> list[str]:
    """The required files not yet there (for the submission checklist)."""
    problems = []
    for slot in slots(application):
        if not slot.attachment_type.required:
            continue
        if slot.current is None:
            problems.append(f"{slot.label}: not uploaded yet.")
        elif slot.current.status == Attachment.Status.QUARANTINED:
            problems.append(f"{slot.label}: the file did not pass the virus check; upload another.")
        elif slot.current.status == Attachment.Status.PENDING:
            problems.append(f"{slot.label}: the file is waiting for the virus check.")
    return problems


# --- Checking one file ------------------------------------------------------------------------


def safe_name(original: str, fmt: str) -> str:
    """A download name with no path, no control or shell characters, ASCII, at most 80 characters
    before the extension the content was found to have."""
    base = re.split(r"[\\/]", original or "")[-1]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._")[:80].strip("-._")
    return f"{stem or 'file'}.{filetypes.EXTENSIONS[fmt]}"


def _clean_original(name: str) -> str:
    name = re.split(r"[\\/]", name or "")[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    return name[:255] or "file"


def check_file(upload, *, formats, max_bytes: int, field: str = "file") -> str:
    """The format the content has, or a ValidationError saying why the file is refused."""
    if upload is None:
        raise ValidationError({field: "Choose a file to upload."})
    size = upload.size or 0
    name = _clean_original(getattr(upload, "name", ""))
    if size <= 0:
        raise ValidationError({field: f"“{name}” is empty."})
    if size > max_bytes:
        raise ValidationError(
            {field: f"“{name}” is {megabytes(size)}; files here can be at most {megabytes(max_bytes)}."}
        )
    fmt = filetypes.detect(upload)
    allowed = [AttachmentType.Format(f).label for f in formats if f in AttachmentType.Format.values]
    if fmt is None or fmt not in formats:
        what = AttachmentType.Format(fmt).label if fmt else filetypes.describe(upload)
        raise ValidationError(
            {
                field: f"“{name}” is {what}, judged by its content, not its name. "
                f"This can be: {', '.join(allowed) or 'nothing'}."
            }
        )
    return fmt


def _digest(upload) -> str:
    sha = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        sha.update(chunk)
    upload.seek(0)
    return sha.hexdigest()


def _store(attachment: Attachment, upload, fmt: str) -> None:
    """Scan, then write the file through the storage API (streamed), then the row. If the row
    cannot be saved the stored file is removed again."""
    attachment.original_name = _clean_original(upload.name)
    attachment.download_name = safe_name(upload.name, fmt)
    attachment.format = fmt
    attachment.size = upload.size
    attachment.sha256 = _digest(upload)
    attachment.status, attachment.scan_note = scanning.scan(upload)
    upload.seek(0)
    attachment.file.save(attachment.download_name, upload, save=False)
    stored = attachment.file.name
    try:
        attachment.save()
    except Exception:
        default_storage.delete(stored)
        raise


def _discard(attachment: Attachment, now) -> None:
    """A frozen file is kept, marked superseded; a file never submitted is deleted (after commit)."""
    if attachment.frozen_at is not None:
        attachment.superseded_at = now
        attachment.save(update_fields=["superseded_at"])
        return
    name = attachment.file.name
    attachment.delete()
    transaction.on_commit(lambda: default_storage.delete(name))


def _total(qs) -> int:
    return qs.aggregate(total=Sum("size"))["total"] or 0


# --- Application attachments -----------------------------------------------------------------


def _lock_application(application_id: int, by) -> Application:
    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("partnership", "cohort__programme")
        .get(pk=application_id)
    )
    if not is_lead_of(by, application.partnership):
        raise PermissionDenied("Only a lead of the partnership's lead school can change its files.")
    if application.status not in EDITABLE_STATES:
        raise ValidationError(
            f"The application is {application.get_status_display().lower()}: its files can no longer change."
        )
    return application


def attachment_upload(*, application_id: int, by, type_id, school_id=None, upload) -> Attachment:
    """Upload (or replace) the file of one slot of a draft or returned application."""
    with transaction.atomic():
        application = _lock_application(application_id, by)
        try:
            kind = AttachmentType.objects.get(pk=int(type_id), programme_id=application.cohort.programme_id)
        except (AttachmentType.DoesNotExist, TypeError, ValueError):
            raise ValidationError(
                {"attachment_type": "Choose one of the files this programme asks for."}
            ) from None
        school = None
        if kind.per_partner_school:
            try:
                school_pk = int(school_id)
            except (TypeError, ValueError):
                school_pk = None
            school = next((s for s in partner_schools(application) if s.pk == school_pk), None)
            if school is None:
                raise ValidationError({"school": "Choose a confirmed partner school of this partnership."})
        fmt = check_file(upload, formats=kind.formats, max_bytes=kind.max_bytes)
        current = Attachment.objects.filter(
            application=application, attachment_type=kind, school=school, superseded_at__isnull=True
        ).first()
        others = Attachment.objects.filter(
            application=application, superseded_at__isnull=True, report__isnull=True
        )
        if current is not None:
            others = others.exclude(pk=current.pk)
        limit = application_files_max_bytes()
        if _total(others) + upload.size > limit:
            raise ValidationError(
                {
                    "file": f"The application's files may add up to {megabytes(limit)}; with this one they "
                    f"would be {megabytes(_total(others) + upload.size)}. Remove or shrink a file first."
                }
            )
        now = timezone.now()
        if current is not None:
            _discard(current, now)
        attachment = Attachment(application=application, attachment_type=kind, school=school, uploaded_by=by)
        _store(attachment, upload, fmt)
    return attachment


def attachment_remove(*, attachment_id: int, by) -> None:
    with transaction.atomic():
        attachment = Attachment.objects.select_for_update().get(pk=attachment_id)
        if attachment.superseded_at is not None:
            return
        if attachment.report_id is not None:
            return evidence_remove(attachment_id=attachment_id, by=by)
        _lock_application(attachment.application_id, by)
        _discard(attachment, timezone.now())


def freeze(application, *, now=None) -> int:
    """Called by the submit service under the application's lock: the current files become part
    of the submitted version."""
    return Attachment.objects.filter(
        application=application, superseded_at__isnull=True, frozen_at__isnull=True, report__isnull=True
    ).update(frozen_at=now or timezone.now())


# --- Report evidence --------------------------------------------------------------------------


def _lock_report(report_id: int, by) -> EndOfGrantReport:
    report = (
        EndOfGrantReport.objects.select_for_update()
        .select_related("application__partnership")
        .get(pk=report_id)
    )
    if not is_lead_of(by, report.application.partnership):
        raise PermissionDenied("Only a lead of the partnership's lead school can change the report.")
    if report.application.status != Application.Status.APPROVED or report.status not in REPORT_EDITABLE:
        raise ValidationError(
            f"The report is {report.get_status_display().lower()}: its evidence can no longer change."
        )
    return report


def evidence_upload(*, report_id: int, by, upload, caption: str = "") -> Attachment:
    with transaction.atomic():
        report = _lock_report(report_id, by)
        caption = (caption or "").strip()
        if len(caption) > CAPTION_LIMIT:
            raise ValidationError({"caption": f"Keep the caption to {CAPTION_LIMIT} characters."})
        fmt = check_file(upload, formats=EVIDENCE_FORMATS, max_bytes=evidence_max_bytes())
        current = Attachment.objects.filter(report=report, superseded_at__isnull=True)
        if current.count() >= MAX_EVIDENCE_FILES:
            raise ValidationError({"file": f"A report can have at most {MAX_EVIDENCE_FILES} evidence files."})
        limit = report_files_max_bytes()
        if _total(current) + upload.size > limit:
            raise ValidationError(
                {
                    "file": f"A report's evidence may add up to {megabytes(limit)}. Remove or shrink a "
                    "file first."
                }
            )
        attachment = Attachment(
            application=report.application, report=report, caption=caption, uploaded_by=by
        )
        _store(attachment, upload, fmt)
    return attachment


def evidence_remove(*, attachment_id: int, by) -> None:
    with transaction.atomic():
        attachment = Attachment.objects.select_for_update().get(pk=attachment_id, report__isnull=False)
        if attachment.superseded_at is not None:
            return
        _lock_report(attachment.report_id, by)
        _discard(attachment, timezone.now())


def freeze_evidence(report, *, now=None) -> int:
    return Attachment.objects.filter(
        report=report, superseded_at__isnull=True, frozen_at__isnull=True
    ).update(frozen_at=now or timezone.now())
