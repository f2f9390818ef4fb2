"""API fixtures: clients authenticated as the shared cast (tokens for agents, sessions
for clients) and API keys bound to the test client's address (127.0.0.1)."""

import pytest
from rest_framework.test import APIClient

from accounts.actors import SYSTEM
from accounts.apikeys import api_key_create, token_create
from tickets.models import HelpdeskSettings

from ..factories import open_ticket
from ..nowrite import nothing_written  # noqa: F401  the task tests import it from here


class Api:
    """Builds API clients for the cast."""

    def __init__(self, cast):
        self.cast = cast

    def anonymous(self) -> APIClient:
        return APIClient()

    def agent(self, user) -> APIClient:
        _, secret = token_create(actor=SYSTEM, user=user, name="tests")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        client.user = user
        return client

    def client_user(self, user) -> APIClient:
        client = APIClient()
        client.force_login(user)
        client.user = user
        return client

    def key(self, *, ips=("127.0.0.1",), read=(), write=(), **caps) -> APIClient:
        _, secret = api_key_create(
            actor=SYSTEM,
            name="integration",
            allowed_ips=list(ips),
            read_departments=read,
            write_departments=write,
            **caps,
        )
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=secret)
        client.secret = secret
        return client


@pytest.fixture
def tight_throttle(settings):
    """The API's rates lowered to 3 a minute per caller and 2 per anonymous address.
    DRF's throttles read their rates once, when rest_framework.throttling is imported:
    imported here, before the settings change, or a first import inside this fixture
    would keep the lowered rates for every later test of the process."""
    from rest_framework.throttling import SimpleRateThrottle

    old = SimpleRateThrottle.THROTTLE_RATES
    rest = dict(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = {"caller": "3/min", "anon": "2/min"}
    settings.REST_FRAMEWORK = rest
    SimpleRateThrottle.THROTTLE_RATES = rest["DEFAULT_THROTTLE_RATES"]
    yield
    SimpleRateThrottle.THROTTLE_RATES = old


@pytest.fixture
def api(cast) -> Api:
    return Api(cast)


@pytest.fixture
def defaults(cast):
    """Tickets with no department of their own go to department A."""
    config = HelpdeskSettings.load()
    config.default_department = cast.dept_a
    config.save()
    return config


@pytest.fixture
def ticket_a(cast):
    """alice's ticket in Support (dept_a)."""
    return open_ticket(cast.alice, department=cast.dept_a, subject="VPN down", body="Since 9am.")


@pytest.fixture
def ticket_b(cast):
    """bob's ticket in Billing (dept_b)."""
    return open_ticket(cast.bob, department=cast.dept_b, subject="Invoice wrong", body="Twice.")


def walk(client, url) -> tuple[list[str], int]:
    """The numbers on every page of a keyset list, following `next`, and the pages."""
    seen, pages = [], 0
    while url:
        body = client.get(url).json()
        seen += [row["number"] for row in body["results"]]
        url, pages = body["next"], pages + 1
    return seen, pages


def queries_of(client, url) -> int:
    """How many queries a GET of `url` makes (it must answer 200)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def problem(response) -> dict:
    """The problem details of an error response, checked for shape."""
    assert response["Content-Type"] == "application/problem+json", response.content
    body = response.json()
    assert body["status"] == response.status_code
    assert body["type"] == "urn:helpdesk:problem:" + body["code"]
    return body


# --- tasks ------------------------------------------------------------------------------


def new_task(actor, **kw):
    """A task made through the service (an admin's, unless the test says otherwise)."""
    from tickets import services

    kw.setdefault("title", "Order the part")
    return services.task_create(actor=actor, new=services.NewTask(**kw))


@pytest.fixture
def task_a(cast, ticket_a):
    """A task of alice's ticket, in Support (dept_a)."""
    return new_task(cast.admin, ticket=ticket_a, description="Two of them, blue.")


@pytest.fixture
def task_b(cast):
    """A standalone task in Billing (dept_b)."""
    return new_task(cast.admin, department=cast.dept_b, title="Check the invoice run")
