"""Panel test helpers: signed-in clients for the shared cast, and a ticket per department."""

import pytest
from django.test import Client

from tests.factories import open_ticket


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
