from django.db import models


class Heartbeat(models.Model):
    """Last time a Celery worker ran the heartbeat task; /healthz reports its age."""

    name = models.CharField(max_length=50, primary_key=True)
    seen_at = models.DateTimeField()

    def __str__(self):
        return f"{self.name} at {self.seen_at:%Y-%m-%d %H:%M:%S}"
