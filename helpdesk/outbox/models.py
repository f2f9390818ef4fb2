"""One row per piece of after-commit work (a notification, a mail to send, a webhook to
deliver), written in the same transaction as the change that caused it."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.crypto import EncryptedTextField
from accounts.rows import InsertWrittenOnce


class OutboxTask(InsertWrittenOnce, models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        DEAD = "dead", _("Given up")

    task = models.CharField(max_length=200, help_text=_("Dotted name of the Celery task."))
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    sealed = EncryptedTextField(
        blank=True,
        default="",
        help_text=_(
            "Arguments that must not be stored readable (sign-in links, password hashes): "
            "JSON encrypted at rest; args and kwargs are then empty."
        ),
    )
    state = models.CharField(max_length=8, choices=State, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    offered_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Last handed to the broker; empty: not handed.")
    )
    reoffer_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When to hand it to the broker again if it is still waiting then."),
    )
    taken_until = models.DateTimeField(
        null=True, blank=True, help_text=_("Lease of the worker running it.")
    )
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["next_attempt_at", "id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="outbox_due",
                condition=models.Q(state="pending"),
            ),
            models.Index(
                fields=["taken_until"], name="outbox_running", condition=models.Q(state="running")
            ),
        ]

    def __str__(self):  # never the sealed arguments
        return f"{self.task}{tuple(self.args)} ({self.state})"
