from django.contrib import admin

from evaluation.models import (
    AnalysisPlan,
    CohortSummary,
    ComparisonGroup,
    MatchedPair,
    OutcomeValue,
    PlanDraw,
)
from portal.admin import ReadOnlyTabularInline


@admin.register(CohortSummary)
class CohortSummaryAdmin(admin.ModelAdmin):
    """Built by the Celery task; read-only here."""

    list_display = ["cohort", "state", "built_at", "source_changed_at"]
    list_filter = ["state"]
    readonly_fields = [
        "cohort",
        "data",
        "built_at",
        "state",
        "queued_at",
        "started_at",
        "source_changed_at",
        "error",
    ]


@admin.register(OutcomeValue)
class OutcomeValueAdmin(admin.ModelAdmin):
    list_display = [
        "school",
        "year",
        "measure",
        "value",
        "is_synthetic",
        "source",
        "publication",
        "imported_at",
    ]
    list_filter = ["measure", "year", "is_synthetic", "publication"]
    search_fields = ["school__name", "school__urn", "source", "publication"]
    raw_id_fields = ["school"]


class MatchedPairInline(ReadOnlyTabularInline):
    model = MatchedPair
    raw_id_fields = ["participant", "comparison"]
    readonly_fields = ["participant", "comparison", "unit", "participant_score", "comparison_score"]


@admin.register(ComparisonGroup)
class ComparisonGroupAdmin(admin.ModelAdmin):
    """Computed by evaluation.tasks; read-only here (recompute from the evaluation page)."""

    list_display = ["cohort", "measure", "state", "computed_at", "uses_synthetic_data"]
    list_filter = ["state", "measure", "uses_synthetic_data"]
    inlines = [MatchedPairInline]

    def has_change_permission(self, request, obj=None):
        return False


class PlanDrawInline(ReadOnlyTabularInline):
    model = PlanDraw
    fields = ["outcome", "variant", "sequence", "drawn_at", "reason", "post_values_at_draw", "content_hash"]
    readonly_fields = fields


@admin.register(AnalysisPlan)
class AnalysisPlanAdmin(admin.ModelAdmin):
    """Frozen by the award signal or by staff on the analysis plan page; read-only here, so the
    hash recorded at freezing stays the content's (a change is a new version on that page)."""

    list_display = ["cohort", "version", "frozen_at", "frozen_because", "post_values_at_freeze"]
    list_filter = ["frozen_at"]
    search_fields = ["cohort__name", "content_hash", "reason"]
    inlines = [PlanDrawInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
