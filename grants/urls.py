from django.urls import path

from grants import (
    file_views,
    finance_views,
    programme_emails,
    programme_finance_views,
    report_views,
    review_views,
    variation_views,
    views,
)

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
    # Reports (issue 20): the final report keeps its old address; each kind has its own
    path("applications/<int:pk>/report/", report_views.report_edit, name="report_edit"),
    path("applications/<int:pk>/report/accept/", report_views.report_accept, name="report_accept"),
    path("applications/<int:pk>/report/return/", report_views.report_return, name="report_return"),
    path("applications/<int:pk>/reports/<str:kind>/", report_views.report_edit, name="report_edit"),
    path(
        "applications/<int:pk>/reports/<str:kind>/autosave/",
        report_views.report_autosave,
        name="report_autosave",
    ),
    path(
        "applications/<int:pk>/reports/<str:kind>/evidence/",
        report_views.report_evidence,
        name="report_evidence",
    ),
    path(
        "applications/<int:pk>/reports/<str:kind>/accept/", report_views.report_accept, name="report_accept"
    ),
    path(
        "applications/<int:pk>/reports/<str:kind>/return/", report_views.report_return, name="report_return"
    ),
    path("reports/", report_views.staff_reports, name="staff_reports"),
    path("reports/accept/", report_views.reports_bulk_accept, name="reports_bulk_accept"),
    # Files (issue 20): every stored file is served through attachment_download only
    path("applications/<int:pk>/files/", file_views.application_files, name="application_files"),
    path("files/<int:pk>/", file_views.attachment_download, name="attachment_download"),
    path("files/<int:pk>/remove-evidence/", file_views.evidence_remove, name="evidence_remove"),
    # Staff
    path("review/", views.review_queue, name="review_queue"),
    path(
        "applications/<int:pk>/request-changes/",
        views.application_request_changes,
        name="application_request_changes",
    ),
    path("applications/<int:pk>/approve/", views.application_approve, name="application_approve"),
    path("applications/<int:pk>/reject/", views.application_reject, name="application_reject"),
    path("cohorts/<int:cohort_pk>/budget/", views.cohort_budget_view, name="cohort_budget"),
    # Finance (issue 19)
    path("payments/", finance_views.payment_list, name="payment_list"),
    path("payments/payments.csv", finance_views.payments_csv, name="payments_csv"),
    path("payments/payments.xlsx", finance_views.payments_xlsx, name="payments_xlsx"),
    path(
        "cohorts/<int:cohort_pk>/commitments.<str:fmt>",
        finance_views.commitments_export,
        name="commitments_export",
    ),
    path("payments/<int:payment_pk>/", finance_views.payment_detail, name="payment_detail"),
    path("payments/<int:payment_pk>/release/", finance_views.payment_release, name="payment_release"),
    path("payments/<int:payment_pk>/paid/", finance_views.payment_mark_paid, name="payment_mark_paid"),
    path("payments/<int:payment_pk>/cancel/", finance_views.payment_cancel, name="payment_cancel"),
    path("payments/<int:payment_pk>/reclaim/", finance_views.payment_reclaim, name="payment_reclaim"),
    path("applications/<int:pk>/schedule/", finance_views.schedule_edit, name="schedule_edit"),
    path("applications/<int:pk>/award-letter/", finance_views.award_letter, name="award_letter"),
    path("applications/<int:pk>/agreement/", finance_views.agreement_respond, name="agreement_respond"),
    path(
        "applications/<int:pk>/agreement/offer-again/",
        finance_views.agreement_reoffer,
        name="agreement_reoffer",
    ),
    path(
        "programmes/<int:programme_pk>/finance/",
        programme_finance_views.programme_finance_page,
        name="programme_finance",
    ),
    path(
        "programmes/<int:programme_pk>/finance/schedule/",
        programme_finance_views.schedule_template,
        name="schedule_template",
    ),
    path(
        "programmes/<int:programme_pk>/finance/terms/",
        programme_finance_views.agreement_terms,
        name="agreement_terms",
    ),
    path("schools/<int:school_pk>/payee/", finance_views.payee_edit, name="payee_edit"),
    path("applications/<int:pk>/budget/", variation_views.budget_variations, name="budget_variations"),
    path("applications/<int:pk>/budget/ask/", variation_views.variation_request, name="variation_request"),
    path(
        "applications/<int:pk>/budget/<int:variation_pk>/decide/",
        variation_views.variation_decide,
        name="variation_decide",
    ),
    # Staff: a programme's e-mail wording
    path("programmes/<int:programme_pk>/emails/", programme_emails.programme_emails, name="programme_emails"),
    path(
        "programmes/<int:programme_pk>/emails/<slug:kind>/",
        programme_emails.programme_email,
        name="programme_email",
    ),
    path(
        "programmes/<int:programme_pk>/emails/<slug:kind>/reset/",
        programme_emails.programme_email_reset,
        name="programme_email_reset",
    ),
    path(
        "programmes/<int:programme_pk>/emails/<slug:kind>/versions/<int:version>/",
        programme_emails.programme_email_version,
        name="programme_email_version",
    ),
    # Review (issue 17)
    path("reviews/", review_views.my_reviews, name="my_reviews"),
    path("reviews/<int:assignment_pk>/", review_views.review_page, name="review_page"),
    path("reviews/<int:assignment_pk>/conflict/", review_views.conflict_declare, name="conflict_declare"),
    path(
        "applications/<int:pk>/reviewers/", review_views.application_reviewers, name="application_reviewers"
    ),
    path(
        "applications/<int:pk>/reviewers/<int:assignment_pk>/end/",
        review_views.assignment_end,
        name="assignment_end",
    ),
    path("applications/<int:pk>/deadline/", review_views.application_extension, name="application_extension"),
    path("cohorts/<int:cohort_pk>/auto-assign/", review_views.auto_assign, name="auto_assign"),
    path("cohorts/<int:cohort_pk>/panel/", review_views.panel, name="panel"),
    path("cohorts/<int:cohort_pk>/panel/decide/", review_views.panel_decide, name="panel_decide"),
    path("programmes/<int:programme_pk>/rubric/", review_views.rubric_edit, name="rubric_edit"),
]
