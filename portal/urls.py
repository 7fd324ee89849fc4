from django.contrib import admin
from django.urls import include, path

from portal import accounts, two_factor, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accessibility/", views.accessibility, name="accessibility"),
    path("", include("partnerships.public_urls")),
    path("account/", views.account, name="account"),
    path("account/two-factor/", two_factor.verify, name="two_factor_verify"),
    path("account/two-factor/set-up/", two_factor.setup, name="two_factor_setup"),
    path("account/two-factor/recovery-codes/", two_factor.recovery, name="two_factor_recovery"),
    path("accounts/password_reset/", accounts.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/reset/<uidb64>/<token>/",
        accounts.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("messaging/", include("messaging.urls")),
    path("partnerships/", include("partnerships.urls")),
    path("clusters/", include("clusters.urls")),
    path("grants/", include("grants.urls")),
    path("evaluation/", include("evaluation.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "portal.views.bad_request"
handler403 = "portal.views.permission_denied"
handler404 = "portal.views.page_not_found"
handler500 = "portal.views.server_error"

admin.site.site_header = "STEM Partnerships Portal — administration"
admin.site.site_title = "STEM Partnerships Portal"
