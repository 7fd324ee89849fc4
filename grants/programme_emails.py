"""Programme staff's e-mail wording: per programme and message kind, a subject and opening text
with documented placeholders (messaging/programme_templates.py), a preview filled from a real
recent application of the programme, a reset to the built-in wording, and every version kept.
Scoped to the programmes the user is staff of (404 otherwise); admins see every programme."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from grants import notifications
from grants.forms import ProgrammeTemplateForm
from grants.models import Application
from messaging import delivery, kinds, programme_templates
from messaging.models import MessageTemplate, Notification, OutboxMessage
from partnerships.selectors import programmes_for
from portal.decorators import staff_required


def _programme(request, programme_pk):
    return get_object_or_404(programmes_for(request.user), pk=programme_pk)


def _kind(key) -> kinds.MessageKind:
    kind = kinds.REGISTRY.get(key)
    if kind is None or not kind.editable:
        raise Http404("No such message.")
    return kind


def sample_application(programme) -> Application | None:
    """The programme's most recently submitted application (a draft if none was submitted)."""
    applications = Application.objects.filter(cohort__programme=programme).select_related(
        "partnership__lead_school", "cohort__programme"
    )
    return (
        applications.filter(submitted_at__isnull=False).order_by("-submitted_at", "-pk").first()
        or applications.order_by("-pk").first()
    )


def preview(kind, programme, *, subject: str, body: str, by) -> dict:
    """The message as it would be sent with this wording, about a real recent application."""
    application = sample_application(programme)
    if application is None:
        context = {**programme_templates.examples(kind), "programme": programme.name}
    else:
        context = notifications.preview_context(kind.key, application, by=by)
    draft = MessageTemplate(subject=subject, body=body)
    rendered = delivery.render(kind, context, template=draft)
    return {"application": application, **rendered}


@staff_required
def programme_emails(request, programme_pk):
    programme = _programme(request, programme_pk)
    latest = {}
    for template in MessageTemplate.objects.filter(programme_id=programme.pk).order_by("kind", "-version"):
        latest.setdefault(template.kind, template)
    rows = [{"kind": kind, "latest": latest.get(kind.key)} for kind in kinds.editable()]
    return render(request, "grants/programme_emails.html", {"programme": programme, "rows": rows})


@staff_required
def programme_email(request, programme_pk, kind):
    programme = _programme(request, programme_pk)
    kind = _kind(kind)
    current = programme_templates.current(programme.pk, kind.key)
    subject, body = programme_templates.wording(kind, current)
    form = ProgrammeTemplateForm(
        request.POST if request.method == "POST" else None,
        kind=kind,
        initial={"subject": subject, "body": body},
    )
    shown = preview(kind, programme, subject=subject, body=body, by=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            if request.POST.get("action") == "preview":
                shown = preview(kind, programme, subject=data["subject"], body=data["body"], by=request.user)
            else:
                try:
                    saved = programme_templates.template_save(
                        programme_id=programme.pk,
                        kind=kind.key,
                        subject=data["subject"],
                        body=data["body"],
                        by=request.user,
                    )
                except ValidationError as exc:
                    form.add_error(None, exc.messages)
                    status = 400
                else:
                    messages.success(
                        request, f"“{kind.label}”: version {saved.version} saved; it is used from now on."
                    )
                    return redirect("grants:programme_email", programme_pk=programme.pk, kind=kind.key)
        else:
            status = 400
    history = programme_templates.versions(programme.pk, kind.key).select_related("created_by")
    return render(
        request,
        "grants/programme_email.html",
        {
            "programme": programme,
            "kind": kind,
            "form": form,
            "preview": shown,
            "current": current,
            "history": history,
        },
        status=status,
    )


@staff_required
@require_POST
def programme_email_reset(request, programme_pk, kind):
    programme = _programme(request, programme_pk)
    kind = _kind(kind)
    try:
        reset = programme_templates.template_reset(programme_id=programme.pk, kind=kind.key, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if reset is None:
            messages.info(request, f"“{kind.label}” already uses the built-in wording.")
        else:
            messages.success(
                request, f"“{kind.label}” uses the built-in wording again (version {reset.version})."
            )
    return redirect("grants:programme_email", programme_pk=programme.pk, kind=kind.key)


@staff_required
def programme_email_version(request, programme_pk, kind, version):
    """One version as it was saved, and the messages that were sent with it."""
    programme = _programme(request, programme_pk)
    kind = _kind(kind)
    template = get_object_or_404(
        MessageTemplate.objects.select_related("created_by"),
        programme_id=programme.pk,
        kind=kind.key,
        version=version,
    )
    subject, body = programme_templates.wording(kind, template)
    used = {
        "notifications": Notification.objects.filter(template=template).aggregate(n=Count("pk"))["n"],
        "emails": OutboxMessage.objects.filter(template=template).aggregate(n=Count("pk"))["n"],
    }
    return render(
        request,
        "grants/programme_email_version.html",
        {
            "programme": programme,
            "kind": kind,
            "template": template,
            "wording": {"subject": subject, "body": body},
            "used": used,
            "preview": preview(kind, programme, subject=subject, body=body, by=request.user),
        },
    )
