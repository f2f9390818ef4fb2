"""Custom fields: which a topic asks for, how a submitted value is checked, and reading them.

`fields_for_topic(topic)` gives the fields of the topic's forms and its parents' forms;
`fields_for_scope(scope)` those of the active forms of users or organizations.
`clean_values(fields, submitted)` turns raw input (strings from a form, JSON values from
the API) into stored strings, or raises ValidationFailed with one message per field.
Values are stored as text: a checkbox as "yes" or "", a date as YYYY-MM-DD.
"""

import datetime as dt
import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db.models import Model, Prefetch

from accounts.errors import ValidationFailed

from .models import CustomField, CustomForm, OrganizationFieldValue, Ticket, UserFieldValue

PHONE = re.compile(r"^[+0-9 ().\-/x]{5,32}$")
TRUE = {"1", "true", "yes", "on", "y"}
MAX_LENGTH = {CustomField.Kind.TEXT: 255, CustomField.Kind.TEXTAREA: 10_000}


def fields_for_topic(topic, *, for_client: bool = False) -> list[CustomField]:
    if topic is None:
        return []
    topic_ids, node = [], topic
    while node is not None:
        topic_ids.append(node.pk)
        node = node.parent
    qs = CustomField.objects.filter(
        form__is_active=True, form__scope=CustomForm.Scope.TICKET, form__topics__in=topic_ids
    ).select_related("form")
    if for_client:
        qs = qs.filter(client_visible=True)
    return list(qs.distinct().order_by("form__sort", "form_id", "sort", "id"))


def fields_for_scope(scope: str, *, for_client: bool = False) -> list[CustomField]:
    """The fields of the active forms of a scope (CustomForm.Scope: users, organizations),
    in form order; `for_client`: only those clients see and fill."""
    qs = CustomField.objects.filter(form__is_active=True, form__scope=scope)
    if for_client:
        qs = qs.filter(client_visible=True)
    return list(qs.select_related("form").order_by("form__sort", "form_id", "sort", "id"))


def _clean_one(field: CustomField, raw) -> str:
    """The stored text for one value; raises ValueError with the message for the user."""
    kind = field.kind
    if kind == CustomField.Kind.CHECKBOX:
        return "yes" if str(raw).strip().lower() in TRUE else ""
    value = "" if raw is None else str(raw).strip()
    if not value:
        return ""
    if kind in MAX_LENGTH and len(value) > MAX_LENGTH[kind]:
        raise ValueError(f"At most {MAX_LENGTH[kind]} characters.")
    if kind == CustomField.Kind.CHOICE and value not in field.options:
        raise ValueError(f"Choose one of: {', '.join(field.options)}.")
    if kind == CustomField.Kind.DATE:
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            raise ValueError("Enter a date as YYYY-MM-DD.") from None
    if kind == CustomField.Kind.PHONE and not PHONE.match(value):
        raise ValueError("Enter a phone number.")
    if kind == CustomField.Kind.EMAIL:
        try:
            validate_email(value)
        except DjangoValidationError:
            raise ValueError("Enter a valid email address.") from None
    return value


def clean_values(
    fields: list[CustomField], submitted: dict, *, enforce_required: bool = True
) -> dict:
    """{field: stored text} for the submitted values of these fields (others are ignored)."""
    cleaned, errors = {}, {}
    for field in fields:
        try:
            value = _clean_one(field, submitted.get(field.name))
        except ValueError as exc:
            errors[field.name] = [str(exc)]
            continue
        if enforce_required and field.required and not value:
            errors[field.name] = ["This field is required."]
            continue
        if value or field.name in submitted:
            cleaned[field] = value
    if errors:
        raise ValidationFailed("Some fields need attention.", code="invalid_fields", fields=errors)
    return cleaned


def ticket_field_values(
    ticket: Ticket, *, for_client: bool = False
) -> list[tuple[CustomField, str]]:
    qs = ticket.field_values.select_related("field__form").order_by(
        "field__form__sort", "field__sort", "field_id"
    )
    if for_client:
        qs = qs.filter(field__client_visible=True)
    return [(v.field, v.value) for v in qs]


VALUE_MODELS: dict[str, type[UserFieldValue] | type[OrganizationFieldValue]] = {
    CustomForm.Scope.USER: UserFieldValue,
    CustomForm.Scope.ORGANIZATION: OrganizationFieldValue,
}


def values_prefetch(scope: str) -> Prefetch:
    """Prefetch of the `field_values` of users or organizations (those of the scope's
    active forms, with their field), for `values_by_name` and `field_rows` without a
    query per row."""
    model = VALUE_MODELS[scope]
    queryset = model.objects.filter(
        field__form__is_active=True, field__form__scope=scope
    ).select_related("field")
    return Prefetch("field_values", queryset=queryset)


def values_by_name(owner: Model) -> dict[str, str]:
    """{field name: value} of a user or an organization (prefetch with values_prefetch)."""
    return {v.field.name: v.value for v in owner.field_values.all()}  # type: ignore[attr-defined]


def field_rows(
    owner: Model, scope: str, *, for_client: bool = False
) -> list[tuple[CustomField, str]]:
    """Every field of the scope with the owner's value ("" when none), in form order."""
    values = {v.field_id: v.value for v in owner.field_values.all()}  # type: ignore[attr-defined]
    return [(f, values.get(f.pk, "")) for f in fields_for_scope(scope, for_client=for_client)]
