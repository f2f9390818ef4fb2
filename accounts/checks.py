"""System checks of the secrets the helpdesk relies on.

- E001: the built-in development SECRET_KEY with DEBUG off. It is public, and it signs
  sessions, password reset links and our Message-IDs (a forged Message-ID would thread
  mail into any ticket). An Error, so `runserver`, `migrate` and every other command
  refuse to start, not only `check --deploy`.
- E002: FIELD_ENCRYPTION_KEYS holds something that is not a Fernet key.
- W001 (deploy): no FIELD_ENCRYPTION_KEYS, the stored secrets are encrypted with a key
  derived from SECRET_KEY (see accounts.crypto for the trade-off).
"""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


@checks.register(checks.Tags.security)
def check_secret_key(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    builtin = getattr(settings, "DEVELOPMENT_SECRET_KEY", None)
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    if settings.DEBUG or not builtin or builtin not in keys:
        return []
    which = "SECRET_KEY is" if keys[0] == builtin else "SECRET_KEY_FALLBACKS holds"
    return [
        checks.Error(
            f"{which} the built-in development key while DEBUG is off.",
            hint="Set SECRET_KEY in the environment (or .env) to a long random value, e.g. "
            '`python -c "import secrets; print(secrets.token_urlsafe(50))"`; '
            "`make run` writes one into .env on its first run.",
            id="accounts.E001",
        )
    ]


@checks.register(checks.Tags.security)
def check_field_encryption_keys(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    from .crypto import bad_keys

    bad = bad_keys()
    if not bad:
        return []
    return [
        checks.Error(
            f"FIELD_ENCRYPTION_KEYS entries {', '.join(map(str, bad))} are not Fernet keys.",
            hint='Make one with `python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"`.',
            id="accounts.E002",
        )
    ]


@checks.register(checks.Tags.security, deploy=True)
def check_field_encryption_configured(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    if getattr(settings, "FIELD_ENCRYPTION_KEYS", None):
        return []
    return [
        checks.Warning(
            "FIELD_ENCRYPTION_KEYS is not set: stored secrets (mailbox passwords, webhook "
            "secrets, authenticator keys) are encrypted with a key derived from SECRET_KEY.",
            hint="Set FIELD_ENCRYPTION_KEYS to a Fernet key kept apart from SECRET_KEY, so "
            "that rotating SECRET_KEY does not touch stored secrets (see README).",
            id="accounts.W001",
        )
    ]


def refuse_insecure_start() -> None:
    """For the processes that run no system checks (WSGI and ASGI servers, Celery
    workers and beat): the same refusal as accounts.E001, as an exception at start."""
    errors = check_secret_key()
    if errors:
        raise ImproperlyConfigured(f"{errors[0].msg} {errors[0].hint}")
