"""Panel test helpers: signed-in clients for the shared cast, a ticket per department,
and tasks made through the service."""

import pytest
from django.test import Client

from tests.factories import open_ticket
from tickets import services
from tickets.models import Task


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def as_agent_a(cast):
    return signed_in(cast.agent_a)


@pytest.fixture
def as_agent_b(cast):
    return signed_in(cast.agent_b)


@pytest.fixture
def ticket_a(cast):
    """A ticket of alice in department A (Support)."""
    return open_ticket(cast.alice, department=cast.dept_a, subject="Printer on fire")


@pytest.fixture
def ticket_b(cast):
    """A ticket of bob in department B (Billing)."""
    return open_ticket(cast.bob, department=cast.dept_b, subject="Invoice is wrong")


def new_task(actor, **kw) -> Task:
    """A task made through the service (title "Order the part" unless given)."""
    kw.setdefault("title", "Order the part")
    return services.task_create(actor=actor, new=services.NewTask(**kw))
