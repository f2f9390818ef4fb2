"""Settings, all read from the environment through one django-environ object.

A first run needs nothing: SQLite in var/, tasks run in-process, mail to the console.
Production differs only by environment variables (see README and docs/architecture.md).
"""

import re
import warnings
from pathlib import Path

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured

from threads.attachment_types import DENIED_EXTENSIONS, DENIED_TYPES

# Django's generic classes (ModelAdmin[Model], ...) take type arguments at run time as
# they do in the annotations mypy checks with django-stubs (docs/architecture.md).
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# `make run` writes a random SECRET_KEY into .env on its first run; ENV_FILE names another
# file (the tests point it at a temporary one). The environment wins over the file.
ENV_FILE = Path(env.str("ENV_FILE", default=str(BASE_DIR / ".env")))
env.read_env(ENV_FILE, overwrite=False) if ENV_FILE.exists() else None

DEBUG = env.bool("DEBUG", default=False)
# The built-in key is public: with DEBUG off it is refused at start (accounts.checks, an
# Error every management command and the server show), because it signs sessions,
# password reset links, our Message-IDs and, without FIELD_ENCRYPTION_KEYS, derives the
# key of the secrets stored in the database.
DEVELOPMENT_SECRET_KEY = "insecure-dev-key-change-me-in-production-0123456789"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
# Old keys, still accepted for signatures (sessions, links) and for decrypting secrets
# stored under a key derived from them, while they are rotated out.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "helpdesk.adminsite.HelpdeskAdminConfig",  # django.contrib.admin, our site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "accounts",
    "routing",
    "threads",
    "tickets",
    "helpdesk",
    "helpdesk.api",
    "helpdesk.outbox",
    "helpdesk.webhooks",
    "helpdesk.mail",
    "helpdesk.alerts",
    "helpdesk.exports",
    "helpdesk.kb",
    "helpdesk.panel",
    "helpdesk.portal",
    "helpdesk.importers",
    "helpdesk.ops",
    "helpdesk.reports",
    *env.list("HELPDESK_PLUGINS", default=[]),
]

