"""Custom fields of users and organizations (osTicket's Contact Information and
Organization Information forms): values checked by tickets.customfields and written
with the record they belong to, in one transaction.

The record itself is accounts.services' (which imports no other app); the custom fields
are this app's, so the operations that write both live here and call those services
inside their transaction: any refusal, of the record or of a field, writes nothing.

Values are given as {field name: raw value} (a form's strings, the API's JSON values, a
CSV cell). A name that is no field of the scope is refused. Creating checks every field
of the scope (a required one must be given); changing checks only those given, so an
API caller may send one field alone.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Model

from accounts import audit
from accounts import services as accounts
from accounts.actors import SYSTEM, Actor
from accounts.configuration import require_admin
from accounts.errors import ValidationFailed
from accounts.models import Organization, User
from accounts.services_import import (
    ExtraColumns,
    ImportResult,
    ImportRow,
    users_csv_parse,
    users_import,
)
from accounts.services_profile import client_profile_update, require_client

from ..customfields import clean_values, fields_for_scope
from ..models import CustomField, CustomForm, OrganizationFieldValue, UserFieldValue

Values = Mapping[str, Any]
USER = CustomForm.Scope.USER
ORGANIZATION = CustomForm.Scope.ORGANIZATION


def fields_check(
    scope: str, values: Values, *, creating: bool = False, for_client: bool = False
) -> dict[CustomField, str]:
    """{field: stored text} for `values`, or ValidationFailed naming each bad field
    (an unknown name included). Writes nothing; forms call it to show every error."""
    return _clean(fields_for_scope(scope, for_client=for_client), values, creating=creating)


def _clean(fields: list[CustomField], values: Values, *, creating: bool) -> dict[CustomField, str]:
    unknown = sorted(set(values) - {f.name for f in fields})
    if unknown:
        raise ValidationFailed(
            f"No such fields: {', '.join(unknown)}.",
            code="unknown_fields",
            fields={name: ["No such field."] for name in unknown},
        )
    if not creating:
        fields = [f for f in fields if f.name in values]
    return clean_values(fields, dict(values))


def _write(owner: Model, cleaned: dict[CustomField, str], *, actor: Actor) -> None:
    """(Inside the caller's transaction.) One row per (owner, field), changed in place;
    the changed values go to the audit log (fields.<name>: [before, after])."""
    model = UserFieldValue if isinstance(owner, User) else OrganizationFieldValue
    key = "user" if isinstance(owner, User) else "organization"
    current = {v.field_id: v for v in model.objects.filter(**{key: owner})}
    changes: dict[str, list[str | None]] = {}
    for field, value in cleaned.items():
        row = current.get(field.pk)
        if row is None:
            model.objects.create(**{key: owner, "field": field, "value": value})
            if value:
                changes[f"fields.{field.name}"] = [None, value]
        elif row.value != value:
            changes[f"fields.{field.name}"] = [row.value, value]
            row.value = value
            row.save(update_fields=["value"])
    if changes:
        kind = "account" if isinstance(owner, User) else "organization"
        audit.record(f"{kind}.updated", actor=actor, target=owner, changes=changes)


# --- users ----------------------------------------------------------------------------------


def user_fields_set(*, actor: Actor, user: User, values: Values) -> User:
    """Change some of a client's field values (user.edit; an agent's: a helpdesk admin)."""
    require_admin(actor, None if user.is_agent else "user.edit")
    cleaned = fields_check(USER, values)
    with transaction.atomic():
        _write(user, cleaned, actor=actor)
    return user


def user_create_with_fields(
    *, actor: Actor, custom_fields: Values | None = None, **details: Any
) -> User:
    """accounts.services.user_create (same arguments) and the user's field values."""
    with transaction.atomic():
        user = accounts.user_create(actor=actor, **details)
        _write(user, fields_check(USER, custom_fields or {}, creating=True), actor=actor)
    return user


