from django.urls import include, path

from evaluation import views

app_name = "evaluation"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("impact/", include("evaluation.impact_urls")),
    path("programmes/<int:pk>/", views.programme_dashboard, name="programme"),
    path("cohorts/<int:pk>/", views.cohort_dashboard, name="cohort"),
    path("cohorts/<int:pk>/partnerships/", views.cohort_partnerships, name="cohort_partnerships"),
    path("cohorts/<int:pk>/status/", views.cohort_status, name="cohort_status"),
    path("cohorts/<int:pk>/rebuild/", views.cohort_rebuild, name="cohort_rebuild"),
    path("cohorts/<int:pk>/export/<slug:table>.csv", views.cohort_export, name="cohort_export"),
]
