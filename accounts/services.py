"""State changes of identities. Every channel calls these, none writes the models."""

from collections.abc import Mapping, Sequence

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from . import audit
from . import permissions as perms
from .actors import Actor, is_agent, is_system
from .bus import send_on_commit
from .configuration import config_delete, config_save, validation_failed
from .errors import Conflict, PermissionRefused, ValidationFailed
from .models import PLACEHOLDER_EMAIL, Organization, OrganizationDomain, User, UserEmail
from .selectors import organization_for_email, user_find_by_email
from .signals import organization_created, user_created


def _clean_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError:
        raise ValidationFailed(
            "Enter a valid email address.",
            code="invalid_email",
            fields={"email": ["Enter a valid email address."]},
        ) from None
    return email


def _require_agent_perm(actor: Actor, perm: str) -> None:
    if is_system(actor):
        return
    if not (is_agent(actor) and perms.has_agent_perm(actor, perm)):
        raise PermissionRefused(
            f"You need the {perm} permission for this.", code="permission_denied"
        )


def user_create(
    *,
    actor: Actor,
    email: str,
    name: str = "",
    password: str | None = None,
    phone: str = "",
    organization: Organization | None = None,
    username: str | None = None,
    notes: str = "",
    is_primary_contact: bool = False,
    emails: Sequence[str] = (),
) -> User:
    """Create a client (made an agent afterwards by a helpdesk admin, if need be). The
    organization defaults to the one owning the email's domain; `emails` are further
    addresses (see user_set_emails)."""
    if is_agent(actor):  # clients, keys and the system create requesters
        _require_agent_perm(actor, "user.create")
    email = _clean_email(email)
    if user_find_by_email(email) is not None:
        raise Conflict(f"A user with the address {email} already exists.", code="user_exists")
    org = organization or organization_for_email(email)
    try:
        with transaction.atomic():
            user = User(
                email=email,
                name=name.strip()[:128],
                phone=phone[:32],
                organization=org,
                username=username or None,
                notes=notes,
                is_primary_contact=is_primary_contact and org is not None,
            )
            if password:
                user.set_password(password)
            else:
                user.set_unusable_password()
            user.save()
            if emails:
                _set_emails(user, emails)
            audit.record(
                "account.created",
                actor=actor,
                target=user,
                changes=audit.diff({}, {**audit.snapshot(user), "emails": list(emails)}),
            )
            send_on_commit(user_created, sender=User, user=user, actor=actor)
    except IntegrityError:
        raise Conflict(
            f"A user with the address {email} already exists.", code="user_exists"
        ) from None
    return user


def user_get_by_email(*, email: str) -> User | None:
    """The requester an address names (with organization and portal preferences), or
    None when nobody has it yet: the first half of user_get_or_create_by_email, for
    callers that open their transaction only when a user is to be created. Refuses
    invalid addresses and the placeholder of deleted users as that function does."""
    email = _clean_email(email)
    if email == PLACEHOLDER_EMAIL:
        message = "This address is the placeholder of deleted users, not a person's."
        raise ValidationFailed(message, code="placeholder", fields={"email": [message]})
    return user_find_by_email(email)


def user_get_or_create_by_email(*, actor: Actor, email: str, name: str = "") -> tuple[User, bool]:
    """The requester for a ticket arriving by email, API or a guest form.

    Safe under concurrency: two messages from a new address at once give one user.
    The placeholder of deleted users' address is refused like an invalid one: it is
    nobody's, so no ticket, collaboration or owner is given to it.
    """
    existing = user_get_by_email(email=email)
    if existing is not None:
        return existing, False
    email = _clean_email(email)
    try:
        return user_create(actor=actor, email=email, name=name), True
    except Conflict:
        existing = user_find_by_email(email)
        if existing is None:  # pragma: no cover - the conflicting row vanished again
            raise
        return existing, False


# An organization's fields beside its name, sharing, notes and domains.
ORGANIZATION_SETTINGS = (
    "manager_agent",
    "manager_team",
    "auto_assign_manager",
    "collab_all_members",
    "collab_primary_contacts",
)


def organization_create(
    *,
    actor: Actor,
    name: str,
    domains: Sequence[str] = (),
    sharing: str | None = None,
    notes: str = "",
    settings: Mapping[str, object] | None = None,
    primary_contacts: Sequence[User] | None = None,
) -> Organization:
    """A new organization with its domains; `settings` sets the other fields (account
    manager, collaborator and auto-assign switches), checked by the model's rules."""
    _require_agent_perm(actor, "org.create")
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(
            "An organization needs a name.", fields={"name": ["This field is required."]}
        )
    org = Organization(
        name=name[:128], sharing=sharing or Organization.Sharing.REQUESTER, notes=notes
    )
    for field, value in (settings or {}).items():
        setattr(org, field, value)
    try:
        org.full_clean(validate_unique=False)
    except DjangoValidationError as exc:
        raise validation_failed(exc) from None
    try:
        with transaction.atomic():
            org.save()
            if primary_contacts is not None:
                _set_primary_contacts(org, primary_contacts)
            for domain in domains:
                d = OrganizationDomain(organization=org, domain=domain)
                d.clean()
                d.save()
            audit.record(
                "organization.created",
                actor=actor,
                target=org,
                changes=audit.diff({}, {**audit.snapshot(org), "domains": list(domains)}),
            )
            send_on_commit(organization_created, sender=Organization, organization=org, actor=actor)
    except IntegrityError:
        raise Conflict(
            "That organization name or domain is already taken.", code="organization_exists"
        ) from None
    except DjangoValidationError as exc:
        raise ValidationFailed("; ".join(exc.messages), fields={"domains": exc.messages}) from None
    return org


