"""Panel-only state: agents' preferences, TOTP devices, saved queues, panel settings.

Nothing here is domain data: tickets and people live in the core apps and change only
through their services. These rows only shape what the panel shows an agent.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.crypto import EncryptedTextField
from accounts.singleton import SingletonSettings

PAGE_SIZES = (10, 25, 50, 100)


class PanelSettings(SingletonSettings):
    """Panel-wide switches (one row), edited by admins in Django admin. Read on every
    panel and admin request: a missing row is not created by reading it."""

    create_on_load = False

    require_2fa = models.BooleanField(
        verbose_name=_("require two-factor sign-in"),
        default=False,
        help_text=_("Every agent must set up two-factor authentication to use the panel."),
    )

    class Meta:
        verbose_name = "panel settings"
        verbose_name_plural = "panel settings"

    def __str__(self):
        return "Panel settings"


class AgentPreferences(models.Model):
    """What an agent chose in their profile beyond the identity fields."""

    agent = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="panel_preferences"
    )
    language = models.CharField(max_length=16, blank=True, help_text=_("Empty: the site's."))
    page_size = models.PositiveSmallIntegerField(
        default=25, validators=[MinValueValidator(10), MaxValueValidator(100)]
    )
    notify_new_ticket = models.BooleanField(default=True)
    notify_new_message = models.BooleanField(default=True)
    notify_assigned = models.BooleanField(default=True)
    notify_transferred = models.BooleanField(default=True)
    notify_overdue = models.BooleanField(default=True)
    notify_note = models.BooleanField(default=True)
    notify_task_new = models.BooleanField(default=True)
    notify_task_activity = models.BooleanField(default=True)
    notify_task_assigned = models.BooleanField(default=True)
    notify_task_transferred = models.BooleanField(default=True)
    notify_task_overdue = models.BooleanField(default=True)
    sign_replies = models.BooleanField(
        default=True,
        help_text=_("The reply form starts with “Append my signature” ticked (when there is one)."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "agent preferences"

    def __str__(self):
        return f"Preferences of {self.agent}"


class TotpDevice(models.Model):
    """An agent's authenticator (RFC 6238). Confirmed once a first code was accepted."""

    agent = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="panel_totp"
    )
    secret = EncryptedTextField(max_length=64)  # encrypted at rest
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_counter = models.BigIntegerField(
        default=0, help_text=_("Time step of the last accepted code (no replays).")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("two-factor device")
        verbose_name_plural = _("two-factor devices")

    def __str__(self):
        return f"Authenticator of {self.agent}"

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class SavedQueue(models.Model):
    """A saved search shown as a queue: personal, or shared with every agent.

    `criteria` holds the advanced-search fields (see panel.queues.CRITERIA); each agent
    still sees only the tickets the visibility selector gives them.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="panel_queues"
    )
    name = models.CharField(max_length=64)
    is_shared = models.BooleanField(default=False, help_text=_("Shown to every agent."))
    criteria = models.JSONField(default=dict, blank=True)
    columns = models.JSONField(default=list, blank=True)
    sort = models.CharField(max_length=32, default="-updated")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="panel_queue_name_per_owner")
        ]

    def __str__(self):
        return self.name

    @property
    def slug(self) -> str:
        return f"q{self.pk}"


class RecoveryCode(models.Model):
    """One of an agent's single-use recovery codes, accepted at sign-in instead of an
    authenticator code. Only a SHA-256 of the code is kept: the codes are random (80
    bits), so a fast hash is enough and lets sign-in find a code with one indexed
    UPDATE that also spends it (services.recovery_code_use)."""

    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="panel_recovery_codes"
    )
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agent", "code_hash"], name="panel_recovery_code_once")
        ]

    def __str__(self):
        return f"Recovery code of {self.agent}" + (" (used)" if self.used_at else "")
