from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "evaluation"

    def ready(self):
        # Celery's autodiscovery imports only tasks.py; the matching tasks live beside it.
        from evaluation import impact_signals, impact_tasks, signals  # noqa: F401

        signals.connect()
        impact_signals.connect()
