from django.urls import path

from grants import views

app_name = "grants"

urlpatterns = [
    path("review/", views.review_queue, name="review_queue"),
]
