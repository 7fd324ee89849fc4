from django.urls import path

from messaging import views

app_name = "messaging"

urlpatterns = [
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/preferences/", views.preferences, name="preferences"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    path("outbox/", views.outbox_list, name="outbox"),
    path("outbox/<int:pk>/retry/", views.outbox_retry, name="outbox_retry"),
    path("outbox/retry-failed/", views.outbox_retry_failed, name="outbox_retry_failed"),
]