# A client's contact details: what an agent with user.edit may change (the API's
# /users/); anything else, or an agent's record, is a helpdesk admin's (the Django admin).
def _not_placeholder(user: User) -> None:
    if user.is_placeholder:
        raise Conflict(
            "The placeholder of deleted users is not a person: it is not edited.",
            code="placeholder",
        )


CLIENT_DETAILS = frozenset(
    {"email", "name", "phone", "organization", "is_active", "notes", "is_primary_contact"}
)


def user_update(
    *,
    actor: Actor,
    user: User,
    data: Mapping[str, object],
    emails: Sequence[str] | None = None,
) -> User:
    """Change a person's record: a client's contact details with user.edit, an agent's
    record or any other field as a helpdesk admin; the model's rules, one transaction.
    Given `emails`, the client's further addresses are replaced too (user_set_emails)."""
    _not_placeholder(user)
    admin_only = user.is_agent or bool(set(data) - CLIENT_DETAILS)
    agent_perm = None if admin_only else "user.edit"
    with transaction.atomic():
        config_save(actor=actor, instance=user, data=data, agent_perm=agent_perm)
        if emails is not None:
            user_set_emails(actor=actor, user=user, emails=emails)
        if user.is_primary_contact and user.organization_id is None:
            user.is_primary_contact = False
            user.save(update_fields=["is_primary_contact"])
    return user


def organization_update(
    *,
    actor: Actor,
    organization: Organization,
    data: Mapping[str, object],
    domains: list[str] | None = None,
    primary_contacts: Sequence[User] | None = None,
) -> Organization:
    """Change an organization's details (org.edit) and, given `domains`, replace its
    email domains, given `primary_contacts` (members) its primary contacts: together
    or not at all."""
    with transaction.atomic():
        config_save(actor=actor, instance=organization, data=data, agent_perm="org.edit")
        if domains is not None:
            organization_set_domains(actor=actor, organization=organization, domains=domains)
        if primary_contacts is not None:
            _set_primary_contacts(organization, primary_contacts)
    return organization


def _set_primary_contacts(organization: Organization, contacts: Sequence[User]) -> None:
    """Exactly `contacts` are the organization's primary contacts; they must be members."""
    ids = {u.pk for u in contacts}
    outsiders = [u.email for u in contacts if u.organization_id != organization.pk]
    if outsiders:
        raise ValidationFailed(
            f"Not members of {organization.name}: {', '.join(sorted(outsiders))}.",
            fields={"primary_contacts": ["Primary contacts must be members."]},
        )
    members = User.objects.filter(organization=organization)
    members.exclude(pk__in=ids).filter(is_primary_contact=True).update(is_primary_contact=False)
    members.filter(pk__in=ids).update(is_primary_contact=True)


def organization_delete(*, actor: Actor, organization: Organization) -> None:
    """Delete an organization (org.delete): its members stay, without an organization;
    its tickets stay, without one."""
    config_delete(actor=actor, instance=organization, agent_perm="org.delete")


def user_set_emails(*, actor: Actor, user: User, emails: Sequence[str]) -> User:
    """Replace a client's further addresses (user.edit); none may belong to anyone else."""
    _require_agent_perm(actor, "user.edit")
    _not_placeholder(user)
    with transaction.atomic():
        before = sorted(user.extra_emails.values_list("email", flat=True))
        _set_emails(user, emails)
        after = sorted(user.extra_emails.values_list("email", flat=True))
        if before != after:
            changes = {"emails": [before, after]}
            audit.record("account.updated", actor=actor, target=user, changes=changes)
    return user


def _set_emails(user: User, emails: Sequence[str]) -> None:
    """(Inside the caller's transaction.) Exactly `emails` are the user's further
    addresses."""
    cleaned = list(dict.fromkeys(_clean_email(e) for e in emails if e.strip()))
    cleaned = [e for e in cleaned if e != user.email.lower()]
    for email in cleaned:
        owner = user_find_by_email(email)
        if owner is not None and owner.pk != user.pk:
            raise Conflict(
                f"{email} belongs to {owner.display_name}.",
                code="email_taken",
                fields={"emails": [f"{email} belongs to another user."]},
            )
    user.extra_emails.exclude(email__in=cleaned).delete()
    have = {e.lower() for e in user.extra_emails.values_list("email", flat=True)}
    UserEmail.objects.bulk_create(UserEmail(user=user, email=e) for e in cleaned if e not in have)


