from django.apps import AppConfig


class GrantsConfig(AppConfig):
    name = "grants"

    def ready(self):
        # The minimum of schools holds in every state (issue 13): partnerships asks grants.
        from grants import services
        from partnerships import hooks

        hooks.register_membership_guard(services.membership_guard)
        hooks.minimum_at_risk.connect(services.on_minimum_at_risk, dispatch_uid="grants_minimum_at_risk")
        hooks.partnership_withdrawn.connect(
            services.on_partnership_withdrawn, dispatch_uid="grants_partnership_withdrawn"
        )
