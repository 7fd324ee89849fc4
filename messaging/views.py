"""Admins' view of the outbox: what failed or is waiting after a failed attempt, and "Try again"."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from messaging import outbox
from messaging.models import OutboxMessage
from portal.decorators import admin_required

S = OutboxMessage.State


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
