"""The shared cast (as healthchecks' Alice, Bob and Charlie) and test-wide settings.

- dept_a, dept_b: two departments; dept_a's manager is `manager_a`
- agent_a: All Access in dept_a; agent_b: All Access in dept_b
- admin: helpdesk admin (primary dept_a)
- alice (org Acme, which shares tickets with all members), alice_colleague (Acme),
  bob (org Globex, requester-only sharing), stranger (no organization)
"""

import importlib
import os
import re
import secrets
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.core.cache import cache
from django.utils import translation

from accounts.models import Organization, User
from config.celery import app as celery_app
from routing.models import Department
from tickets.config import CACHE as config_cache

from . import realservers
from .factories import AgentFactory, ClientFactory, DepartmentFactory, OrganizationFactory, role
from .redis_process import redis_process  # noqa: F401  (the outage tests' fixture)
from .s3_process import moto_server, s3  # noqa: F401  (object storage's fixtures)

# Tests run with DEBUG off, where the built-in development SECRET_KEY is refused at start
# (accounts.checks); the processes tests start (management commands, fetchers, workers)
# get a random key of this run unless one is set, and this process uses the same one, so
# what one encrypts or signs (mailbox passwords, Message-IDs) the other reads.
os.environ.setdefault("SECRET_KEY", "tests-" + secrets.token_urlsafe(40))
django_settings.SECRET_KEY = os.environ["SECRET_KEY"]
# DEBUG off also turns HTTPS on (README, "Production"), but the test client and the live
# server speak plain HTTP: off for this process, before any WSGI handler (some test
# modules build one when imported) reads them. tests/helpdesk/test_deploy.py checks the
# production settings themselves in a subprocess.
django_settings.SECURE_SSL_REDIRECT = False
django_settings.SESSION_COOKIE_SECURE = False
django_settings.CSRF_COOKIE_SECURE = False
django_settings.SECURE_HSTS_SECONDS = 0


def _one_redis_database_per_worker() -> None:
    """Under pytest-xdist, worker gwN uses Redis database base+N: every test clears the
    cache (FLUSHDB), which must not empty another worker's throttles mid-test. Runs before
    any cache connection is made (connections are opened on first use)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    url = django_settings.REDIS_URL
    if not worker.startswith("gw") or not url:
        return
    match = re.fullmatch(r"(.*?)(?:/(\d+))?/?", url)
    base = int(match.group(2) or 0)
    db = (base + int(worker[2:])) % 16
    django_settings.REDIS_URL = f"{match.group(1)}/{db}"
    django_settings.CACHES["default"]["LOCATION"] = django_settings.REDIS_URL


_one_redis_database_per_worker()


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # the test's data lives in a transaction no other connection sees (helpdesk.apart;
    # tests/panel/test_reads_apart.py turns it on with committed data)
    settings.HELPDESK_READS_APART = False
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    cache.clear()
    config_cache.clear()
    yield
    # LocaleMiddleware activates a request's language in the thread and nothing resets
    # it: a test whose request was in Italian would leave the next test in Italian
    translation.deactivate()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# The rows the data migrations seed (roles, statuses, priorities, the settings row).
SEEDS = (
    "accounts.migrations.0003_seed_roles",
    "tickets.migrations.0002_seed_statuses_priorities",
    "tickets.migrations.0004_seed_awaiting_customer",
)


def _transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction"):
        return True
    return bool({"transactional_db", "live_server"} & set(request.fixturenames))


@pytest.fixture(autouse=True)
def _seeded_after_flushes(request):
    """A transactional test (live server, real threads) empties the tables when it ends;
    serialized_rollback does not always bring the migrations' rows back to the tests
    after it (seen with pytest-django 4.14 once ordinary tests ran first). The seeds are
    idempotent: run them again before every transactional test."""
    if _transactional(request):
        request.getfixturevalue("transactional_db")
        from django.contrib.contenttypes.models import ContentType

        if not ContentType.objects.exists():
            # the content types and permissions went with the flush too (seen after the
            # read replica's tests): put them back as migrate does, and forget the ids
            # this process had cached for the old rows
            from django.core.management.sql import emit_post_migrate_signal

            ContentType.objects.clear_cache()
            emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
        for module in SEEDS:
            importlib.import_module(module).seed(apps, None)


def _flushes_carelessly(item) -> bool:
    names = set(getattr(item, "fixturenames", ()))
    marker = item.get_closest_marker("django_db")
    transactional = bool({"transactional_db", "live_server"} & names) or bool(
        marker is not None and marker.kwargs.get("transaction")
    )
    serialized = "django_db_serialized_rollback" in names or bool(
        marker is not None and marker.kwargs.get("serialized_rollback")
    )
    return transactional and not serialized


def pytest_collection_modifyitems(config, items):
    """Every transactional test restores the database as it found it: one that merely
    flushes lets Django's post_migrate put the content types back, and the next
    serialized_rollback test in the same worker then fails inserting them again."""
    careless = [item.nodeid for item in items if _flushes_carelessly(item)]
    if careless:
        raise pytest.UsageError(
            "transactional tests need serialized_rollback=True (the marker's, or the "
            "django_db_serialized_rollback fixture): " + ", ".join(careless)
        )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """A test that needs a real server is skipped when it is missing, with the server's
    name and how to get it, or fails when REQUIRE_REAL_SERVERS is set (tests/realservers.py)."""
    for marker in realservers.markers_of(item):
        realservers.require(marker)


@dataclass
class Cast:
    dept_a: Department
    dept_b: Department
    agent_a: User
    agent_b: User
    manager_a: User
    admin: User
    alice: User
    alice_colleague: User
    bob: User
    stranger: User
    acme: Organization
    globex: Organization


@pytest.fixture
def cast(db) -> Cast:
    dept_a = DepartmentFactory(name="Support")
    dept_b = DepartmentFactory(name="Billing")
    manager_a = AgentFactory(username="manager", department=dept_a, role=role("Limited Access"))
    dept_a.manager = manager_a
    dept_a.save()
    acme = OrganizationFactory(name="Acme", sharing=Organization.Sharing.ALL)
    globex = OrganizationFactory(name="Globex", sharing=Organization.Sharing.REQUESTER)
    return Cast(
        dept_a=dept_a,
        dept_b=dept_b,
        agent_a=AgentFactory(username="alex", department=dept_a),
        agent_b=AgentFactory(username="bea", department=dept_b),
        manager_a=manager_a,
        admin=AgentFactory(username="root", department=dept_a, is_helpdesk_admin=True),
        alice=ClientFactory(email="alice@acme.test", organization=acme),
        alice_colleague=ClientFactory(email="carl@acme.test", organization=acme),
        bob=ClientFactory(email="bob@globex.test", organization=globex),
        stranger=ClientFactory(email="stranger@nowhere.test"),
        acme=acme,
        globex=globex,
    )


@pytest.fixture
def nothing_written(db):
    """`with nothing_written(): ...` fails unless the block wrote nothing (tests/nowrite.py)."""
    from .nowrite import nothing_written

    return nothing_written
