"""Webhook subscriptions and the outbox of deliveries (one row per event and
subscription, written in the same transaction as the change), with each attempt logged."""

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.crypto import EncryptedTextField
from accounts.watched import WatchedModel, cached_rows


def new_secret() -> str:
    return secrets.token_hex(32)


@cached_rows
class Subscription(WatchedModel):
    name = models.CharField(max_length=128)
    url = models.URLField(verbose_name=_("URL"), max_length=500)
    secret = EncryptedTextField(  # encrypted at rest
        max_length=128, default=new_secret, help_text="Key of the HMAC-SHA256 signature."
    )
    events = models.JSONField(
        default=list, help_text='Event names (see docs/api.md), or ["*"] for all.'
    )
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(WatchedModel.Meta):
        ordering = ["name", "id"]
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")

    def __str__(self):
        return self.name

    def wants(self, event: str) -> bool:
        return "*" in self.events or event in self.events


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Being sent"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed, will retry"
        GAVE_UP = "gave_up", "Gave up"

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=64)
    event_id = models.BigIntegerField(
        verbose_name=_("event ID"), null=True, blank=True, help_text="The ThreadEvent."
    )
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhooks_delivery_due",
                condition=models.Q(status__in=["pending", "failed", "sending"]),
            ),
            models.Index(fields=["subscription", "-created_at"], name="webhooks_delivery_sub"),
        ]

    def __str__(self):
        return f"{self.event} -> {self.subscription} ({self.status})"


class Attempt(models.Model):
    """One try at sending a delivery: the answer's status, a body excerpt, the time."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="log")
    number = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self):
        return f"attempt {self.number} of {self.delivery_id}: {self.status_code or self.error}"