def _client_account(actor: Actor, user: User) -> None:
    _require_agent_perm(actor, "user.manage")
    if user.is_agent:
        raise PermissionRefused(
            "Agents' accounts are managed by helpdesk admins.", code="permission_denied"
        )
    _not_placeholder(user)


def user_lock(*, actor: Actor, user: User, locked: bool = True) -> User:
    """Lock (or unlock) a client's account (user.manage): a locked client cannot sign
    in; their mail still reaches their tickets."""
    _client_account(actor, user)
    if user.is_locked != locked:
        with transaction.atomic():
            user.is_locked = locked
            user.save(update_fields=["is_locked", "updated_at"])
            audit.record(
                "account.locked" if locked else "account.unlocked",
                actor=actor,
                target=user,
                changes={"is_locked": [not locked, locked]},
            )
    return user


def user_send_password_reset(*, actor: Actor, user: User) -> bool:
    """Mail a client a password reset link (user.manage), through the portal's reset
    path (after commit, limited per address). Refused for a client without a password:
    they are invited instead."""
    from .services_passwords import password_reset_request

    _client_account(actor, user)
    if not user.has_usable_password():
        raise Conflict(
            f"{user.email} has no account yet: send an invitation instead.", code="no_account"
        )
    return password_reset_request(email=user.email, audience="client")


PROFILE_FIELDS = ("name", "signature", "timezone")


def agent_profile_update(*, actor: Actor, agent: User, **values: str) -> User:
    """An agent's own name, signature and time zone (or any agent's, for an admin)."""
    if not (is_agent(actor) and (actor.pk == agent.pk or actor.is_helpdesk_admin)):
        raise PermissionRefused("You may only edit your own profile.", code="permission_denied")
    unknown = set(values) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown profile fields: {', '.join(sorted(unknown))}.")
    before = audit.snapshot(agent, values)
    for name, value in values.items():
        setattr(agent, name, value)
    try:
        agent.full_clean(
            validate_unique=False,
            exclude=[f.name for f in User._meta.fields if f.name not in values],
        )
    except DjangoValidationError as exc:
        raise ValidationFailed("; ".join(exc.messages), fields=exc.message_dict) from None
    changes = audit.diff(before, audit.snapshot(agent, values))
    if values:
        with transaction.atomic():
            agent.save(update_fields=[*values, "updated_at"])
            if changes:
                audit.record("account.updated", actor=actor, target=agent, changes=changes)
    return agent


def user_activate_account(*, user: User, password_hash: str, name: str = "") -> User:
    """Give a client (often a guest so far) the password they chose, hashed already, once
    their address is proven (a verification or invitation link). Refuses agents and
    clients who have a password: they sign in or reset it."""
    if user.is_agent or user.has_usable_password():
        raise Conflict(
            "An account with this address exists already: sign in, or reset its password.",
            code="account_exists",
        )
    user.password = password_hash
    fields = ["password", "updated_at"]
    if name and not user.name:
        user.name = name[:128]
        fields.append("name")
    with transaction.atomic():
        user.save(update_fields=fields)
        audit.record(
            "account.activated",
            actor=user,
            target=user,
            changes={"password": [None, audit.MASK]},
        )
    return user


def organization_set_domains(
    *, actor: Actor, organization: Organization, domains: Sequence[str]
) -> Organization:
    """Replace the email domains whose new users join the organization (org.edit)."""
    _require_agent_perm(actor, "org.edit")
    cleaned = []
    for domain in domains:
        row = OrganizationDomain(organization=organization, domain=domain)
        try:
            row.clean()
        except DjangoValidationError as exc:
            raise ValidationFailed(
                "; ".join(exc.messages), fields={"domains": exc.messages}
            ) from None
        cleaned.append(row.domain)
    with transaction.atomic():
        before = sorted(organization.domains.values_list("domain", flat=True))
        taken = OrganizationDomain.objects.filter(domain__in=cleaned).exclude(
            organization=organization
        )
        clash = taken.first()  # one query, where exists() then first() took two
        if clash is not None:
            raise Conflict(f"{clash.domain} belongs to another organization.", code="domain_taken")
        organization.domains.exclude(domain__in=cleaned).delete()
        for domain in cleaned:
            OrganizationDomain.objects.get_or_create(organization=organization, domain=domain)
        after = sorted(organization.domains.values_list("domain", flat=True))
        if before != after:
            audit.record(
                "organization.updated",
                actor=actor,
                target=organization,
                changes={"domains": [before, after]},
            )
    return organization


def secrets_reencrypt() -> dict[str, int]:
    """Encrypt every stored secret (accounts.crypto.EncryptedTextField columns) again
    with the first key, in one transaction: {model.field: rows rewritten}."""
    from django.apps import apps
    from django.db import connection

    from .crypto import EncryptedTextField, rewrite_column, rotate

    done = {}
    with transaction.atomic():
        for model in apps.get_models():
            for field in model._meta.concrete_fields:
                if isinstance(field, EncryptedTextField) and field.column is not None:
                    table = model._meta.db_table  # (a concrete field always has a column)
                    count = rewrite_column(connection, table, field.column, rotate)
                    done[f"{model._meta.label}.{field.name}"] = count
    return done
