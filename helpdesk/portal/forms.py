"""Forms of the portal: they turn raw input into typed arguments for the services, and
show the services' refusals (domain errors) as field errors."""

import math
import secrets
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core import signing
from django.utils.html import escape
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts import throttle
from accounts.errors import DomainError, ValidationFailed
from accounts.models import TIMEZONE_CHOICES
from helpdesk.attachments import AttachmentsField
from helpdesk.attachments import to_attachments as to_attachments  # re-exported (kb)
from helpdesk.formfields import field_of
from helpdesk.translations import topic_name, translated, translated_options
from tickets.customfields import clean_values
from tickets.models import CustomField

FORM_TOKEN_SALT = "helpdesk.portal.form"  # noqa: S105 (a signing namespace)
FORM_TOKEN_MAX_AGE = 2 * 24 * 3600
SESSION_SALT_KEY = "portal_form_salt"
CUSTOM_PREFIX = "cf_"


# --- helpers ----------------------------------------------------------------------------


def add_domain_error(form: forms.Form, exc: DomainError, field_map: dict | None = None) -> None:
    """Show a service's refusal on the form: per field where it names one the form has,
    otherwise as an error of the whole form."""
    field_map = field_map or {}
    placed = False
    for name, messages in (exc.fields or {}).items():
        target = field_map.get(name, name)
        if target in form.fields:
            for message in messages:
                form.add_error(target, message)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


def issue_form_token(request) -> str:
    """A one-time token for a form, bound to this browser session."""
    salt = request.session.get(SESSION_SALT_KEY)
    if not salt:
        salt = request.session[SESSION_SALT_KEY] = secrets.token_hex(8)
    return signing.dumps({"n": secrets.token_hex(16), "s": salt}, salt=FORM_TOKEN_SALT)


def read_form_token(request, value: str | None) -> str | None:
    """The nonce of a token this session was given (and not too old), else None."""
    try:
        data = signing.loads(value or "", salt=FORM_TOKEN_SALT, max_age=FORM_TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("s") != request.session.get(SESSION_SALT_KEY):
        return None
    return str(data.get("n", "")) or None


# the attachments input, shared with the panel (limits and type policy)
MultipleFileField = AttachmentsField


class TokenForm(forms.Form):
    form_token = forms.CharField(widget=forms.HiddenInput, required=False)


# --- opening a ticket -----------------------------------------------------------------


def _custom_form_field(field: CustomField) -> forms.Field:
    attrs = {"aria-required": "true", "required": True} if field.required else {}
    # admins write help texts; escaped here, whatever template prints the field
    common: dict[str, Any] = {  # in the client's language (helpdesk.translations)
        "label": translated(field, "label"),
        "help_text": escape(translated(field, "help_text")),
        "required": False,
    }
    kind = field.kind
    if kind == CustomField.Kind.TEXTAREA:
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 4, **attrs}), **common)
    if kind == CustomField.Kind.CHOICE:
        choices = [("", gettext("Choose…")), *translated_options(field)]
        return forms.ChoiceField(choices=choices, widget=forms.Select(attrs=attrs), **common)
    if kind == CustomField.Kind.CHECKBOX:
        return forms.BooleanField(widget=forms.CheckboxInput(attrs=attrs), **common)
    input_types: dict[str, str] = {
        CustomField.Kind.DATE: "date",
        CustomField.Kind.PHONE: "tel",
        CustomField.Kind.EMAIL: "email",
    }
    widget = forms.TextInput(attrs={**attrs, "type": input_types.get(kind, "text")})
    return forms.CharField(widget=widget, **common)


class CustomFieldsForm(forms.Form):
    """A form with custom fields (cf_<name>), checked here with the rules the services
    apply (tickets.customfields), so every bad field is shown at once."""

    custom_fields: list[CustomField]

    def add_custom_fields(self, custom_fields) -> None:
        self.custom_fields = list(custom_fields)
        for field in self.custom_fields:
            self.fields[CUSTOM_PREFIX + field.name] = _custom_form_field(field)

    def custom_values(self) -> dict[str, str]:
        values = {}
        for field in self.custom_fields:
            value = self.cleaned_data.get(CUSTOM_PREFIX + field.name)
            if field.kind == CustomField.Kind.CHECKBOX:
                value = "yes" if value else ""
            values[field.name] = "" if value is None else str(value)
        return values

    def clean(self):
        cleaned = super().clean()
        unchecked = [f for f in self.custom_fields if CUSTOM_PREFIX + f.name not in self.errors]
        if unchecked:
            try:
                clean_values(unchecked, self.custom_values())
            except ValidationFailed as exc:
                add_domain_error(
                    self, exc, {f.name: CUSTOM_PREFIX + f.name for f in self.custom_fields}
                )
        return cleaned


class OpenTicketForm(CustomFieldsForm, TokenForm):
    """A new ticket: the guest's name and address, the help topic, its custom fields,
    subject, message and attachments. The custom fields are checked here with the same
    rules the service applies, so every bad field is shown at once."""

    name = forms.CharField(label=_("Your name"), max_length=128)
    email = forms.EmailField(label=_("Your email address"))
    topic = forms.TypedChoiceField(label=_("Help topic"), coerce=int)
    subject = forms.CharField(label=_("Subject"), max_length=255)
    message = forms.CharField(
        label=_("Message"), widget=forms.Textarea(attrs={"rows": 8}), max_length=50_000
    )
    attachments = MultipleFileField(label=_("Attachments"))

    def __init__(self, *args, topics, custom_fields, guest: bool, max_files: int, **kwargs):
        super().__init__(*args, **kwargs)
        if not guest:
            del self.fields["name"], self.fields["email"]
        else:
            self.fields["name"].widget.attrs["autocomplete"] = "name"
            self.fields["email"].widget.attrs["autocomplete"] = "email"
        if topics:
            field_of(self, "topic", forms.ChoiceField).choices = [
                ("", gettext("Choose a topic…"))
            ] + [(t.pk, topic_name(t)) for t in topics]
        else:
            del self.fields["topic"]
        field_of(self, "attachments", AttachmentsField).set_limit(max_files)
        self.add_custom_fields(custom_fields)


