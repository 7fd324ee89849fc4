from django.contrib import admin

from messaging.models import MessageTemplate, Notification, OutboxMessage, ReminderSent
from portal.admin import ReadOnlyAdmin


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "subject", "state", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("state",)
    search_fields = ("subject", "to")
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "title", "created_at", "read_at"]
    list_filter = ["kind"]
    search_fields = ["user__username", "title"]
    raw_id_fields = ["user"]


@admin.register(ReminderSent)
class ReminderSentAdmin(admin.ModelAdmin):
    list_display = ["kind", "key", "recipient", "sent_at"]
    list_filter = ["kind"]
    search_fields = ["key", "recipient"]


@admin.register(MessageTemplate)
class MessageTemplateAdmin(ReadOnlyAdmin):
    """Versions of programmes' e-mail wording: written on the staff screen
    (/grants/programmes/<id>/emails/), never changed here (a sent message records its version)."""

    list_display = ["programme_id", "kind", "version", "is_default", "subject", "created_by", "created_at"]
    list_filter = ["kind", "is_default"]
    readonly_fields = [f.name for f in MessageTemplate._meta.fields]
