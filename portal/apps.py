from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self):
        from django.db.models.signals import post_migrate

        from portal import (
            loginguard,  # noqa: F401  (connects the log-in throttle's signals)
            pagecache,
            two_factor,  # noqa: F401  (forgets a user's cached device answer on change)
        )
        from portal.roles import sync_role_permissions

        post_migrate.connect(sync_role_permissions, dispatch_uid="portal.sync_role_permissions")
        pagecache.connect_signals()  # every connection records reads and versions writes
