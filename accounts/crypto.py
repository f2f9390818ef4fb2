"""Secrets stored encrypted at rest: `EncryptedTextField` (mailbox passwords, webhook
signing secrets, authenticator keys).

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) before
they reach the database and decrypted when read, so a database dump, a backup or a
read-only SQL injection does not hand them out. Keys come from the environment:

- `FIELD_ENCRYPTION_KEYS`: Fernet keys; the first encrypts, every one decrypts
  (`MultiFernet`), so a key is rotated by putting a new one first and re-saving the rows
  (`manage.py rotate_field_keys`) before dropping the old one.
- Without it, a key derived from `SECRET_KEY` with HKDF-SHA256 (and one from each of
  `SECRET_KEY_FALLBACKS`, to read values written before a rotation). The trade-off: one
  secret fewer to keep, but whoever learns SECRET_KEY can read the stored secrets, and
  rotating SECRET_KEY needs the old one in SECRET_KEY_FALLBACKS until the rows are
  re-saved. `check --deploy` warns about it (accounts.W001).

In forms the field is write-only: the value is never rendered back, and an empty input
keeps the stored value (`save_form_data`). Encrypted values cannot be filtered on.
"""

import base64
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django import forms
from django.apps.registry import Apps
from django.conf import settings
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.utils.translation import gettext_lazy as _

_HKDF_SALT = b"helpdesk.accounts.crypto"
_HKDF_INFO = b"field-encryption-v1"

# the set and get types of a model field (django-stubs fills them in, null or not)
_ST = TypeVar("_ST", contravariant=True)
_GT = TypeVar("_GT", covariant=True)

Change = Callable[[str | None], str | None]
RunPythonCode = Callable[[Apps, BaseDatabaseSchemaEditor], None]


class SecretUnreadable(Exception):
    """A stored secret that none of the configured keys decrypts."""


def derive_key(secret: str) -> bytes:
    """A Fernet key derived from a SECRET_KEY (HKDF-SHA256)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO).derive(
        secret.encode()
    )
    return base64.urlsafe_b64encode(raw)


def _configured() -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    return (
        tuple(getattr(settings, "FIELD_ENCRYPTION_KEYS", None) or ()),
        settings.SECRET_KEY,
        tuple(getattr(settings, "SECRET_KEY_FALLBACKS", None) or ()),
    )


@functools.lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...], secret: str, fallbacks: tuple[str, ...]) -> MultiFernet:
    if keys:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    return MultiFernet([Fernet(derive_key(s)) for s in (secret, *fallbacks)])


def fernet() -> MultiFernet:
    return _fernet(*_configured())


def bad_keys() -> list[int]:
    """Positions (1-based) of FIELD_ENCRYPTION_KEYS entries that are not Fernet keys."""
    bad = []
    for number, key in enumerate(getattr(settings, "FIELD_ENCRYPTION_KEYS", None) or (), 1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            bad.append(number)
    return bad


def encrypt(value: str | None) -> str | None:
    """The token to store for a secret; None and "" stay as they are (nothing to hide)."""
    if value is None or value == "":
        return value
    return fernet().encrypt(str(value).encode()).decode("ascii")


def decrypt(token: str | None) -> str | None:
    if token is None or token == "":
        return token
    try:
        return fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as exc:
        raise SecretUnreadable(
            "A stored secret cannot be decrypted with the configured keys: check "
            "FIELD_ENCRYPTION_KEYS (or SECRET_KEY and SECRET_KEY_FALLBACKS when it is unset)."
        ) from exc


def rotate(token: str | None) -> str | None:
    """The same secret encrypted again with the first key (key rotation)."""
    if token is None or token == "":
        return token
    return fernet().rotate(token.encode("ascii")).decode("ascii")


class SecretInput(forms.PasswordInput):
    """Never renders the value back."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"autocomplete": "new-password", **(attrs or {})}, render_value=False)


class SecretFormField(forms.CharField):
    widget = SecretInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs["required"] = False
        kwargs.setdefault("strip", False)
        kwargs["help_text"] = _("Write-only: it is never shown. Leave empty to keep it.")
        super().__init__(**kwargs)


class EncryptedTextField(models.TextField[_ST, _GT]):
    """Text encrypted at rest with the keys above; write-only in model forms."""

    description = _("Text encrypted at rest")

    def from_db_value(
        self, value: str | None, expression: object, connection: BaseDatabaseWrapper
    ) -> str | None:
        return decrypt(value)

    def get_prep_value(self, value: Any) -> str | None:
        return encrypt(super().get_prep_value(value))

    def formfield(self, **kwargs: Any) -> forms.Field | None:
        # forced: the admin passes its textarea for every TextField, which would show it,
        # and a callable default would be rendered as a hidden "initial" input
        field = super().formfield(
            **{**kwargs, "form_class": SecretFormField, "widget": SecretInput}
        )
        if field is not None:  # a TextField always has one
            field.show_hidden_initial, field.initial = False, None
        return field

    def save_form_data(self, instance: models.Model, data: Any) -> None:
        if data in (None, "") and instance.pk is not None:
            return  # write-only: an empty input keeps the stored secret
        super().save_form_data(instance, data)


def rewrite_column(connection: BaseDatabaseWrapper, table: str, column: str, change: Change) -> int:
    """Rewrite every non-empty value of a column with `change` (raw SQL: historical
    models would decrypt on read, and the values are not encrypted yet)."""
    qt, qc = connection.ops.quote_name(table), connection.ops.quote_name(column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {qc} FROM {qt} WHERE {qc} <> ''")  # noqa: S608
        rows = cursor.fetchall()
        for pk, value in rows:
            cursor.execute(
                f"UPDATE {qt} SET {qc} = %s WHERE id = %s",  # noqa: S608
                [change(value), pk],
            )
    return len(rows)


def encrypt_existing(table: str, column: str) -> tuple[RunPythonCode, RunPythonCode]:
    """A migration's RunPython pair encrypting a column's plaintext values (and back)."""

    def forwards(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        rewrite_column(schema_editor.connection, table, column, encrypt)

    def backwards(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        rewrite_column(schema_editor.connection, table, column, decrypt)

    return forwards, backwards
