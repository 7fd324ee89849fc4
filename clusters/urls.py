from django.urls import path

from clusters import survey_views, views

app_name = "clusters"

urlpatterns = [
    path("", views.cluster_list, name="cluster_list"),
    path("<int:pk>/", views.cluster_detail, name="cluster_detail"),
    path("<int:pk>/report/", views.cluster_report_submit, name="cluster_report_submit"),
    path("<int:pk>/report/accept/", views.cluster_report_accept, name="cluster_report_accept"),
    path("cohort/<int:cohort_pk>/new/", views.cluster_build, name="cluster_build"),
    path("cohort/<int:cohort_pk>/builder/", views.cluster_builder, name="cluster_builder"),
    path("<int:pk>/activities/new/", views.cluster_activity_create, name="cluster_activity_create"),
    path("partnership/<int:pk>/activities/", views.partnership_activities, name="partnership_activities"),
    path(
        "partnership/<int:pk>/activities/new/",
        views.partnership_activity_create,
        name="partnership_activity_create",
    ),
    path("activities/<int:pk>/edit/", views.activity_edit, name="activity_edit"),
    path("activities/<int:pk>/delete/", views.activity_delete, name="activity_delete"),
    path("<int:pk>/plan/", views.cluster_plan, name="cluster_plan"),
    path("<int:pk>/plan/add/", views.plan_item_add, name="plan_item_add"),
    path("<int:pk>/needs/<int:urn>/", views.needs_questionnaire, name="needs_questionnaire"),
    path("<int:pk>/needs/<int:urn>/autosave/", views.needs_autosave, name="needs_autosave"),
    path("<int:pk>/needs/<int:urn>/review/", views.needs_review, name="needs_review"),
    path("activities/<int:pk>/survey/", survey_views.survey_send, name="survey_send"),
    path("activities/<int:pk>/survey/invite/", survey_views.survey_invite, name="survey_invite"),
    path("activities/<int:pk>/survey/email/", survey_views.survey_email, name="survey_email"),
    path("activities/<int:pk>/survey/room/", survey_views.survey_room_open, name="survey_room_open"),
    path("survey/", survey_views.survey_room, name="survey_room"),
    path("survey/room/<str:code>/", survey_views.survey_room_answer, name="survey_room_answer"),
    path("survey/<str:token>/", survey_views.survey_answer, name="survey_answer"),
    path("cohort/<int:cohort_pk>/comments/", views.comment_themes, name="comment_themes"),
    path("feedback/<int:pk>/themes/", views.comment_theme_add, name="comment_theme_add"),
    path(
        "feedback/<int:pk>/themes/<int:theme_pk>/remove/",
        views.comment_theme_remove,
        name="comment_theme_remove",
    ),
    path("activities/<int:pk>/feedback/", views.feedback_create, name="feedback_create"),
]
