from django.contrib import admin

from evaluation.models import CohortSummary


@admin.register(CohortSummary)
class CohortSummaryAdmin(admin.ModelAdmin):
    list_display = ["cohort", "built_at"]
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
