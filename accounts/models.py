"""Identity: one User for agents and clients, Roles, department access, Organizations."""

import zoneinfo
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import permissions as perms

TIMEZONE_CHOICES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones())]


class Role(models.Model):
    """A named set of department permissions (osTicket's roles)."""

    name = models.CharField(max_length=64, unique=True)
    permissions = models.JSONField(default=list, blank=True, help_text=_("Permission keys."))
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        bad = perms.unknown_keys(self.permissions or [], agent_wide=False)
        if bad:
            raise ValidationError({"permissions": _("Unknown permissions: %s") % ", ".join(bad)})


class Organization(models.Model):
    class Sharing(models.TextChoices):
        REQUESTER = "requester", _("Only the requester sees a ticket")
        PRIMARY = "primary", _("Primary contacts see the organization's tickets")
        ALL = "all", _("All members see the organization's tickets")

    name = models.CharField(max_length=128, unique=True)
    sharing = models.CharField(max_length=16, choices=Sharing, default=Sharing.REQUESTER)
    notes = models.TextField(blank=True)
    # osTicket's account manager: an agent or a team (never both)
    manager_agent = models.ForeignKey(
        "accounts.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_organizations",
        limit_choices_to={"is_agent": True},
        verbose_name=_("account manager (agent)"),
    )
    manager_team = models.ForeignKey(
        "routing.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_organizations",
        verbose_name=_("account manager (team)"),
    )
    auto_assign_manager = models.BooleanField(
        _("auto-assign to the account manager"),
        default=False,
        help_text=_("New tickets of members go to the account manager unless routed to someone."),
    )
    collab_all_members = models.BooleanField(_("add all members as collaborators"), default=False)
    collab_primary_contacts = models.BooleanField(
        _("add primary contacts as collaborators"), default=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(manager_agent__isnull=True)
                | models.Q(manager_team__isnull=True),
                name="accounts_org_one_manager",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def manager(self) -> "User | Any | None":
        """The account manager: an agent, a team, or None."""
        return self.manager_agent or self.manager_team

    def clean(self) -> None:
        if self.manager_agent_id and self.manager_team_id:
            raise ValidationError(_("The account manager is an agent or a team, not both."))
        if self.manager_agent is not None and not self.manager_agent.is_agent:
            raise ValidationError({"manager_agent": _("The account manager must be an agent.")})


class OrganizationDomain(models.Model):
    """An email domain whose new users join the organization automatically."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(max_length=253, unique=True)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain

    def clean(self) -> None:
        self.domain = (self.domain or "").strip().lower().lstrip("@")
        if "." not in self.domain or " " in self.domain:
            raise ValidationError({"domain": _("Enter a domain such as example.com.")})


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.update(is_superuser=True, is_agent=True, is_helpdesk_admin=True)
        return self._create(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> "User":
        return self.get(email__iexact=username)


# The inactive user who keeps the tickets of deleted users (tickets.services.people):
# not a person, so never listed, picked or edited like a client.
PLACEHOLDER_EMAIL = "deleted-user@placeholder.invalid"


class User(AbstractBaseUser, PermissionsMixin):
    """Agents and clients alike. Agents carry the agent fields; clients the client ones.

    An agent can also be the requester of a ticket: a person has one account.
    """

    email = models.EmailField(_("email address"), max_length=254)
    username = models.CharField(
        max_length=64,
        null=True,
        blank=True,
        unique=True,
        help_text=_("Agents sign in with a username or their email; clients with their email."),
    )
    name = models.CharField(max_length=128, blank=True)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    timezone = models.CharField(max_length=64, choices=TIMEZONE_CHOICES, default="UTC")

    # --- agent -------------------------------------------------------------------
    is_agent = models.BooleanField(default=False, db_index=True)
    is_helpdesk_admin = models.BooleanField(
        default=False, help_text=_("Configures the helpdesk and holds every permission.")
    )
    department = models.ForeignKey(
        "routing.Department",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="primary_agents",
        help_text=_("Primary department."),
    )
    role = models.ForeignKey(
        Role, null=True, blank=True, on_delete=models.PROTECT, related_name="primary_agents"
    )
    permissions = models.JSONField(default=list, blank=True, help_text=_("Agent-wide permissions."))
    on_vacation = models.BooleanField(default=False)
    assigned_only = models.BooleanField(
        default=False, help_text=_("Limit ticket access to tickets assigned to the agent.")
    )
    signature = models.TextField(blank=True)

    # --- client ------------------------------------------------------------------
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    phone = models.CharField(max_length=32, blank=True)
    notes = models.TextField(blank=True)
    is_primary_contact = models.BooleanField(
        _("primary contact"), default=False, help_text=_("A primary contact of their organization.")
    )
    is_locked = models.BooleanField(
        _("locked"),
        default=False,
        help_text=_("Administratively locked: cannot sign in (mail still reaches tickets)."),
    )

    # --- security ------------------------------------------------------------------
    reset_nonce = models.CharField(
        max_length=32,
        blank=True,
        editable=False,
        help_text=_("Replaced by every new password reset link, which voids the older ones."),
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["name", "email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(is_agent=True) | models.Q(department__isnull=True),
                name="accounts_user_only_agents_have_departments",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name or self.username or self.email

    @property
    def is_placeholder(self) -> bool:
        """The stand-in requester of deleted users' tickets (PLACEHOLDER_EMAIL)."""
        return self.email == PLACEHOLDER_EMAIL

    @property
    def is_staff(self) -> bool:
        """Django admin access: superusers and helpdesk admins."""
        return self.is_active and (self.is_superuser or self.is_helpdesk_admin)

    def has_perm(self, perm: str, obj: models.Model | None = None) -> bool:
        if self.is_active and self.is_helpdesk_admin:
            return True
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label: str) -> bool:
        if self.is_active and self.is_helpdesk_admin:
            return True
        return super().has_module_perms(app_label)

    def clean(self) -> None:
        super().clean()
        self.email = (self.email or "").strip().lower()
        if self.username == "":
            self.username = None
        bad = perms.unknown_keys(self.permissions or [], agent_wide=True)
        if bad:
            raise ValidationError({"permissions": _("Unknown permissions: %s") % ", ".join(bad)})
        if self.is_agent and not (self.department_id and self.role_id):
            raise ValidationError(_("An agent needs a primary department and a role."))


