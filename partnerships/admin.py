from django.contrib import admin

from partnerships.models import Cohort, Membership, Partnership, Programme, School, SchoolLead


@admin.register(School)
class SchoolAdmin(admin.ModelAdmin):
    list_display = [
        "urn",
        "name",
        "phase",
        "funding",
        "local_authority",
        "region",
        "ofsted_rating",
        "is_open",
    ]
    list_filter = ["phase", "funding", "region", "ofsted_rating", "is_open", "opportunity_area"]
    search_fields = ["urn", "name", "postcode", "local_authority"]


@admin.register(SchoolLead)
class SchoolLeadAdmin(admin.ModelAdmin):
    list_display = ["user", "school", "role_at_school", "verified_at"]
    search_fields = ["user__username", "user__email", "school__name", "school__urn"]
    raw_id_fields = ["user", "school"]


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "grant_cap", "min_schools", "cluster_size"]
    filter_horizontal = ["staff"]


@admin.register(Cohort)
class CohortAdmin(admin.ModelAdmin):
    list_display = ["name", "programme", "starts_on", "ends_on", "applications_close_at", "budget"]
    list_filter = ["programme"]
    search_fields = ["name"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["school", "invited_by", "responded_by"]


@admin.register(Partnership)
class PartnershipAdmin(admin.ModelAdmin):
    list_display = ["name", "cohort", "lead_school", "status", "created_at"]
    list_filter = ["status", "cohort__programme", "cohort"]
    search_fields = ["name", "lead_school__name", "lead_school__urn"]
    raw_id_fields = ["lead_school", "created_by"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["school", "partnership", "role", "status", "invited_at", "responded_at"]
    list_filter = ["role", "status", "cohort"]
    search_fields = ["school__name", "school__urn", "partnership__name"]
    raw_id_fields = ["school", "partnership", "invited_by", "responded_by"]
