from django.urls import path

from partnerships import import_views, invitation_views, onboarding_views, views

app_name = "partnerships"

urlpatterns = [
    path("", views.lead_home, name="lead_home"),
    path("new/", views.partnership_create, name="partnership_create"),
    path("<int:pk>/", views.partnership_detail, name="partnership_detail"),
    path("<int:pk>/find-schools/", views.school_search, name="school_search"),
    path("<int:pk>/invite/", views.membership_invite, name="membership_invite"),
    path("memberships/<int:pk>/remove/", views.membership_remove, name="membership_remove"),
    path("invitations/<int:pk>/respond/", views.membership_respond, name="membership_respond"),
    path("staff/", views.staff_partnership_list, name="staff_partnership_list"),
    path("staff/schools/<int:urn>/", views.school_detail, name="school_detail"),
    path("staff/data-imports/", import_views.data_imports, name="data_imports"),
    path("staff/data-imports/<int:pk>/", import_views.data_import_detail, name="data_import_detail"),
    path("staff/data-imports/<int:pk>/status/", import_views.data_import_status, name="data_import_status"),
    # Sign-up, e-mail confirmation, lead verification
    path("signup/", onboarding_views.signup, name="signup"),
    path("signup/check-your-email/", onboarding_views.signup_done, name="signup_done"),
    path("signup/confirm/<str:token>/", onboarding_views.verify_email, name="verify_email"),
    path("staff/lead-requests/", onboarding_views.verification_requests, name="verification_requests"),
    path("staff/programme-messages/", views.programme_messages, name="programme_messages"),
    path(
        "staff/lead-requests/<int:pk>/decide/",
        onboarding_views.verification_decide,
        name="verification_decide",
    ),
    # E-mail invitations
    path("<int:pk>/invite-by-email/", invitation_views.email_invite, name="email_invite"),
    path("email-invitations/<int:pk>/resend/", invitation_views.invitation_resend, name="invitation_resend"),
    path(
        "email-invitations/<int:pk>/withdraw/",
        invitation_views.invitation_withdraw,
        name="invitation_withdraw",
    ),
    path("join/<str:token>/", invitation_views.invitation_open, name="invitation_open"),
    path("join/<str:token>/sign-up/", invitation_views.invitation_signup, name="invitation_signup"),
    path("join/<str:token>/answer/", invitation_views.invitation_answer, name="invitation_answer"),
    path("join/<str:token>/code/", invitation_views.invitation_code_send, name="invitation_code_send"),
    path(
        "join/<str:token>/code/answer/",
        invitation_views.invitation_code_answer,
        name="invitation_code_answer",
    ),
    path("account/set-password/", invitation_views.password_set, name="password_set"),
    # Notifications and personal data
    path("my-data/", onboarding_views.personal_data, name="personal_data"),
    path("my-data/download/", onboarding_views.personal_data_download, name="personal_data_download"),
    path("my-data/close-account/", onboarding_views.account_close, name="account_close"),
]
