from django.contrib import admin

from clusters.models import Cluster, ClusterMembership, CPDActivity, CPDPlanItem, Feedback, NeedsAnalysis
from portal.admin import ReadOnlyAdmin


class ClusterMembershipInline(admin.TabularInline):
    """Read-only: a cluster's schools change only through clusters.services (the cluster builder
    and the cluster pages), which hold the cluster-size and eligibility rules."""

    model = ClusterMembership
    extra = 0
    fields = ["school", "joined_at"]
    readonly_fields = ["school", "joined_at"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ["name", "cohort", "status"]
    list_filter = ["status", "cohort"]
    search_fields = ["name"]
    readonly_fields = ["status"]  # follows the work (clusters.services.cluster_started)
    inlines = [ClusterMembershipInline]


@admin.register(NeedsAnalysis)
class NeedsAnalysisAdmin(admin.ModelAdmin):
    list_display = ["cluster", "school", "focus_area", "score"]
    list_filter = ["focus_area"]
    search_fields = ["cluster__name", "school__name"]


@admin.register(CPDPlanItem)
class CPDPlanItemAdmin(admin.ModelAdmin):
    list_display = ["title", "cluster", "focus_area", "planned_hours", "planned_on"]
    list_filter = ["focus_area"]
    search_fields = ["title", "cluster__name"]


@admin.register(CPDActivity)
class CPDActivityAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "kind",
        "held_on",
        "hours",
        "teachers_reached",
        "students_reached",
        "partnership",
        "cluster",
    ]
    list_filter = ["kind", "focus_area"]
    search_fields = ["title", "partnership__name", "cluster__name"]
    raw_id_fields = ["partnership", "cluster", "schools", "created_by"]
    date_hierarchy = "held_on"


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ["activity", "engaging_ideas", "hands_on", "sharing_across_schools", "overall_usefulness"]
    list_filter = ["expects_more_cpd"]
    search_fields = ["activity__title", "comments"]
    raw_id_fields = ["activity"]


# Questionnaires and surveys (issue 18) are written through their pages and services
# (clusters/services.py, clusters/surveys.py); the admin only reads them.
from clusters.models import (  # noqa: E402
    ClusterReport,
    CommentTheme,
    NeedsQuestionnaire,
    SurveyInvitation,
    SurveyRoom,
)

for _model in (ClusterReport, CommentTheme, NeedsQuestionnaire, SurveyInvitation, SurveyRoom):
    admin.site.register(_model, ReadOnlyAdmin)
