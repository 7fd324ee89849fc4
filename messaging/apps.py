from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self):
        from messaging import delivery, outbox, privacy  # noqa: F401 - delivery: its signal receivers
        from portal import health, personal_data

        health.register("outbox", outbox.health)
        personal_data.register(
            "notifications", export=privacy.notifications, shred=privacy.shred_notifications
        )
