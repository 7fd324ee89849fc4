from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "evaluation"

    def ready(self):
        # Every evaluation task is in evaluation/tasks.py (Celery's autodiscovery imports it).
        from evaluation import impact_signals, signals

        signals.connect()
        impact_signals.connect()
        # Outcome files on the staff upload page (partnerships.imports' registry).
        from evaluation import outcome_import

        outcome_import.register_importer()
