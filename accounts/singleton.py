"""Settings kept in one row: the base of every settings model and its one `load()`.

The helpdesk, mail, panel and portal settings are each a single row (primary key 1),
edited by admins. `load()` reads it by primary key with a statement written once per
process (accounts.rows: the helpdesk settings are read by nearly every operation), and
the first time, when the row is missing, creates it with the model's defaults.
Nothing is cached: callers that cache what depends on the row key it on the row itself
(tickets.config keys the configuration on `HelpdeskSettings.config_version`).

It lives in `accounts` because that is the innermost app, importable by every other one.
"""

from typing import Self, cast

from django.db import models

from .rows import RowQuery

SINGLETON_PK = 1

_QUERIES: dict[type, RowQuery] = {}


def _row_query(model: type[models.Model]) -> RowQuery:
    query = _QUERIES.get(model)
    if query is None:
        query = _QUERIES[model] = RowQuery(
            [(model, "s")], lambda q: f"FROM {q.table(model)} s WHERE s.{q.pk(model)} = %s"
        )
    return query


class SingletonSettings(models.Model):
    """One row of settings. `create_on_load = False` keeps a missing row missing: `load()`
    then answers an unsaved row with the defaults (the panel's settings are read on every
    request, admin pages included, and a read must not write)."""

    create_on_load = True

    class Meta:
        abstract = True

    @classmethod
    def load(cls) -> Self:
        """The row: one primary-key read; created with the defaults when missing (or,
        without `create_on_load`, an unsaved row with the defaults)."""
        found = _row_query(cls).one([SINGLETON_PK])
        if found:
            return cast(Self, found[0])  # a row of `cls`, by its primary key: never None
        if not cls.create_on_load:
            return cls(pk=SINGLETON_PK)
        return cls._default_manager.get_or_create(pk=SINGLETON_PK)[0]
