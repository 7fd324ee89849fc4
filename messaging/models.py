from django.conf import settings
from django.db import models
from django.utils import timezone


class OutboxMessage(models.Model):
    """One outgoing e-mail. Written in the transaction of the change it tells about, sent after
    that transaction commits by messaging.tasks.deliver, retried with growing delays, and kept
    (with its last error) so staff can see what did not go."""

    class State(models.TextChoices):
        QUEUED = "queued", "Waiting to be sent"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (no more retries)"

    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    from_email = models.CharField(max_length=320)
    to = models.JSONField(default=list)
    cc = models.JSONField(default=list, blank=True)
    bcc = models.JSONField(default=list, blank=True)
    reply_to = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The programme's wording this e-mail was written from (None: the built-in wording).
    template = models.ForeignKey(
        "messaging.MessageTemplate", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="outbox_state_next_attempt")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(state="sent") | models.Q(sent_at__isnull=False),
                name="outboxmessage_sent_has_sent_at",
            ),
        ]

    def __str__(self):
        return f"{self.subject} → {', '.join(self.to)} ({self.get_state_display()})"

    @property
    def recipients(self) -> list[str]:
        return [*self.to, *self.cc, *self.bcc]


class Notification(models.Model):
    """A message for one user, shown on their notifications page (and usually also e-mailed).
    Written by messaging.send; moved here from partnerships (the table keeps its name)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, max_length=5000)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # Waiting for the person's daily digest e-mail (messaging.digest); cleared when it is queued.
    in_digest = models.BooleanField(default=False)
    # The programme's wording this notification was written from (None: the built-in wording).
    template = models.ForeignKey(
        "messaging.MessageTemplate", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "partnerships_notification"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="partnership_user_id_048de9_idx")]

    def __str__(self):
        return f"{self.title} for {self.user}"


class ReminderSent(models.Model):
    """One row per reminder sent: the unique constraint makes each reminder go once, however
    often (or however concurrently) the reminder job runs. `recipient` is "user:<id>" or
    "invitee" (the address on an e-mail invitation), never an address itself."""

    kind = models.CharField(max_length=40)
    key = models.CharField(max_length=100)
    recipient = models.CharField(max_length=40)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "partnerships_remindersent"
        constraints = [
            models.UniqueConstraint(fields=["kind", "key", "recipient"], name="remindersent_once"),
        ]

    def __str__(self):
        return f"{self.kind} {self.key} to {self.recipient}"


class Preference(models.Model):
    """How one person wants one kind of message: e-mailed at once, gathered in a daily digest, or
    in the portal only. No row: the kind's default (messaging/kinds.py). Mandatory kinds ignore
    it (a decision, a security notice)."""

    class Delivery(models.TextChoices):
        IMMEDIATE = "immediate", "E-mail at once"
        DIGEST = "digest", "In a daily digest e-mail"
        PORTAL = "portal", "In the portal only"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40)
    delivery = models.CharField(max_length=10, choices=Delivery.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="preference_one_per_kind")]

    def __str__(self):
        return f"{self.user} {self.kind}: {self.delivery}"


class MutedProgramme(models.Model):
    """Programme staff mute a programme's messages during bulk changes: what happens meanwhile
    is kept on people's notifications pages but not e-mailed, except mandatory kinds (a
    decision, a security notice). `programme_id` names a partnerships.Programme without a
    foreign key: messaging sits below partnerships."""

    programme_id = models.PositiveIntegerField(unique=True)
    muted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    muted_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"Programme {self.programme_id} muted by {self.muted_by}"


class MessageTemplate(models.Model):
    """One version of a programme's wording for one message kind (messaging/programme_templates.py).
    Never changed or deleted: each save adds the next version, and the latest version is the
    programme's current wording; a reset adds a version that says "the built-in wording" (blank
    subject and body). The notifications and e-mails sent record the version they were written
    from. `programme_id` names a partnerships.Programme without a foreign key, as MutedProgramme."""

    programme_id = models.PositiveIntegerField()
    kind = models.CharField(max_length=40)
    version = models.PositiveIntegerField()
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True, max_length=10000)
    is_default = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["programme_id", "kind", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["programme_id", "kind", "version"], name="messagetemplate_one_per_version"
            ),
            models.CheckConstraint(
                condition=models.Q(version__gte=1), name="messagetemplate_version_positive"
            ),
            # A programme's wording cannot silence a message: it has a subject and a body, or it
            # is the built-in wording.
            models.CheckConstraint(
                condition=models.Q(is_default=True, subject="", body="")
                | (models.Q(is_default=False) & ~models.Q(subject="") & ~models.Q(body="")),
                name="messagetemplate_wording_or_default",
            ),
        ]

    def __str__(self):
        return f"{self.kind} for programme {self.programme_id}, version {self.version}"
