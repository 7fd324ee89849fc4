"""Everyone's notifications page; admins' view of the outbox: what failed or is waiting after a
failed attempt, and "Try again"."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from messaging import delivery, kinds, outbox
from messaging.models import Notification, OutboxMessage, Preference
from portal.decorators import admin_required

S = OutboxMessage.State
PAGE_SIZE = 25


@login_required
def notifications(request):
    items = Notification.objects.filter(user=request.user)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "messaging/notifications.html",
        {"page": page, "unread": items.filter(read_at__isnull=True).count()},
    )


@login_required
def preferences(request):
    """Per kind: e-mail at once, a daily digest, or in the portal only. Mandatory kinds (decisions,
    security notices) are listed as such and cannot be changed."""
    choosable = kinds.choosable()
    saved = dict(Preference.objects.filter(user=request.user).values_list("kind", "delivery"))
    errors = {}
    if request.method == "POST":
        choices = {}
        for kind in choosable:
            value = request.POST.get(kind.key, kind.delivery)
            if value not in Preference.Delivery.values:
                errors[kind.key] = "Choose one of the options."
            choices[kind.key] = value
        if not errors:
            for key, value in choices.items():
                Preference.objects.update_or_create(user=request.user, kind=key, defaults={"delivery": value})
            messages.success(request, "Your message preferences are saved.")
            return redirect("messaging:preferences")
        saved.update(choices)
    rows = [
        {"kind": kind, "value": saved.get(kind.key, kind.delivery), "error": errors.get(kind.key)}
        for kind in choosable
    ]
    mandatory = [kind for kind in kinds.KINDS if kind.mandatory and not kind.address_only]
    context = {"rows": rows, "mandatory": mandatory, "choices": Preference.Delivery.choices}
    return render(request, "messaging/preferences.html", context, status=400 if errors else 200)


@require_POST
@login_required
def notifications_read(request):
    count = Notification.objects.filter(user=request.user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    delivery.forget_unread(request.user.pk)  # a bulk update sends no post_save
    messages.success(request, f"{count} notification{'s' if count != 1 else ''} marked as read.")
    return redirect("messaging:notifications")


@admin_required
def outbox_list(request):
    problems = OutboxMessage.objects.filter(outbox.waiting()).order_by("state", "-created_at", "-pk")
    page = Paginator(problems, 50).get_page(request.GET.get("page"))
    counts = {
        label: OutboxMessage.objects.filter(state=value).count()
        for value, label in S.choices
        if value != S.SENT
    }
    context = {
        "page": page,
        "counts": counts,
        "failed": OutboxMessage.objects.filter(state=S.FAILED).count(),
        "max_attempts": outbox.max_attempts(),
        "health": outbox.health(),
    }
    return render(request, "messaging/outbox.html", context)


@admin_required
@require_POST
def outbox_retry(request, pk):
    message = get_object_or_404(OutboxMessage, pk=pk)
    if outbox.retry(message.pk):
        messages.success(request, f"“{message.subject}” will be tried again now.")
    else:
        messages.info(request, f"“{message.subject}” has already been sent.")
    return redirect("messaging:outbox")


@admin_required
@require_POST
def outbox_retry_failed(request):
    ids = list(OutboxMessage.objects.filter(state=S.FAILED).values_list("pk", flat=True)[:500])
    retried = sum(outbox.retry(pk) for pk in ids)
    plural = "s" if retried != 1 else ""
    messages.success(request, f"{retried} failed message{plural} will be tried again now.")
    return redirect("messaging:outbox")
