"""Querysets that announce their bulk writes.

Model signals (post_save, post_delete) miss `QuerySet.update()`, `bulk_create()` and
`bulk_update()`. Models whose rows are cached (the configuration, see tickets.config)
use WatchedQuerySet, which sends `rows_changed` after each such write, so a cache that
watches saves and deletes also sees them.
"""

from collections.abc import Iterable
from typing import Any, TypeVar

from django.db import models
from django.dispatch import Signal

rows_changed = Signal()  # sender: the model class

_M = TypeVar("_M", bound=models.Model)


class WatchedQuerySet(models.QuerySet[_M]):
    """The overrides keep `alters_data` (templates never call them): Django's QuerySet
    copies it onto overriding methods (django.db.models.utils.AltersData)."""

    def update(self, **kwargs: Any) -> int:
        count = super().update(**kwargs)
        if count:
            rows_changed.send(sender=self.model)
        return count

    def bulk_create(self, objs: Iterable[_M], *args: Any, **kwargs: Any) -> list[_M]:
        created = super().bulk_create(objs, *args, **kwargs)
        if created:
            rows_changed.send(sender=self.model)
        return created

    def bulk_update(
        self, objs: Iterable[_M], fields: Iterable[str], *args: Any, **kwargs: Any
    ) -> int:
        count = super().bulk_update(objs, fields, *args, **kwargs)
        if count:
            rows_changed.send(sender=self.model)
        return count
