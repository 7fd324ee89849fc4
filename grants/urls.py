from django.urls import path

from grants import finance_views, views

app_name = "grants"

urlpatterns = [
    # Leads
    path("mine/", views.my_applications, name="my_applications"),
    path("start/<int:partnership_pk>/", views.application_start, name="application_start"),
    path("applications/<int:pk>/", views.application_detail, name="application_detail"),
    path("applications/<int:pk>/messages/", views.application_message, name="application_message"),
    path("applications/<int:pk>/step/<int:step>/", views.application_step, name="application_step"),
    path(
        "applications/<int:pk>/step/<int:step>/autosave/",
        views.application_autosave,
        name="application_autosave",
    ),
    path("applications/<int:pk>/review/", views.application_review, name="application_review"),
    path("applications/<int:pk>/withdraw/", views.application_withdraw, name="application_withdraw"),
    path("applications/<int:pk>/report/", views.report_edit, name="report_edit"),
    # Staff
    path("review/", views.review_queue, name="review_queue"),
    path(
        "applications/<int:pk>/request-changes/",
        views.application_request_changes,
        name="application_request_changes",
    ),
    path("applications/<int:pk>/approve/", views.application_approve, name="application_approve"),
    path("applications/<int:pk>/reject/", views.application_reject, name="application_reject"),
    path("applications/<int:pk>/score/", views.application_score, name="application_score"),
    path("applications/<int:pk>/report/accept/", views.report_accept, name="report_accept"),
    path("applications/<int:pk>/report/return/", views.report_return, name="report_return"),
    path("cohorts/<int:cohort_pk>/budget/", views.cohort_budget_view, name="cohort_budget"),
    # Finance (issue 19)
    path("payments/", finance_views.payment_list, name="payment_list"),
    path("payments/payments.csv", finance_views.payments_csv, name="payments_csv"),
    path("payments/<int:payment_pk>/", finance_views.payment_detail, name="payment_detail"),
    path("payments/<int:payment_pk>/release/", finance_views.payment_release, name="payment_release"),
    path("payments/<int:payment_pk>/paid/", finance_views.payment_mark_paid, name="payment_mark_paid"),
    path("payments/<int:payment_pk>/cancel/", finance_views.payment_cancel, name="payment_cancel"),
    path("payments/<int:payment_pk>/reclaim/", finance_views.payment_reclaim, name="payment_reclaim"),
    path("applications/<int:pk>/schedule/", finance_views.schedule_edit, name="schedule_edit"),
    path("applications/<int:pk>/award-letter/", finance_views.award_letter, name="award_letter"),
    path("applications/<int:pk>/agreement/", finance_views.agreement_respond, name="agreement_respond"),
    path("schools/<int:school_pk>/payee/", finance_views.payee_edit, name="payee_edit"),
]
