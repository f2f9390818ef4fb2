import pytest
from django.db import connection, connections

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def state(tag):
    print("\nPROBE", tag, id(connections["default"]), hasattr(connection, "_test_serialized_contents"))


def test_probe_1(page, live_server):
    state("page")
    page.goto("/")
    state("after")


def test_probe_2(live_server):
    state("B")
