"""Production settings: `check --deploy` is clean with the settings the README documents,
the built-in development SECRET_KEY is refused when DEBUG is off, and `make run` gives
every copy of the project its own random key."""

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core import checks
from django.test import override_settings

from accounts.checks import check_field_encryption_keys, check_secret_key

ROOT = Path(__file__).resolve().parents[2]
BUILTIN = "insecure-dev-key-change-me-in-production-0123456789"


def readme_production_settings() -> dict[str, str]:
    """The variables of the README's production block, placeholders filled in."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- production-settings -->\s*```sh\n(.*?)```", text, re.S).group(1)
    values = dict(
        line.split("=", 1) for line in block.splitlines() if "=" in line and line[0] != "#"
    )
    values = {k.strip(): v.split("#")[0].strip() for k, v in values.items()}
    assert values["SECRET_KEY"].startswith("<") and values["FIELD_ENCRYPTION_KEYS"].startswith("<")
    values["SECRET_KEY"] = "Zp" + "x7Q-Lm9vT2kR8sW4yB6nC1dF3gH5jK0aE_uI" * 2
    values["FIELD_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
    return values


def manage(tmp_path, *args, **variables) -> subprocess.CompletedProcess:
    return python(tmp_path, "manage.py", *args, **variables)


def python(tmp_path, *args, **variables) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SECURE_", "SESSION_", "CSRF_"))
        and k not in {"DEBUG", "SECRET_KEY", "REDIS_URL", "ALLOWED_HOSTS"}
        and not k.startswith("DATABASE_")
        and k != "DJANGO_ALLOW_ASYNC_UNSAFE"  # set by the browser tests' conftest
    }
    env.update(
        {
            "ENV_FILE": str(tmp_path / "absent.env"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            **variables,
        }
    )
    return subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_readme_production_settings(tmp_path):
    run = manage(
        tmp_path, "check", "--deploy", "--fail-level", "DEBUG", **readme_production_settings()
    )
    assert run.returncode == 0, run.stdout + run.stderr
    # the one silenced check is auth.W004 (User.email is unique through a constraint)
    assert run.stdout == "System check identified no issues (1 silenced).\n"


def test_without_https_settings_check_deploy_says_what_is_missing(tmp_path):
    settings = readme_production_settings()
    settings.update(SECURE_HSTS_SECONDS="0", SECURE_SSL_REDIRECT="0", SESSION_COOKIE_SECURE="0")
    del settings["FIELD_ENCRYPTION_KEYS"]
    run = manage(tmp_path, "check", "--deploy", **settings)
    for code in ("security.W004", "security.W008", "security.W012", "accounts.W001"):
        assert code in run.stderr, run.stderr


def test_the_builtin_key_is_refused_when_debug_is_off(tmp_path):
    run = manage(tmp_path, "check", DEBUG="0")
    assert run.returncode == 1
    assert "(accounts.E001) SECRET_KEY is the built-in development key while DEBUG is off." in (
        run.stderr
    )
    # not only check: migrate (and runserver) refuse to start, nothing is written
    migrate = manage(tmp_path, "migrate", "--noinput", DEBUG="0")
    assert migrate.returncode == 1 and "accounts.E001" in migrate.stderr
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == []
    # development (DEBUG on) keeps the built-in key working
    assert manage(tmp_path, "check", DEBUG="1").returncode == 0


@pytest.mark.parametrize(
    "start",
    [
        "import config.wsgi",  # gunicorn, uwsgi, mod_wsgi
        "import config.asgi",  # uvicorn, daphne
        # a Celery worker and beat send these at start (celery -A config worker|beat)
        "from config.celery import app; from celery.signals import worker_init;"
        " worker_init.send(sender=None)",
        "from config.celery import app; from celery.signals import beat_init;"
        " beat_init.send(sender=None)",
    ],
    ids=["wsgi", "asgi", "celery-worker", "celery-beat"],
)
def test_servers_and_workers_refuse_the_builtin_key_too(tmp_path, start):
    """They run no system checks, so the refusal is made at their start."""
    refused = python(tmp_path, "-c", start, DEBUG="0")
    assert refused.returncode == 1
    assert (
        "ImproperlyConfigured: SECRET_KEY is the built-in development key while DEBUG is off."
        in refused.stderr
    ), refused.stderr[-2000:]
    key = "a-long-random-production-key-" * 3
    assert python(tmp_path, "-c", start, DEBUG="0", SECRET_KEY=key).returncode == 0
    fallback = python(
        tmp_path, "-c", start, DEBUG="0", SECRET_KEY=key, SECRET_KEY_FALLBACKS=BUILTIN
    )
    assert fallback.returncode == 1
    assert "SECRET_KEY_FALLBACKS holds the built-in development key" in fallback.stderr


def test_the_check_errors_exactly_for_the_builtin_key_with_debug_off():
    with override_settings(DEBUG=False, SECRET_KEY=BUILTIN):
        [error] = check_secret_key()
        assert (error.id, error.level) == ("accounts.E001", checks.ERROR)
    with override_settings(DEBUG=True, SECRET_KEY=BUILTIN):
        assert check_secret_key() == []
    with override_settings(DEBUG=False, SECRET_KEY="another-long-random-key-" * 3):
        assert check_secret_key() == []


def test_a_malformed_field_encryption_key_is_an_error():
    good = Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEYS=[good, "not-a-key"]):
        [error] = check_field_encryption_keys()
        assert error.id == "accounts.E002" and "entries 2 are not" in error.msg
    with override_settings(FIELD_ENCRYPTION_KEYS=[good]):
        assert check_field_encryption_keys() == []


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make, as the README does")
def test_make_writes_a_random_key_once_and_never_over_one(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "MAKEFLAGS"}}

    def secret_key(env_file: Path, **extra) -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603 - make, our Makefile
            ["make", "-s", "secret-key", f"ENV_FILE={env_file}"],  # noqa: S607
            cwd=ROOT,
            env={**env, **extra},
            capture_output=True,
            text=True,
            check=True,
        )

    first, second = tmp_path / "one.env", tmp_path / "two.env"
    second.write_text("DEBUG=0")  # an existing file without a final newline...
    second.chmod(0o644)  # ...readable by everyone: it is made the owner's before the key
    secret_key(first)
    secret_key(second)
    key_one = first.read_text()
    assert re.fullmatch(r"SECRET_KEY=[A-Za-z0-9_-]{60,}\n", key_one)
    assert oct(first.stat().st_mode & 0o777) == "0o600"
    assert oct(second.stat().st_mode & 0o777) == "0o600"
    lines = second.read_text().splitlines()
    assert lines[0] == "DEBUG=0" and lines[1].startswith("SECRET_KEY=")
    assert lines[1] != key_one.strip()  # every copy its own key
    secret_key(first)  # a second run keeps the key
    assert first.read_text() == key_one
    third = tmp_path / "three.env"
    secret_key(third, SECRET_KEY="from-the-environment")  # the environment wins
    assert not third.exists()