class ReplyForm(TokenForm):
    message = forms.CharField(
        label=_("Your reply"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=50_000,
        required=False,
    )
    attachments = MultipleFileField(label=_("Attachments"))

    def __init__(self, *args, max_files: int, **kwargs):
        super().__init__(*args, **kwargs)
        field_of(self, "attachments", AttachmentsField).set_limit(max_files)

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        empty = not (cleaned.get("message") or "").strip() and not cleaned.get("attachments")
        if empty and "message" not in self.errors:
            self.add_error("message", gettext("Write a message or attach a file."))
        return cleaned


# --- access -----------------------------------------------------------------------------


class AccessRequestForm(forms.Form):
    email = forms.EmailField(
        label=_("Email address"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    number = forms.CharField(label=_("Ticket number"), max_length=32)

    def clean_number(self):
        return self.cleaned_data["number"].strip().lstrip("#")


class PortalLoginForm(AuthenticationForm):
    """Sign in with an email address; throttled per account and per address, the counts
    shared with the panel (accounts.throttle). Agents are sent to the staff panel."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("That email address and password do not match."),
        "throttled": _("Too many failed sign-ins. Wait %(minutes)d minutes and try again."),
        "throttled_one": _("Too many failed sign-ins. Wait 1 minute and try again."),
        "agent": _("Staff members sign in to the staff panel."),
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"] = forms.EmailField(
            label=_("Email address"),
            widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
        )

    retry_after = 0  # seconds, when the sign-in was refused by the throttle

    def clean(self):
        """Only a form that will check a password starts a throttled attempt; only a
        right password (a user authenticated) ends it as a success."""
        login, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if login is None or not password:
            return self.cleaned_data  # the field errors say what is missing; no count
        attempt = throttle.attempt_start(
            login=login, ip=throttle.client_ip(self.request) if self.request is not None else ""
        )
        if not attempt.allowed:
            self.retry_after = attempt.retry_after
            minutes = math.ceil(attempt.retry_after / 60)
            raise forms.ValidationError(
                self.error_messages["throttled" if minutes > 1 else "throttled_one"],
                code="throttled",
                params={"minutes": minutes},
            )
        try:
            super().clean()
        except forms.ValidationError:
            if self.get_user() is None:
                throttle.attempt_failed(attempt, channel="portal sign-in")
            else:  # the right password, of an agent (sent to the staff panel)
                throttle.attempt_succeeded(attempt)
            raise
        throttle.attempt_succeeded(attempt)  # no error: the user was authenticated
        return self.cleaned_data

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if user.is_agent:
            raise forms.ValidationError(self.error_messages["agent"], code="agent")


class _PasswordsForm(forms.Form):
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def user_for_validation(self):
        return None

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", gettext("The two passwords differ."))
        elif p1:
            try:
                password_validation.validate_password(p1, self.user_for_validation())
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned


class RegistrationForm(_PasswordsForm):
    name = forms.CharField(
        label=_("Your name"), max_length=128, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = forms.EmailField(
        label=_("Email address"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    field_order = ["name", "email", "password1", "password2"]

    def user_for_validation(self):
        # an unsaved user, so the similarity check compares with the name and address
        return get_user_model()(
            email=self.cleaned_data.get("email", ""), name=self.cleaned_data.get("name", "")
        )


class InvitationAcceptForm(_PasswordsForm):
    name = forms.CharField(
        label=_("Your name"), max_length=128, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    field_order = ["name", "password1", "password2"]


class PortalPasswordResetForm(PasswordResetForm):
    """Django's reset form, used for its address field only: accounts.services_passwords decides
    (clients only; staff reset in the panel) and mails from a worker."""


# --- the client's profile -------------------------------------------------------------

LANGUAGES = [("", _("Site default")), *((code, name) for code, name in settings.LANGUAGES)]


class ProfileForm(CustomFieldsForm):
    """The client's details; `custom_fields`: the user fields clients see and fill."""

    name = forms.CharField(
        label=_("Your name"), max_length=128, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    timezone = forms.ChoiceField(
        label=_("Time zone"),
        choices=TIMEZONE_CHOICES,
        help_text=_("Dates in the help center are shown in this time zone."),
    )
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGES, required=False)

    def __init__(self, *args, custom_fields=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.add_custom_fields(custom_fields)


class EmailAddForm(forms.Form):
    email = forms.EmailField(
        label=_("Another email address"),
        help_text=_("We mail a link to it; the address is added when you follow the link."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class PasswordChangeForm(forms.Form):
    """The passwords typed; accounts.services_profile checks the current one and the
    site's password rules."""

    old_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password1 = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    new_password2 = forms.CharField(
        label=_("New password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean() or {}
        p1, p2 = cleaned.get("new_password1"), cleaned.get("new_password2")
        if p1 and p2 and p1 != p2:
            self.add_error("new_password2", gettext("The two passwords differ."))
        return cleaned
