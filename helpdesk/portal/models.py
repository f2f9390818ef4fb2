"""The portal's own rows: its settings, guests' sign-in links, pending registrations,
invitations and the one-time tokens of its forms.

Every secret token is random (256 bits) and stored only as its SHA-256 hex digest, so
a leaked database does not hand out sign-in links.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.singleton import SingletonSettings


class PortalSettings(SingletonSettings):
    """How the portal behaves (one row, edited by admins in Django admin)."""

    class Registration(models.TextChoices):
        OPEN = "open", _("Open: anyone may register, after verifying their email")
        INVITE = "invite", _("Invitation only: admins invite clients")
        NONE = "none", _("None: guests only (access links by email)")

    registration = models.CharField(max_length=8, choices=Registration, default=Registration.OPEN)
    login_required_to_open = models.BooleanField(
        default=False, help_text=_("Only signed-in clients may open tickets (no guest tickets).")
    )
    kb_enabled = models.BooleanField(_("knowledge base enabled"), default=True)
    kb_requires_login = models.BooleanField(
        _("knowledge base for signed-in clients only"), default=False
    )
    access_link_hours = models.PositiveIntegerField(
        default=24, help_text=_("How long a guest's sign-in link works.")
    )
    ticket_link_days = models.PositiveIntegerField(
        default=7,
        help_text=_(
            "How long the ticket link in mail to a guest (a client without a password) "
            "opens the ticket without signing in."
        ),
    )
    verification_hours = models.PositiveIntegerField(
        default=48, help_text=_("How long an email verification link works.")
    )
    invitation_days = models.PositiveIntegerField(
        default=7, help_text=_("How long an invitation works.")
    )
    max_attachments = models.PositiveSmallIntegerField(
        default=5, help_text=_("Files per message (each within the configured size limit).")
    )
    tickets_per_ip_per_hour = models.PositiveIntegerField(
        verbose_name=_("tickets per IP address per hour"),
        default=10,
        help_text=_("Tickets one address may open per hour; 0: no limit."),
    )
    access_links_per_ip_per_hour = models.PositiveIntegerField(
        verbose_name=_("access links per IP address per hour"),
        default=5,
        help_text=_("Guest sign-in link requests per address per hour; 0: no limit."),
    )
    account_mails_per_ip_per_hour = models.PositiveIntegerField(
        verbose_name=_("account mails per IP address per hour"),
        default=5,
        help_text=_("Registrations and password resets per address per hour; 0: no limit."),
    )
    welcome_text = models.TextField(
        _("welcome text"),
        blank=True,
        help_text=_("Shown under the heading of the portal's home page (plain text)."),
    )
    translations = models.JSONField(
        _("translations"),
        default=dict,
        blank=True,
        help_text=_(
            "The welcome text in other languages, edited in the admin; what is left out "
            "shows the original."
        ),
    )

    class Meta:
        verbose_name = "portal settings"
        verbose_name_plural = "portal settings"

    def __str__(self):
        return "Portal settings"


class AccessLink(models.Model):
    """A guest's sign-in link to one ticket (osTicket's access link).

    Works until it expires or is revoked, and only while its user is the ticket's
    requester or an active collaborator; removing the client from the ticket revokes it.
    """

    token_hash = models.CharField(max_length=64, unique=True)
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    email = models.EmailField(help_text=_("The address the link was sent to."))
    requested_ip = models.GenericIPAddressField(
        verbose_name=_("requested from IP address"), null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["ticket", "user"], name="portal_link_ticket_user")]

    def __str__(self):
        return f"Link to #{self.ticket_id} for {self.email}"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class EmailVerification(models.Model):
    """An open registration waiting for its email to be confirmed. The account is made
    (or a guest's existing record given a password) only when the link is used."""

    token_hash = models.CharField(max_length=64, unique=True)
    email = models.EmailField()
    name = models.CharField(max_length=128, blank=True)
    password = models.CharField(max_length=128, help_text=_("Hashed, as Django stores them."))
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Verification for {self.email}"


class Invitation(models.Model):
    """An admin's invitation to register (the invite-only mode)."""

    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    email = models.EmailField()
    name = models.CharField(max_length=128, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The account made when it was accepted."),
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Invitation for {self.email}"

    @property
    def is_usable(self) -> bool:
        return self.accepted_at is None and self.expires_at > timezone.now()


class FormSubmission(models.Model):
    """A one-time form token, claimed by the request that acts on it.

    A double click or a refresh sends the same token twice; the unique constraint lets
    exactly one request through, the other finds what the first one made.
    """

    nonce = models.CharField(max_length=64, unique=True)
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    entry_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self):
        return self.nonce


class ClientPreferences(models.Model):
    """A client's own choices in the portal (their time zone lives on the User)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_preferences"
    )
    language = models.CharField(max_length=16, blank=True, help_text=_("Empty: the site's."))

    class Meta:
        verbose_name_plural = "client preferences"

    def __str__(self):
        return f"Preferences of {self.user_id}"
