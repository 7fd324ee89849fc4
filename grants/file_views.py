"""Files pages: the lead's attachments page of an application, evidence on a report, and the one
download view every stored file is served through. Objects come through the scoped selectors
(404 otherwise); writes through grants.attachments. Uploads stream through grants.uploads, which
cuts a file off past the largest size allowed."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from grants import attachments, filetypes
from grants import forms as f
from grants.models import Application, Attachment
from grants.selectors import applications_for, is_lead_of
from grants.uploads import limit_uploads
from portal.decorators import lead_required


def _application(request, pk) -> Application:
    return get_object_or_404(
        applications_for(request.user).select_related("partnership__lead_school", "cohort__programme"), pk=pk
    )


def _refused_message(request, limit: int) -> str | None:
    name = getattr(request, "upload_refused", {}).get("file")
    if name is None:
        return None
    return f"“{name[:200]}” is larger than {attachments.megabytes(limit)}, the most any file here can be."


def add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else "file", errors)
    else:
        form.add_error("file", exc.messages)


def _files_page(request, application, bound=None, bound_key=None, status=200):
    slots = attachments.slots(application)
    rows = []
    for slot in slots:
        form = bound if bound is not None and bound_key == slot.key else None
        if form is None:
            form = f.AttachmentForm(
                initial={
                    "attachment_type": slot.attachment_type.pk,
                    "school": slot.school.pk if slot.school else None,
                },
                auto_id=f"id_{slot.key}_%s",
            )
        rows.append((slot, form))
    superseded = Attachment.objects.filter(
        application=application, superseded_at__isnull=False, report__isnull=True
    ).select_related("attachment_type", "school")
    return render(
        request,
        "grants/files.html",
        {
            "application": application,
            "rows": rows,
            "superseded": superseded,
            "editable": application.status in attachments.EDITABLE_STATES,
            "failed_form": bound if bound is not None and bound.errors else None,
            "total_limit": attachments.megabytes(attachments.application_files_max_bytes()),
        },
        status=status,
    )


@lead_required
@limit_uploads(attachments.upload_ceiling)
def application_files(request, pk):
    """The files the programme asks for: upload, replace or remove each (drafts keep them)."""
    application = _application(request, pk)
    if not is_lead_of(request.user, application.partnership):
        raise PermissionDenied("Only a lead of the partnership's lead school can change its files.")
    if request.method != "POST":
        return _files_page(request, application)
    form = f.AttachmentForm(request.POST, request.FILES)
    refused = _refused_message(request, attachments.upload_ceiling(request))
    key = None
    if form.is_valid():
        key = f"{form.cleaned_data['attachment_type']}-{form.cleaned_data['school'] or 0}"
        form.auto_id = f"id_{key}_%s"
        if "remove" in request.POST:
            current = next((s.current for s in attachments.slots(application) if s.key == key), None)
            if current is None:
                form.add_error(None, "There is no file to remove there.")
            else:
                try:
                    attachments.attachment_remove(attachment_id=current.pk, by=request.user)
                except ValidationError as exc:
                    add_errors(form, exc)
                else:
                    messages.success(request, "File removed.")
                    return redirect("grants:application_files", pk=pk)
        elif refused:
            form.add_error("file", refused)
        else:
            try:
                attachments.attachment_upload(
                    application_id=application.pk,
                    by=request.user,
                    type_id=form.cleaned_data["attachment_type"],
                    school_id=form.cleaned_data["school"],
                    upload=form.cleaned_data["file"],
                )
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                messages.success(request, "File uploaded. It is kept with your draft.")
                return redirect("grants:application_files", pk=pk)
    elif refused:
        form.add_error("file", refused)
    return _files_page(request, application, form, key, status=400)


@login_required
def attachment_download(request, pk):
    """Every stored file is served here and only here: scoped like its application's page,
    never inline, never sniffed, and never while quarantined or waiting for the virus check."""
    attachment = get_object_or_404(attachments.attachments_for(request.user), pk=pk)
    if not attachment.servable:
        return HttpResponse(
            "This file did not pass the virus check (or is waiting for it), so it cannot be downloaded.",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404("The file is missing from storage.") from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.download_name,
        content_type=filetypes.CONTENT_TYPES[attachment.format],
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@lead_required
@require_POST
def evidence_remove(request, pk):
    attachment = get_object_or_404(
        attachments.attachments_for(request.user).filter(report__isnull=False), pk=pk
    )
    try:
        attachments.evidence_remove(attachment_id=attachment.pk, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Evidence removed.")
    return redirect(reverse("grants:report_edit", args=[attachment.application_id]) + "#evidence")
