"""URLs of the impact and process evaluation and the 360Giving exports, included by
evaluation/urls.py under "impact/" in the "evaluation" namespace."""

from django.urls import path

from evaluation import impact_views as views

urlpatterns = [
    path("", views.impact_index, name="impact_index"),
    path("cohorts/<int:cohort_id>/", views.impact_cohort, name="impact_cohort"),
    path("cohorts/<int:cohort_id>/compute/", views.impact_compute, name="impact_compute"),
    path("cohorts/<int:cohort_id>/status/", views.impact_status, name="impact_status"),
    path("cohorts/<int:cohort_id>/estimates.csv", views.impact_estimates_csv, name="impact_estimates_csv"),
    path("cohorts/<int:cohort_id>/plan/", views.impact_plan, name="impact_plan"),
    path("cohorts/<int:cohort_id>/plan/change/", views.impact_plan_amend, name="impact_plan_amend"),
    path("cohorts/<int:cohort_id>/plan/freeze/", views.impact_plan_freeze, name="impact_plan_freeze"),
    path("cohorts/<int:cohort_id>/process/", views.process_cohort, name="process_cohort"),
    path(
        "cohorts/<int:cohort_id>/process/<slug:table>.csv",
        views.process_cohort_csv,
        name="process_cohort_csv",
    ),
    path("cohorts/<int:cohort_id>/360giving.json", views.export_360giving_json, name="export_360giving_json"),
    path("cohorts/<int:cohort_id>/360giving.xlsx", views.export_360giving_xlsx, name="export_360giving_xlsx"),
]
