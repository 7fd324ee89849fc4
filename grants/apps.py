from django.apps import AppConfig


class GrantsConfig(AppConfig):
    name = "grants"

    def ready(self):
        # The minimum of schools holds in every state (issue 13): partnerships asks grants.
        from grants import privacy, services
        from grants.models import AUDIT_ACTIONS, Application
        from partnerships import hooks
        from portal import labels, personal_data

        labels.register("audit_action", AUDIT_ACTIONS)
        labels.register_choices(Application.Status, "application_status")

        personal_data.register("applications_started", export=privacy.applications_started)
        personal_data.register("audit_events", export=privacy.audit_events)
        personal_data.register("programme_finance_changes", export=privacy.programme_finance_changes)
        personal_data.register("application_messages", export=privacy.application_messages)
        personal_data.register(
            "uploads", export=privacy.uploads, shred=privacy.shred_uploads, purge=privacy.purge_files
        )
        personal_data.register("reviews", export=privacy.reviews, shred=privacy.shred_reviews)

        hooks.register_membership_guard(services.membership_guard)
        hooks.minimum_at_risk.connect(services.on_minimum_at_risk, dispatch_uid="grants_minimum_at_risk")
        hooks.partnership_withdrawn.connect(
            services.on_partnership_withdrawn, dispatch_uid="grants_partnership_withdrawn"
        )
