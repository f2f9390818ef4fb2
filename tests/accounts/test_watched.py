"""accounts.watched: the overriding bulk writes stay marked as altering data."""

import pytest

from accounts.watched import WatchedQuerySet


@pytest.mark.parametrize("name", ["update", "bulk_create", "bulk_update"])
def test_the_overrides_keep_alters_data(name):
    assert getattr(WatchedQuerySet, name).alters_data is True
