from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "evaluation"

    def ready(self):
        # Celery's autodiscovery imports only tasks.py; the matching tasks live beside it.
        from evaluation import impact_signals, impact_tasks, signals  # noqa: F401

        signals.connect()
        impact_signals.connect()
        # Outcome files on the staff upload page (partnerships.imports' registry).
        from evaluation import outcome_import

        outcome_import.register_importer()
