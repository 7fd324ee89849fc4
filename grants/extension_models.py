"""Deadline extensions (issue 17): programme staff give one application more time to be
submitted, or reopen its window after the round has closed, with a reason. Imported at the end of
grants/models.py so Django finds it in the grants app; written only by grants/extensions.py.

The database holds what it can: a reason is given, the new deadline comes after the moment it was
granted, one extension is current per application; and (PostgreSQL trigger, migration 0013) the
new deadline comes after the round's own and only a draft is given one."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length, Trim
from django.db.models.lookups import GreaterThan

from grants.models import Application


class DeadlineExtension(models.Model):
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="deadline_extensions")
    until = models.DateTimeField(help_text="The application may be submitted up to this moment.")
    reason = models.TextField(max_length=2000)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField()
    # The round's deadline when it was granted: the extension reads as "reopened" if it had passed.
    round_closed_at = models.DateTimeField()
    is_current = models.BooleanField(default=True)

    class Meta:
        ordering = ["application", "-granted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"], condition=Q(is_current=True), name="deadlineextension_one_current"
            ),
            models.CheckConstraint(
                condition=Q(until__gt=F("granted_at")), name="deadlineextension_until_after_granted"
            ),
            models.CheckConstraint(
                condition=Q(until__gt=F("round_closed_at")), name="deadlineextension_until_after_round"
            ),
            models.CheckConstraint(
                condition=GreaterThan(Length(Trim("reason")), 0),
                name="deadlineextension_has_reason",
            ),
        ]

    def __str__(self):
        return f"{self.application} may be submitted until {self.until:%Y-%m-%d %H:%M}"

    @property
    def reopened(self) -> bool:
        return self.granted_at > self.round_closed_at
