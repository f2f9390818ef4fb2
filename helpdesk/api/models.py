"""Idempotency records: the first answer to a POST, replayed for the same key and body."""

from django.db import models


class IdempotencyRecord(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "In progress"
        DONE = "done", "Answered"

    caller = models.CharField(max_length=64, help_text="token:<id>, key:<id> or user:<id>")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    state = models.CharField(max_length=8, choices=State, default=State.PENDING)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=128, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.BinaryField(blank=True, default=b"")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["caller", "key"], name="api_idempotency_once")
        ]

    def __str__(self):
        return f"{self.caller} {self.key} ({self.state})"
