"""The seeded rows of the data migrations (roles, statuses, priorities, settings), made
sure of before each browser test.

A transactional test empties the database when it ends and serialized_rollback should
bring those rows back; run after ordinary tests in one session the rows were missing
(seen with SQLite and pytest-django 4.14), so the seeds, idempotent, run again here.
"""

import importlib

import pytest
from django.apps import apps

SEEDS = (
    "accounts.migrations.0003_seed_roles",
    "tickets.migrations.0002_seed_statuses_priorities",
    "tickets.migrations.0004_seed_awaiting_customer",
)


@pytest.fixture(autouse=True)
def _seeded(transactional_db):
    for module in SEEDS:
        importlib.import_module(module).seed(apps, None)