class Agent(User):
    """Agents, as the admin lists and edits them (a proxy: the same rows as User)."""

    class Meta:
        proxy = True
        verbose_name = _("agent")
        verbose_name_plural = _("agents")


class Client(User):
    """Clients (end users), as the admin lists and edits them (a proxy of User)."""

    class Meta:
        proxy = True
        verbose_name = _("client")
        verbose_name_plural = _("clients")


class UserEmail(models.Model):
    """Further addresses of a client (mail from any of them reaches their tickets)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="extra_emails")
    email = models.EmailField(max_length=254)

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="accounts_useremail_ci_unique")]

    def __str__(self) -> str:
        return self.email


class DepartmentAccess(models.Model):
    """An agent's access to a department other than their primary one, with its role."""

    agent = models.ForeignKey(User, on_delete=models.CASCADE, related_name="department_accesses")
    department = models.ForeignKey(
        "routing.Department", on_delete=models.CASCADE, related_name="agent_accesses"
    )
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="department_accesses")
    alerts = models.BooleanField(default=True, help_text=_("Receive this department's alerts."))

    class Meta:
        verbose_name_plural = "department accesses"
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "department"], name="accounts_one_access_per_dept"
            )
        ]

    def __str__(self) -> str:
        return f"{self.agent} @ {self.department} ({self.role})"


