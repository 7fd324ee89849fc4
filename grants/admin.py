from django.contrib import admin

from grants.models import (
    Application,
    ApplicationMessage,
    Attachment,
    AttachmentType,
    AuditEvent,
    BudgetLine,
    EndOfGrantReport,
    Payment,
    ProgrammeFinanceEvent,
    ReportSpend,
    Score,
)
from portal.admin import ReadOnlyAdmin, ReadOnlyTabularInline


class BudgetLineInline(admin.TabularInline):
    model = BudgetLine
    extra = 0


class AuditEventInline(admin.TabularInline):
    model = AuditEvent
    extra = 0
    can_delete = False
    readonly_fields = ["at", "actor", "action", "from_status", "to_status", "comment"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    """Read-mostly: state changes go through the review pages, which audit them."""

    list_display = ["reference", "partnership", "cohort", "status", "requested", "awarded", "submitted_at"]
    list_filter = ["status", "cohort__programme", "cohort"]
    search_fields = ["reference", "partnership__name"]
    readonly_fields = [
        "status",
        "requested",
        "awarded",
        "grant_cap",
        "submitted_at",
        "decided_at",
        "reference",
    ]
    raw_id_fields = ["partnership", "created_by"]
    inlines = [BudgetLineInline, AuditEventInline]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Append-only: nobody, superusers included, may add, change or delete here."""

    list_display = ["at", "application", "actor", "action", "from_status", "to_status"]
    list_filter = ["action", "to_status"]
    search_fields = ["application__reference", "comment"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["application", "sequence", "amount", "trigger", "status", "released_at", "paid_at"]
    list_filter = ["status", "trigger"]
    search_fields = ["application__reference"]
    readonly_fields = ["application", "sequence", "amount", "trigger", "status", "released_at", "paid_at"]


@admin.register(Score)
class ScoreAdmin(admin.ModelAdmin):
    list_display = ["application", "reviewer", "criterion", "score"]
    list_filter = ["criterion"]


class ReportSpendInline(admin.TabularInline):
    model = ReportSpend
    extra = 0


@admin.register(EndOfGrantReport)
class EndOfGrantReportAdmin(admin.ModelAdmin):
    list_display = ["application", "status", "submitted_at", "decided_at"]
    list_filter = ["status"]
    inlines = [ReportSpendInline]


@admin.register(ApplicationMessage)
class ApplicationMessageAdmin(admin.ModelAdmin):
    """Read-only: a conversation is written on the application page, where both sides are told."""

    list_display = ("application", "author", "staff_only", "created_at")
    list_filter = ("staff_only",)
    search_fields = ("application__reference", "body")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AttachmentType)
class AttachmentTypeAdmin(admin.ModelAdmin):
    """The files a programme asks applicants for: staff set them up here."""

    list_display = ("name", "programme", "required", "per_partner_school", "max_bytes", "order")
    list_filter = ("programme", "required")


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    """Read-only: files come in through the checked upload and go out through the scoped
    download view only (no file link here)."""

    list_display = ("download_name", "application", "attachment_type", "status", "size", "uploaded_at")
    list_filter = ("status", "format")
    search_fields = ("application__reference", "original_name", "sha256")
    exclude = ("file",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# --- Finance (issue 19) ----------------------------------------------------------------------------
from grants.models import (  # noqa: E402
    AgreementTerms,
    BudgetVariation,
    GrantAgreement,
    PayeeChange,
    ScheduleStep,
)


@admin.register(ScheduleStep)
class ScheduleStepAdmin(admin.ModelAdmin):
    """A programme's payment schedule template: applied to each new award (grants.payments). A
    template that cannot be used (no remaining-balance step and percentages not making 100 %) is
    refused at award with the reason."""

    list_display = ["programme", "sequence", "kind", "percent", "amount", "trigger", "due_on"]
    list_filter = ["programme"]


@admin.register(AgreementTerms)
class AgreementTermsAdmin(admin.ModelAdmin):
    """Versions of a programme's grant agreement terms; the newest published is offered."""

    list_display = ["programme", "version", "published_at"]
    list_filter = ["programme"]

    def has_change_permission(self, request, obj=None):
        return obj is None  # a published version is never edited: publish a new one

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BudgetVariation)
class BudgetVariationAdmin(ReadOnlyAdmin):
    """Budget variations are asked for and decided on the grant's budget page (grants.variations)."""

    list_display = ["application", "from_category", "to_category", "amount", "status", "decided_at"]
    list_filter = ["status"]


@admin.register(GrantAgreement)
class GrantAgreementAdmin(ReadOnlyAdmin):
    list_display = ["application", "status", "terms_version", "respond_by", "signed_name", "responded_at"]
    list_filter = ["status"]


@admin.register(ProgrammeFinanceEvent)
class ProgrammeFinanceEventAdmin(ReadOnlyAdmin):
    """Append-only history of a programme's finance set-up (written by grants.programme_finance)."""

    list_display = ["at", "programme", "actor", "action", "detail"]
    list_filter = ["action"]


@admin.register(PayeeChange)
class PayeeChangeAdmin(ReadOnlyAdmin):
    """Who changed which payee details, masked. The details themselves are on the finance page only."""

    list_display = ["school", "changed_by", "at", "summary"]


# Review (issue 17), finance records and report definitions (issues 19, 20). Rubrics and review
# settings are edited on the staff screens (grants/review_views.py); reviews, assignments,
# conflicts and payment records are written only by their services, so the admin only reads them.
from grants.models import (  # noqa: E402
    ConflictDeclaration,
    ConflictOverride,
    CriterionScore,
    PayeeDetails,
    PaymentRecord,
    ProgrammeReviewer,
    ReportDefinition,
    Review,
    ReviewerAssignment,
    ReviewSettings,
    Rubric,
    RubricCriterion,
)


@admin.register(ReportDefinition)
class ReportDefinitionAdmin(admin.ModelAdmin):
    list_display = ["programme", "kind", "due_months_after_award"]
    list_filter = ["programme"]


class RubricCriterionInline(ReadOnlyTabularInline):
    model = RubricCriterion


@admin.register(Rubric)
class RubricAdmin(ReadOnlyAdmin):
    list_display = ["programme", "version", "is_current"]
    list_filter = ["programme"]
    inlines = [RubricCriterionInline]


class CriterionScoreInline(ReadOnlyTabularInline):
    model = CriterionScore


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["application", "reviewer", "recommendation", "weighted_score"]
    exclude = ["private_note"]  # the reviewer's alone
    inlines = [CriterionScoreInline]


for _model in (ReviewSettings, ProgrammeReviewer, ReviewerAssignment, ConflictDeclaration, ConflictOverride):
    admin.site.register(_model, ReadOnlyAdmin)


@admin.register(PaymentRecord)
class PaymentRecordAdmin(ReadOnlyAdmin):
    list_display = ["payment", "reference", "recorded_by"]


@admin.register(PayeeDetails)
class PayeeDetailsAdmin(ReadOnlyAdmin):
    """Who holds payee details, never the numbers: those are on the finance page only."""

    list_display = ["school", "finance_contact_name", "updated_by"]
    fields = ["school", "finance_contact_name", "updated_by"]


# Deadline extensions (issue 17): granted from the application page (audited, the lead told); read-only here.
from grants.extension_models import DeadlineExtension  # noqa: E402


@admin.register(DeadlineExtension)
class DeadlineExtensionAdmin(ReadOnlyAdmin):
    list_display = ["application", "until", "by", "granted_at"]
    search_fields = ["application__reference"]
    raw_id_fields = ["application"]