MIDDLEWARE = [
    "helpdesk.ops.middleware.ProbeMiddleware",  # /healthz, /readyz: before host checks
    "helpdesk.ops.middleware.RequestMetricsMiddleware",  # latency for /metrics
    "helpdesk.outbox.services.AfterResponseMiddleware",  # the broker after the response
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files without a separate server
    "helpdesk.bodylimit.RequestBodyLimitMiddleware",  # 413 before a large body is read
    "config.dbrouter.ReplicaMiddleware",  # read-only pages may read from the replica
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # cookie, Accept-Language, default
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "helpdesk.portal.middleware.ClientLanguageMiddleware",  # a client's chosen language
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "helpdesk.panel.sessions.StaffSessionMiddleware",
    "helpdesk.security.ContentSecurityPolicyMiddleware",
    "accounts.audit.AuditContextMiddleware",  # the caller's address for audit entries
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "helpdesk.branding.branding",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
# PostgreSQL: server-side binding (parameters sent apart from the statement), off behind
# a transaction-mode pooler (DATABASE_SERVER_SIDE_BINDING=false). Prepared statements are
# a separate choice, off by default: Django leaves psycopg's prepare_threshold unset, and
# DATABASE_PREPARE_THRESHOLD=N (binding on) has psycopg prepare a statement once a
# connection has run it N times (0: at once), so PostgreSQL parses it once per
# connection and may stop planning it. Off because (docs/performance.md, sixth round):
# after a migration that changes a column's type, a connection that prepared a statement
# reading it fails ("cached plan must not change result type") until it reconnects; and
# PostgreSQL may move a prepared statement to its generic plan, which for the keyword
# search is the plan for rare words, ten times slower for a common one. Worth it only
# with persistent connections (CONN_MAX_AGE) and workers restarted after migrations.
DATABASE_SERVER_SIDE_BINDING = env.bool("DATABASE_SERVER_SIDE_BINDING", default=True)
DATABASE_PREPARE_THRESHOLD = env.str("DATABASE_PREPARE_THRESHOLD", default="off")


def server_side_options() -> dict:
    if not DATABASE_SERVER_SIDE_BINDING:
        return {"server_side_binding": False}
    threshold = DATABASE_PREPARE_THRESHOLD.strip().lower()
    if threshold in ("off", "none", ""):
        return {"server_side_binding": True}  # Django's default: prepare nothing
    if not re.fullmatch(r"[0-9]{1,6}", threshold):
        raise ImproperlyConfigured(
            f"DATABASE_PREPARE_THRESHOLD must be a number of executions or off, not {threshold!r}."
        )
    return {"server_side_binding": True, "prepare_threshold": int(threshold)}


DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Our subclass creates the database file readable by the owner only (0600). Tests
    # use an in-memory database, as with Django's own engine (said outright, because
    # pytest-django recognises SQLite by the engine's name).
    DATABASES["default"]["ENGINE"] = "config.sqlite3"
    DATABASES["default"].setdefault("TEST", {}).setdefault("NAME", ":memory:")
    # IMMEDIATE transactions take the write lock at BEGIN, so two writers queue up
    # instead of failing half-way with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_options())
# PostgreSQL's JIT compiles a query whose estimated cost crosses jit_above_cost: the
# panel's one statement of bounded counts (helpdesk.counts) does, and compiling it took
# longer than running it (docs/performance.md). Off unless DATABASE_JIT=true.
DATABASE_JIT = env.bool("DATABASE_JIT", default=False)


def _without_jit(database: dict) -> None:
    if database["ENGINE"] == "django.db.backends.postgresql" and not DATABASE_JIT:
        options = database.setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c jit=off".strip()


_without_jit(DATABASES["default"])
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
# A read replica (optional, PostgreSQL streaming replication): the read-only pages of
# REPLICA_READ_VIEWS read from it, everything else and every write from the primary; a
# caller who wrote reads from the primary for REPLICA_STICKY_SECONDS (config/dbrouter.py,
# docs/deployment.md "Read replica"). The test runner points it at the test database.
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL")
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"]["ATOMIC_REQUESTS"] = False
    DATABASES["replica"].setdefault("CONN_MAX_AGE", DATABASES["default"]["CONN_MAX_AGE"])
    if DATABASES["replica"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["replica"].setdefault("OPTIONS", {}).update(
            {
                **server_side_options(),
                # a replica that does not answer is skipped (config/dbrouter.py) after this
                "connect_timeout": env.int("DATABASE_REPLICA_CONNECT_TIMEOUT", default=2),
            }
        )
    _without_jit(DATABASES["replica"])
for _database in DATABASES.values():  # Django's engine, reading timestamps with
    if _database["ENGINE"] == "django.db.backends.postgresql":  # psycopg's C loader
        _database["ENGINE"] = "config.postgresql"
REPLICA_STICKY_SECONDS = env.int("REPLICA_STICKY_SECONDS", default=10)
REPLICA_READ_VIEWS = env.list(
    "REPLICA_READ_VIEWS",
    default=[
        "panel:home",
        "panel:queue",
        "panel:queue_counts",
        "panel:dashboard",
        "panel:search",
        "panel:search_advanced",
        "panel:agent_stats",
        "panel:tasks",
        "panel:task_queue",
        "panel:task_search",
        "api:ticket-list",
        "api:task-list",
    ],
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Rows kept by the configuration cache refuse to query (tickets.config.FrozenRow); then
# the read replica's routing (config/dbrouter.py; no effect without a replica).
DATABASE_ROUTERS = ["tickets.config.FrozenRowRouter", "config.dbrouter.ReplicaRouter"]

# --- Identity -------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.HelpdeskBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Django's hashers first (new and upgraded passwords), then osTicket's, verify-only:
# accounts brought over from osTicket sign in with their old passwords and are re-hashed
# with Django's first hasher at that first sign-in (accounts/hashers.py).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "accounts.hashers.OsTicketBcryptHasher",
    "accounts.hashers.OsTicketPhpassHasher",
    "accounts.hashers.OsTicketMD5Hasher",
]
LOGIN_URL = "/admin/login/"
# User.email is unique case-insensitively (a constraint on Lower(email)), which this
# check cannot see.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]

# --- Internationalisation; every time is stored in UTC --------------------------------
# The languages we ship complete catalogues for (locale/); the choosers offer these
# only. A page's language: the signed-in agent's or client's choice, else the chooser's
# cookie, else the browser's Accept-Language, else LANGUAGE_CODE (helpdesk.i18n).
LANGUAGES = [
    ("en", "English"),
    ("de", "Deutsch"),
    ("fr", "Français"),
    ("es", "Español"),
    ("pt-br", "Português (Brasil)"),
    ("it", "Italiano"),
    ("nl", "Nederlands"),
    ("pl", "Polski"),
    ("ru", "Русский"),
    ("tr", "Türkçe"),
    ("zh-hans", "简体中文"),
    ("ja", "日本語"),
    ("ar", "العربية"),
]
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files and media (Django's storage API; S3 via django-storages at scale) ---
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
# Never served as such (config/urls.py): files go out through the permission-checked
# download views only. Files and folders are created readable by the owner only.
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
# (FILE_UPLOAD_PERMISSIONS=0640 and FILE_UPLOAD_DIRECTORY_PERMISSIONS=0750, octal, when
# nginx sends the files itself: its user joins the helpdesk group; docs/deployment.md)
FILE_UPLOAD_PERMISSIONS = int(env.str("FILE_UPLOAD_PERMISSIONS", default="0600"), 8)
FILE_UPLOAD_DIRECTORY_PERMISSIONS = int(
    env.str("FILE_UPLOAD_DIRECTORY_PERMISSIONS", default="0700"), 8
)
STORAGES = {
    "default": {
        "BACKEND": env.str("FILE_STORAGE", default="django.core.files.storage.FileSystemStorage")
    },
    # `make serve` and deploy/ use config.staticstorage.StaticStorage
    # (hashed names, gzip copies, cached for ever) after `collectstatic`; the
    # plain storage needs no collectstatic, for `make run` and the tests.
    "staticfiles": {
        "BACKEND": env.str(
            "STATIC_FILES_STORAGE", default="django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Object storage (FILE_STORAGE=config.s3storage.S3Storage, docs/deployment.md): an
# S3-compatible bucket through django-storages. Objects are private (the storage forces
# the ACL and refuses to make URLs); files leave only through the download views.
# Credentials may also come from boto3's own chain (instance role, ~/.aws) when unset.
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="") or None  # MinIO, Ceph, ...
AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default="") or None
AWS_S3_ADDRESSING_STYLE = env.str("AWS_S3_ADDRESSING_STYLE", default="") or None  # "path"
AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default="") or None
AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="") or None
AWS_LOCATION = env.str("AWS_LOCATION", default="")  # a key prefix inside the bucket
AWS_DEFAULT_ACL = "private"
AWS_QUERYSTRING_AUTH = True
AWS_QUERYSTRING_EXPIRE = 60
# Names are SHA-256 digests: a second write of a name is the same bytes, so no
# existence check before each upload.
AWS_S3_FILE_OVERWRITE = True
# Before the first `collectstatic` (make run, the tests) STATIC_ROOT does not exist and
# WhiteNoise serves nothing from it; its warning about that says nothing useful.
warnings.filterwarnings("ignore", message="No directory at: ", category=UserWarning)

# Attachments leave through the permission-checked views (helpdesk/downloads.py); behind
# nginx, with files on the local disk, the view answers with X-Accel-Redirect to this
# internal location and nginx sends the bytes (deploy/nginx/helpdesk.conf).
DOWNLOADS_X_ACCEL_PREFIX = env.str("DOWNLOADS_X_ACCEL_PREFIX", default="")

# --- Cache and Celery -------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Redis answers in under a millisecond; a dead or unreachable one must cost a request
# milliseconds, not seconds. The cache serves from process memory while Redis is down
# (config/cache.py) and tries Redis again after CACHE_RETRY_SECONDS.
REDIS_TIMEOUT_SECONDS = env.float("REDIS_TIMEOUT_SECONDS", default=0.5)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
                "socket_timeout": REDIS_TIMEOUT_SECONDS,
                "retry_seconds": env.float("CACHE_RETRY_SECONDS", default=5),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Sessions live in the database (Django's default), so sign-ins survive a Redis outage.
SESSION_ENGINE = "accounts.sessionstore"  # Django's database sessions, one read hand-written

# Redis by default; RabbitMQ (amqp://...) or another broker through CELERY_BROKER_URL.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
# redis:// brokers: kombu's Redis transport keeping one client per channel for what it
# publishes (config/broker.py); other brokers: kombu's own, from the URL.
CELERY_BROKER_TRANSPORT = (
    "config.broker:Transport" if CELERY_BROKER_URL.startswith("redis://") else None
)
# Work after a change goes to the outbox (helpdesk/outbox) in the change's transaction;
# with a broker it is offered to Celery on commit, without one (`make run` without
# Redis) the `outbox_drain` job of `run_cron --loop` runs it. Nothing runs inside a
# request either way. CELERY_TASK_ALWAYS_EAGER runs tasks in the request: tests only.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_TIMEOUT_SECONDS
# The worker's connections: its blocking reads need a socket timeout above kombu's BRPOP
# timeout (1 s). The outbox hands work over with its own connections, whose timeouts are
# REDIS_TIMEOUT_SECONDS (helpdesk.outbox.services.producers), so no request waits 5 s.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
    "socket_timeout": max(REDIS_TIMEOUT_SECONDS, 5.0),
    "max_retries": 0,
}
# A worker keeps trying to reach a broker that went away (it comes back by itself).
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
HELPDESK_OUTBOX = {
    # a failing task is retried with backoff (30 s doubling to 1 h), then kept as "dead"
    "MAX_ATTEMPTS": env.int("OUTBOX_MAX_ATTEMPTS", default=15),
    # a row offered to the broker and still pending after this is offered again (a
    # restarted Redis without persistence lost it); then after as long as it has waited
    # (the delay doubles), at most REOFFER_MAX_SECONDS, so a queue no worker consumes
    # does not fill with copies
    "REOFFER_SECONDS": env.int("OUTBOX_REOFFER_SECONDS", default=60),
    "REOFFER_MAX_SECONDS": env.int("OUTBOX_REOFFER_MAX_SECONDS", default=3600),
    # after a refused offer, no offers to the broker from this process for this long
    "BROKER_RETRY_SECONDS": env.float("OUTBOX_BROKER_RETRY_SECONDS", default=5),
    # rows per run of the outbox_drain job
    "BATCH": env.int("OUTBOX_BATCH", default=200),
    # how long a claimed row belongs to its runner: a runner that died (kill -9, a
    # machine lost) holds its row this long, then the row runs again. The time limits
    # of the outbox task (nine and eight tenths of it) and a mail's send lease (half
    # of it) follow, so a live runner is always stopped before its lease ends.
    "LEASE_SECONDS": env.int("OUTBOX_LEASE_SECONDS", default=600),
}
# The periodic jobs (helpdesk.cron.JOBS) and how often each runs, in seconds. Celery beat
# runs them with a broker; `manage.py run_cron --loop` runs them without one.
HELPDESK_CRON = {
    "outbox_drain": env.int("CRON_OUTBOX_DRAIN_SECONDS", default=5),
    "overdue_sweep": env.int("CRON_OVERDUE_SWEEP_SECONDS", default=300),
    "purge_locks": env.int("CRON_PURGE_LOCKS_SECONDS", default=600),
    "purge_drafts": env.int("CRON_PURGE_DRAFTS_SECONDS", default=6 * 3600),
    "purge_orphan_files": env.int("CRON_PURGE_FILES_SECONDS", default=3600),
    "purge_sessions": env.int("CRON_PURGE_SESSIONS_SECONDS", default=6 * 3600),
    "webhooks_retry": env.int("CRON_WEBHOOKS_RETRY_SECONDS", default=60),
    "purge_idempotency_keys": env.int("CRON_PURGE_IDEMPOTENCY_SECONDS", default=3600),
    "purge_alerts": env.int("CRON_PURGE_ALERTS_SECONDS", default=6 * 3600),
    "fetch_mail": env.int("CRON_FETCH_MAIL_SECONDS", default=60),
    "purge_retention": env.int("CRON_PURGE_RETENTION_SECONDS", default=3600),
    "purge_exports": env.int("CRON_PURGE_EXPORTS_SECONDS", default=3600),
    "reports_refresh": env.int("CRON_REPORTS_REFRESH_SECONDS", default=300),
}
# Exports (helpdesk.exports): up to this many rows are streamed in the response; more
# are written to a file by a Celery job (the agent is alerted and mailed a link). The
# files are deleted this many hours after they are written (the purge_exports job).
EXPORT_SYNC_MAX_ROWS = env.int("EXPORT_SYNC_MAX_ROWS", default=5000)
EXPORT_EXPIRY_HOURS = env.float("EXPORT_EXPIRY_HOURS", default=24)
CELERY_BEAT_SCHEDULE = {
    f"cron-{name}": {
        "task": "helpdesk.tasks.run_cron_job_task",
        "schedule": seconds,
        "args": (name,),
    }
    for name, seconds in HELPDESK_CRON.items()
}

# --- Email ------------------------------------------------------------------------------
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
# filemail:////abs/path (what `make run` uses; django-environ drops one slash): one file
# per message in that folder
EMAIL_FILE_PATH = _email.get("EMAIL_FILE_PATH") or str(VAR_DIR / "mail")
# A relay that accepts the connection and then says nothing must not hold a worker (or
# the outbox job) for ever.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT_SECONDS", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="support@example.com")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security ---------------------------------------------------------------------------
# Proxies whose X-Forwarded-For is believed (login throttling, API key address checks).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
# GET /metrics (Prometheus, docs/operations.md): answered to a caller from one of these
# addresses or networks (loopback by default), or with "Authorization: Bearer
# <METRICS_TOKEN>"; both empty, /metrics is off (404). A request that came through a
# proxy not in TRUSTED_PROXIES is judged by the token alone (its address is the proxy's).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
# HTTPS everywhere once DEBUG is off (README, "Production"); each can be turned off for a
# plain-HTTP test install. Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER=1 so
# Django believes its X-Forwarded-Proto (only if the proxy always sets or strips it).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("SECURE_PROXY_SSL_HEADER", False) else None
)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Staff sessions (the panel, the admin, the API's session authentication) end after this
# long without a request, and this long after sign-in whatever happens (panel.sessions).
# Clients' sessions keep Django's SESSION_COOKIE_AGE.
STAFF_SESSION_IDLE_SECONDS = env.int("STAFF_SESSION_IDLE_SECONDS", default=8 * 3600)
STAFF_SESSION_MAX_SECONDS = env.int("STAFF_SESSION_MAX_SECONDS", default=24 * 3600)
# Keys of the secrets stored in the database (mailbox passwords, webhook secrets, TOTP
# keys; accounts.crypto): Fernet keys, the first encrypts, all decrypt (rotation). Empty:
# a key derived from SECRET_KEY (and SECRET_KEY_FALLBACKS), see README.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])

# --- API v1, osTicket endpoints and webhooks (issue 3; docs/api.md) -----------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "helpdesk.api.authentication.AgentTokenAuthentication",
        "helpdesk.api.authentication.ApiKeyAuthentication",
        "helpdesk.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "helpdesk.api.parsers.JSONParser",
        "helpdesk.api.parsers.MultiPartParser",
        "helpdesk.api.parsers.FormParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "helpdesk.api.throttling.CallerRateThrottle",
        "helpdesk.api.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "caller": env.str("API_THROTTLE_CALLER", default="3000/min"),
        "anon": env.str("API_THROTTLE_ANON", default="60/min"),
    },
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "helpdesk.api.pagination.KeysetPagination",
    "EXCEPTION_HANDLER": "helpdesk.api.problems.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "helpdesk.api.schema.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
HELPDESK_API = {
    # largest request body (JSON with base64 files, multipart, osTicket posts): 413 above.
    # 0 (the default): follows the attachment limits, base64 included (helpdesk.limits).
    "MAX_BODY_BYTES": env.int("API_MAX_BODY_BYTES", default=0),
    # proxies whose X-Forwarded-For is believed (addresses or CIDR networks)
    "IDEMPOTENCY_TTL_HOURS": env.int("API_IDEMPOTENCY_TTL_HOURS", default=24),
}
HELPDESK_WEBHOOKS = {
    # private, loopback and link-local targets are refused unless this is on
    "ALLOW_PRIVATE": env.bool("WEBHOOKS_ALLOW_PRIVATE", default=False),
    # one deadline for a whole attempt (connect, send, answer), not per socket read
    "TIMEOUT_SECONDS": env.int("WEBHOOKS_TIMEOUT_SECONDS", default=10),
    "RETRY_HOURS": env.int("WEBHOOKS_RETRY_HOURS", default=24),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Helpdesk API",
    "DESCRIPTION": "REST API v1 of the helpdesk. Read docs/api.md for authentication, "
    "errors (RFC 9457 problem details), pagination, idempotency and webhooks.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "PREPROCESSING_HOOKS": ["helpdesk.api.schema.only_v1"],
    "ENUM_NAME_OVERRIDES": {
        "TicketStateEnum": "tickets.models.State",
        "EntryFormatEnum": "threads.models.ThreadEntry.Format",
        "MergeModeEnum": "tickets.models.MergeMode",
    },
}

# --- Helpdesk ---------------------------------------------------------------------------
# Attachments, in every channel (portal, panel, API, mail): threads.attachments applies the
# types; forms and serializers the counts and sizes (helpdesk.limits). Extensions without
# the dot; types are MIME types, `image/*` matches a family. Empty allowed lists allow
# everything not denied; denied wins. The defaults deny executables and scripts.
HELPDESK = {
    "MAX_ATTACHMENT_BYTES": env.int("HELPDESK_MAX_ATTACHMENT_BYTES", default=10 * 1024 * 1024),
    # files per message for agents and API keys; clients: the portal's setting, at most this
    "MAX_ATTACHMENTS": env.int("HELPDESK_MAX_ATTACHMENTS", default=5),
    "ATTACHMENT_ALLOWED_EXTENSIONS": env.list("ATTACHMENT_ALLOWED_EXTENSIONS", default=[]),
    "ATTACHMENT_DENIED_EXTENSIONS": env.list(
        "ATTACHMENT_DENIED_EXTENSIONS", default=list(DENIED_EXTENSIONS)
    ),
    "ATTACHMENT_ALLOWED_TYPES": env.list("ATTACHMENT_ALLOWED_TYPES", default=[]),
    "ATTACHMENT_DENIED_TYPES": env.list("ATTACHMENT_DENIED_TYPES", default=list(DENIED_TYPES)),
}

# The address the site is served on: every absolute link (mail to clients and agents,
# password resets, alerts) is built from it by accounts.links.site_url. `make run` sets
# it to the port it serves on.
HELPDESK_BASE_URL = env.str("HELPDESK_BASE_URL", default="http://127.0.0.1:8000")
# Who runs this helpdesk, shown in the portal's and the panel's headers (and the
# browser's title): a name, and a logo (a file under static/, e.g. "brand/logo.svg", or
# a path on this site; images from elsewhere are refused by the Content-Security-Policy).
HELPDESK_ORG_NAME = env.str("HELPDESK_ORG_NAME", default="")
HELPDESK_ORG_LOGO = env.str("HELPDESK_ORG_LOGO", default="")

# The panel's frame counts (sidebar, tasks, bell) read on another database connection
# while the page is built (helpdesk.apart; PostgreSQL only): a thread and a connection
# more per web process.
HELPDESK_READS_APART = env.bool("HELPDESK_READS_APART", default=True)

# The email channel (helpdesk.mail, docs/email.md). Switches admins change at run time
# live in the admin (Mail settings); these are the operator's limits.
HELPDESK_MAIL = {
    # largest message imported with its attachments; a bigger one keeps its text only
    "MAX_MESSAGE_BYTES": env.int("MAIL_MAX_MESSAGE_BYTES", default=40 * 1024 * 1024),
    "MAX_ATTACHMENTS": env.int("MAIL_MAX_ATTACHMENTS", default=20),
    # domain of our Message-IDs; empty: the domain of DEFAULT_FROM_EMAIL
    "MESSAGE_ID_DOMAIN": env.str("MAIL_MESSAGE_ID_DOMAIN", default=""),
    # osTicket's SECRET_SALT (include/ost-config.php) after an import: replies to mail
    # osTicket sent are matched by its signed Message-IDs; empty: by their shape only
    "OSTICKET_SECRET_SALT": env.str("OSTICKET_SECRET_SALT", default=""),
    "SEND_MAX_RETRIES": env.int("MAIL_SEND_MAX_RETRIES", default=5),
    "FETCH_TIMEOUT_SECONDS": env.int("MAIL_FETCH_TIMEOUT_SECONDS", default=60),
    # an admin's email template may write this many characters per part, plus four times
    # the size of its values; past it, rendering stops and the default is sent
    "TEMPLATE_MAX_CHARS": env.int("MAIL_TEMPLATE_MAX_CHARS", default=100_000),
    # one strategy class per protocol (Mailbox.protocol)
    "FETCHERS": {
        "imap": "helpdesk.mail.fetchers.ImapFetcher",
        "pop3": "helpdesk.mail.fetchers.Pop3Fetcher",
    },
    # Sender authentication (docs/email.md): the authserv-ids of our receiving MTA whose
    # Authentication-Results headers we believe; empty: none, so no sender is verified.
    "AUTHSERV_IDS": env.list("MAIL_AUTHSERV_IDS", default=[]),
    # what an unverified message may do to an existing ticket: new_ticket (a new ticket
    # linked to the one it names), internal_note (an agents-only note marked "unverified
    # sender"), or trust (no check: installs whose MTA stamps no Authentication-Results)
    "UNVERIFIED_POLICY": env.str("MAIL_UNVERIFIED_POLICY", default="new_ticket"),
}
if HELPDESK_MAIL["UNVERIFIED_POLICY"] not in ("new_ticket", "internal_note", "trust"):
    raise ImproperlyConfigured(
        "MAIL_UNVERIFIED_POLICY must be new_ticket, internal_note or trust, not "
        f"{HELPDESK_MAIL['UNVERIFIED_POLICY']!r}"
    )

# LOG_FORMAT=json: one JSON object per line on stdout (time, level, logger, message and
# the record's extra fields), for log collectors; plain text on stderr otherwise.
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout" if LOG_FORMAT == "json" else "ext://sys.stderr",
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # one line per committed ticket change (helpdesk.receivers); INFO to see them
        "helpdesk.audit": {"level": env.str("AUDIT_LOG_LEVEL", default="WARNING")},
    },
}