def user_update_with_fields(
    *,
    actor: Actor,
    user: User,
    data: Mapping[str, object],
    emails: Sequence[str] | None = None,
    custom_fields: Values | None = None,
) -> User:
    """accounts.services.user_update and, given `custom_fields`, those values too."""
    with transaction.atomic():
        accounts.user_update(actor=actor, user=user, data=data, emails=emails)
        if custom_fields is not None:
            user_fields_set(actor=actor, user=user, values=custom_fields)
    return user


def client_profile_update_with_fields(
    *, actor: Actor, name: str, timezone: str, custom_fields: Values
) -> User:
    """The client's own name and time zone (accounts.services_profile) and the values
    of the fields clients see; a field they do not see is refused as unknown."""
    user = require_client(actor)
    cleaned = fields_check(USER, custom_fields, for_client=True)
    with transaction.atomic():
        client_profile_update(actor=user, name=name, timezone=timezone)
        _write(user, cleaned, actor=actor)
    return user


# --- the users CSV import -----------------------------------------------------------------


def user_import_columns(actor: Actor = SYSTEM) -> ExtraColumns:
    """The CSV import's columns for the user fields: a header naming a field (its name
    or its label, in any case) fills it; a bad value, or a required field left empty, is
    an error of its row. The fields are read once for the whole file."""
    fields = fields_for_scope(USER)
    labels = {f.name: f.label for f in fields}
    names = {f.label.strip().lower(): f.name for f in fields}
    names |= {f.name.lower(): f.name for f in fields}  # a name wins over another's label

    def check(values: dict[str, str]) -> list[str]:
        try:
            _clean(fields, values, creating=True)
        except ValidationFailed as exc:
            return [f"{labels.get(n, n)}: {m}" for n, errors in exc.fields.items() for m in errors]
        return []

    def write(user: User, values: dict[str, str]) -> None:
        _write(user, _clean(fields, values, creating=True), actor=actor)

    return ExtraColumns(names=names, check=check, write=write)


def users_csv_parse_with_fields(text: str) -> list[ImportRow]:
    """accounts.services_import.users_csv_parse with the user fields' columns."""
    return users_csv_parse(text, extra=user_import_columns())


def users_import_with_fields(
    *, actor: Actor, text: str, skip_invalid: bool = False
) -> ImportResult:
    """accounts.services_import.users_import with the user fields' columns."""
    return users_import(
        actor=actor, text=text, skip_invalid=skip_invalid, extra=user_import_columns(actor)
    )


# --- organizations --------------------------------------------------------------------------


def organization_fields_set(
    *, actor: Actor, organization: Organization, values: Values
) -> Organization:
    """Change some of an organization's field values (org.edit)."""
    require_admin(actor, "org.edit")
    cleaned = fields_check(ORGANIZATION, values)
    with transaction.atomic():
        _write(organization, cleaned, actor=actor)
    return organization


def organization_create_with_fields(
    *, actor: Actor, custom_fields: Values | None = None, **details: Any
) -> Organization:
    """accounts.services.organization_create (same arguments) and its field values."""
    with transaction.atomic():
        org = accounts.organization_create(actor=actor, **details)
        _write(org, fields_check(ORGANIZATION, custom_fields or {}, creating=True), actor=actor)
    return org


def organization_update_with_fields(
    *,
    actor: Actor,
    organization: Organization,
    data: Mapping[str, object],
    domains: list[str] | None = None,
    primary_contacts: Sequence[User] | None = None,
    custom_fields: Values | None = None,
) -> Organization:
    """accounts.services.organization_update and, given `custom_fields`, those values."""
    with transaction.atomic():
        accounts.organization_update(
            actor=actor,
            organization=organization,
            data=data,
            domains=domains,
            primary_contacts=primary_contacts,
        )
        if custom_fields is not None:
            organization_fields_set(actor=actor, organization=organization, values=custom_fields)
    return organization
