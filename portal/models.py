from django.db import models


class Heartbeat(models.Model):
    """Last time a Celery worker ran the heartbeat task; /healthz reports its age."""

    name = models.CharField(max_length=50, primary_key=True)
    seen_at = models.DateTimeField()

    def __str__(self):
        return f"{self.name} at {self.seen_at:%Y-%m-%d %H:%M:%S}"


class LoginThrottle(models.Model):
    """Failed log-ins counted under one key (an account for unknown browsers, one browser of an
    account, or a client address) and how long that key is refused (portal/loginguard.py)."""

    key = models.CharField(max_length=100, unique=True)
    failures = models.PositiveIntegerField(default=0)
    first_failure_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.key}: {self.failures} failures"