class ApiKey(models.Model):
    """An integration's key (osTicket's API keys): bound to source addresses (CIDR),
    with capabilities, and a scope: the whole helpdesk (osTicket's keys) or, beyond
    osTicket, a read/write scope over departments.

    Only the SHA-256 of the key is stored, of its upper-case form: osTicket's keys are
    hexadecimal and compare case-insensitively (accounts.apikeys.api_key_hash). The key
    itself is shown once at creation.
    """

    # (read, write) department ids, when accounts.apikeys.api_key_find loaded them
    department_scope: tuple[frozenset[int], frozenset[int]] | None = None

    name = models.CharField(max_length=128)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_prefix = models.CharField(max_length=8, editable=False, help_text=_("To recognise it."))
    is_active = models.BooleanField(default=True)
    allowed_ips = models.JSONField(
        default=list,
        blank=True,
        help_text=_("Addresses or networks (CIDR) the key may be used from; empty: none."),
    )
    can_create_tickets = models.BooleanField(default=False)
    can_exec_cron = models.BooleanField(default=False)
    is_mail_relay = models.BooleanField(
        _("trusts the key's Authentication-Results"),
        default=False,
        help_text=_(
            "A mail server of ours posting raw mail to /api/tickets.email, which removes "
            "forged Authentication-Results headers: the headers it posts decide whether a "
            "sender is verified. Off: every message this key posts is unverified, whatever "
            "its headers say (the poster writes the whole message)."
        ),
    )
    all_departments = models.BooleanField(
        _("whole helpdesk"),
        default=False,
        help_text=_(
            "Reads and changes the tickets of every department, opens tickets wherever "
            "routing sends them and pipes mail for the whole helpdesk, as osTicket's keys "
            "do (a key made for creating tickets without any department). Off: only the "
            "departments below."
        ),
    )
    read_departments = models.ManyToManyField(
        "routing.Department",
        blank=True,
        related_name="+",
        help_text=_("Departments whose tickets the key may read (writing implies reading)."),
    )
    write_departments = models.ManyToManyField(
        "routing.Department",
        blank=True,
        related_name="+",
        help_text=_(
            "Departments whose tickets the key may change, and where the tickets it opens "
            "may be routed (through /api/v1/ and /api/tickets.json)."
        ),
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"


class AgentToken(models.Model):
    """A personal API token of an agent, acting with the agent's own permissions.

    Only the SHA-256 is stored; the token is shown once. Revoked, not deleted, so the
    audit trail keeps its name.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=128)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_prefix = models.CharField(max_length=12, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.token_prefix}…)"

    @property
    def is_usable(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    """Audit entries are append-only: no bulk update or delete through the ORM. The
    retention purge is the one way out (`accounts.audit.purge_before`)."""

    def update(self, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs == {"actor_user": None}:  # the actor's account deleted (SET_NULL): the
            return super().update(**kwargs)  # label stays, only the link goes
        raise PermissionError("Audit entries cannot be changed.")

    def delete(self):  # type: ignore[no-untyped-def]
        raise PermissionError("Audit entries cannot be deleted.")


class AuditEntry(models.Model):
    """One change outside tickets (configuration, accounts, sign-ins, exports, purges):
    who, when, from where, on what, and the fields before and after (secrets masked).
    Written by `accounts.audit.record` in the change's transaction; never edited."""

    class ActorKind(models.TextChoices):
        AGENT = "agent", _("Agent")
        CLIENT = "client", _("Client")
        API_KEY = "api_key", _("API key")
        SYSTEM = "system", _("System")
        COMMAND = "command", _("Command")
        ANONYMOUS = "anonymous", _("Anonymous")

    at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=64, db_index=True)  # "<kind>.<verb>": department.updated
    actor_kind = models.CharField(max_length=16, choices=ActorKind)
    actor_user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    actor_label = models.CharField(max_length=255, blank=True)  # kept when the user goes
    ip = models.GenericIPAddressField(null=True, blank=True)
    target_type = models.ForeignKey(
        "contenttypes.ContentType", null=True, blank=True, on_delete=models.PROTECT
    )
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=255, blank=True)
    changes = models.JSONField(default=dict, blank=True)  # {field: [before, after]}
    detail = models.TextField(blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        indexes = [
            models.Index(fields=["target_type", "target_id", "-at"], name="audit_target_at"),
            models.Index(fields=["actor_user", "-at"], name="audit_actor_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.target_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("Audit entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError("Audit entries cannot be deleted.")
