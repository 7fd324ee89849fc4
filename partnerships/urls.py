from django.urls import path

from partnerships import views

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
]
