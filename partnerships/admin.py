from django.contrib import admin

from partnerships.models import (
    Cohort,
    DataImport,
    EmailConfirmation,
    EmailInvitation,
    InvitationCode,
    LeadVerificationRequest,
    Membership,
    OfstedInspection,
    Partnership,
    Programme,
    School,
    SchoolLead,
    SchoolLink,
    TrustEvent,
    VerifiedDomain,
)
from portal.admin import ReadOnlyAdmin


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
        "ofsted_inspected_on",
        "is_open",
        "is_synthetic",
    ]
    list_filter = [
        "phase",
        "funding",
        "region",
        "ofsted_rating",
        "is_open",
        "opportunity_area",
        "is_synthetic",
    ]
    search_fields = ["urn", "name", "postcode", "local_authority"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_open" in form.changed_data and not obj.is_open:
            from partnerships.services import schools_changed

            # A school closing re-checks the minimum of the partnerships it counts in (issue 13).
            schools_changed(school_ids=[obj.pk], reason=f"{obj.name} closed in the register.")


@admin.register(OfstedInspection)
class OfstedInspectionAdmin(admin.ModelAdmin):
    """History as Ofsted published it: read-only (imports add to it)."""

    list_display = [
        "urn",
        "school",
        "kind",
        "started_on",
        "overall_effectiveness",
        "source_file",
        "imported_at",
    ]
    list_filter = ["kind", "overall_effectiveness"]
    search_fields = ["urn", "school__name", "source_file"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SchoolLead)
class SchoolLeadAdmin(admin.ModelAdmin):
    """Verification is never typed in here: it comes from a staff decision on the lead-requests
    page or from the school's mail domain (partnerships/onboarding.py), each with a TrustEvent."""

    list_display = ["user", "school", "role_at_school", "verified_at"]
    search_fields = ["user__username", "user__email", "school__name", "school__urn"]
    raw_id_fields = ["user", "school"]
    readonly_fields = ["verified_at"]


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
    readonly_fields = ["status"]  # follows the grant (grants.services._partnership_follows)
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["school", "partnership", "role", "status", "invited_at", "responded_at"]
    list_filter = ["role", "status", "cohort"]
    search_fields = ["school__name", "school__urn", "partnership__name"]
    raw_id_fields = ["school", "partnership", "invited_by", "responded_by"]


@admin.register(VerifiedDomain)
class VerifiedDomainAdmin(admin.ModelAdmin):
    """A domain trusted here vouches for everyone at it: refused for public and disposable
    providers (VerifiedDomain.clean), recorded with who trusted it and a TrustEvent."""

    list_display = ["domain", "school", "verified_by", "verified_at"]
    search_fields = ["domain", "school__name", "school__urn"]
    raw_id_fields = ["school"]
    fields = ["school", "domain"]

    def has_change_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        from partnerships.onboarding import verified_domain_add

        saved = verified_domain_add(school=obj.school, domain=obj.domain, by=request.user)
        obj.pk = saved.pk


@admin.register(LeadVerificationRequest)
class LeadVerificationRequestAdmin(admin.ModelAdmin):
    """Decisions are made on the staff page (which e-mails the lead); here they are read-only."""

    list_display = ["user", "school", "status", "requested_at", "decided_by", "decided_at"]
    list_filter = ["status"]
    search_fields = ["user__email", "school__name", "school__urn"]
    readonly_fields = [
        "user",
        "school",
        "role_at_school",
        "status",
        "requested_at",
        "decided_by",
        "decided_at",
        "reason",
    ]


@admin.register(EmailInvitation)
class EmailInvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "school", "partnership", "status", "sent_at", "expires_at", "answered_at"]
    list_filter = ["status"]
    search_fields = ["email", "school__name", "partnership__name"]
    exclude = ["nonce"]  # part of the signed link: never shown
    readonly_fields = [
        "partnership",
        "school",
        "membership",
        "email",
        "invited_by",
        "status",
        "created_at",
        "sent_at",
        "expires_at",
        "opened_at",
        "answered_at",
        "answered_by",
    ]


@admin.register(EmailConfirmation)
class EmailConfirmationAdmin(admin.ModelAdmin):
    list_display = ["user", "requested_at", "confirmed_at"]
    search_fields = ["user__email"]
    readonly_fields = ["user", "requested_at", "confirmed_at"]


@admin.register(TrustEvent)
class TrustEventAdmin(ReadOnlyAdmin):
    """Append-only: who vouched for whom, and what refused claims undid."""

    list_display = ["at", "action", "subject", "school", "partnership", "actor"]
    list_filter = ["action"]
    search_fields = ["subject__email", "school__name", "school__urn", "partnership__name"]


@admin.register(InvitationCode)
class InvitationCodeAdmin(admin.ModelAdmin):
    """Hashes only; read-only."""

    list_display = ["invitation", "created_at", "expires_at", "attempts", "used_at"]
    exclude = ["code_hash"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SchoolLink)
class SchoolLinkAdmin(admin.ModelAdmin):
    list_display = ("urn", "linked_urn", "link_type", "relation", "established_on", "source")
    list_filter = ("relation",)
    search_fields = ("=urn", "=linked_urn", "linked_name")


@admin.register(DataImport)
class DataImportAdmin(admin.ModelAdmin):
    """Read-only: imports are started from the staff upload page or the daily refresh."""

    list_display = ("kind", "trigger", "state", "file_name", "rows_done", "rows_expected", "created_at")
    list_filter = ("kind", "trigger", "state")
    search_fields = ("file_name",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
